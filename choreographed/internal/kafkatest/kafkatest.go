// Package kafkatest runs an in-process Kafka-protocol broker (franz-go's
// kfake) on a free local TCP port for the choreographed variant's tests.
// Start it once per test binary, in TestMain: real clients (kafka-go)
// connect to it as to a one-broker cluster.
package kafkatest

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is a running test broker.
type Broker struct {
	cluster *kfake.Cluster
}

// Start starts a broker on 127.0.0.1 at a free port. Topics are created by
// the code under test (or by EnsureTopics); new topics get 4 partitions.
func Start() (*Broker, error) {
	c, err := kfake.NewCluster(kfake.Ports(0), kfake.DefaultNumPartitions(4))
	if err != nil {
		return nil, fmt.Errorf("starting the test kafka broker: %w", err)
	}
	return &Broker{cluster: c}, nil
}

// Addrs returns the bootstrap addresses.
func (b *Broker) Addrs() []string { return b.cluster.ListenAddrs() }

// Close stops the broker.
func (b *Broker) Close() { b.cluster.Close() }
