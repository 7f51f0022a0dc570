// Package kafkadev runs an in-process broker that speaks the Kafka protocol
// (franz-go's kfake) on a TCP port, for the all-in-one local run and for
// tests. Any Kafka client, such as segmentio/kafka-go or kcat, talks to it as
// to a one-broker cluster. Production uses a real Apache Kafka.
package kafkadev

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/ordersaga/ordersaga/deploy/internal/freeport"
)

// Defaults of Config.
const (
	DefaultAddress    = "127.0.0.1:9092"
	DefaultPartitions = 4
)

// Config says how to run the broker. The zero value of a field means its
// default.
type Config struct {
	// Address is where the broker listens (DefaultAddress). Port 0 picks a
	// free port.
	Address string
	// Topics are created at start, each with Partitions partitions
	// (DefaultPartitions).
	Topics     []string
	Partitions int
	// DataDir, when set, keeps the broker's topics, messages and committed
	// offsets in that folder across restarts; empty keeps them in memory.
	DataDir string
	// Logger receives the broker's warnings and errors (slog.Default()
	// when nil).
	Logger *slog.Logger
}

// Broker is a running broker.
type Broker struct {
	cluster *kfake.Cluster
	addrs   []string
	once    sync.Once
}

// Start starts the broker.
func Start(cfg Config) (*Broker, error) {
	if cfg.Address == "" {
		cfg.Address = DefaultAddress
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = DefaultPartitions
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	host, portText, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("kafka address %q: %w", cfg.Address, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("kafka address %q: bad port", cfg.Address)
	}
	if port == 0 {
		// The broker advertises the port it listens on, so it must know it
		// before it starts.
		if port, err = freeport.Get(host); err != nil {
			return nil, fmt.Errorf("kafka: %w", err)
		}
	}
	opts := []kfake.Opt{
		kfake.Ports(port),
		// kfake listens on 127.0.0.1; listen on the configured host instead.
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			_, p, err := net.SplitHostPort(address)
			if err != nil {
				return nil, err
			}
			return net.Listen(network, net.JoinHostPort(host, p))
		}),
		kfake.DefaultNumPartitions(cfg.Partitions),
		kfake.WithLogger(logger{cfg.Logger.With("component", "kafka")}),
	}
	if len(cfg.Topics) > 0 {
		opts = append(opts, kfake.SeedTopics(int32(cfg.Partitions), cfg.Topics...))
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("starting kafka broker on %s: %w", net.JoinHostPort(host, strconv.Itoa(port)), err)
	}
	b := &Broker{cluster: cluster, addrs: cluster.ListenAddrs()}
	if cfg.DataDir != "" && len(cfg.Topics) > 0 {
		// State loaded from DataDir replaces the seed topics: create the
		// topics added since the state was saved.
		if err := b.createTopics(cfg.Topics, cfg.Partitions); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// createTopics creates the topics that do not exist yet.
func (b *Broker) createTopics(topics []string, partitions int) error {
	conn, err := kafka.Dial("tcp", b.addrs[0])
	if err != nil {
		return fmt.Errorf("connecting to the kafka broker at %s: %w", b.addrs[0], err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	configs := make([]kafka.TopicConfig, len(topics))
	for i, t := range topics {
		configs[i] = kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: 1}
	}
	if err := conn.CreateTopics(configs...); err != nil {
		return fmt.Errorf("creating kafka topics %v: %w", topics, err)
	}
	return nil
}

// Addrs returns the bootstrap addresses (host:port) of the broker.
func (b *Broker) Addrs() []string { return append([]string(nil), b.addrs...) }

// Close stops the broker, saving its state first when it has a DataDir. It
// is safe to call more than once.
func (b *Broker) Close() error {
	b.once.Do(b.cluster.Close)
	return nil
}

// logger passes the broker's warnings and errors to slog.
type logger struct{ log *slog.Logger }

func (l logger) Logf(level kfake.LogLevel, msg string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		l.log.Error(fmt.Sprintf(msg, args...))
	case kfake.LogLevelWarn:
		l.log.Warn(fmt.Sprintf(msg, args...))
	}
}
