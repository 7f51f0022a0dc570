package bench

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/deploy/kafkadev"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
)

// ceilingOptions are short ceiling runs at two concurrencies.
func ceilingOptions() Options {
	return Options{
		Concurrencies: []int{1, 4},
		NoOpenLoop:    true,
		Duration:      400 * time.Millisecond,
		Warmup:        100 * time.Millisecond,
		OrderTimeout:  10 * time.Second,
		ProbeTimeout:  30 * time.Second,
		RunID:         "ceiling-test",
	}
}

// checkCeiling fails the test unless the ceiling ran both points without
// an error.
func checkCeiling(t *testing.T, rep Report, f Framework) {
	t.Helper()
	if len(rep.Ceilings) != 1 {
		t.Fatalf("%d ceilings, want 1", len(rep.Ceilings))
	}
	c := rep.Ceilings[0]
	if c.Framework != f || c.Error != "" {
		t.Fatalf("ceiling %s failed: %s", c.Framework, c.Error)
	}
	if len(c.Closed) != 2 {
		t.Fatalf("%d points, want 2", len(c.Closed))
	}
	for _, p := range c.Closed {
		if p.Final == 0 || p.Throughput <= 0 || p.Errors != 0 {
			t.Errorf("c=%d: final %d, %v/s, errors %d %v", p.Clients, p.Final, p.Throughput, p.Errors, p.ErrorSamples)
		}
		if p.Latency.P50 <= 0 || p.Latency.P50 > p.Latency.Max {
			t.Errorf("c=%d: latency %+v", p.Clients, p.Latency)
		}
	}
}

func TestTemporalCeiling_EmbeddedServer_RunsNoopWorkflows(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := temporaldev.Start(ctx, temporaldev.Config{FrontendAddress: "127.0.0.1:0", NoUI: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("starting temporal: %v", err)
	}
	t.Cleanup(srv.Stop)
	opts := ceilingOptions()
	opts.Temporal = &TemporalCeiling{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace()}
	rep, err := Run(ctx, opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkCeiling(t, rep, FrameworkTemporal)
	// A workflow runs three activities, each a round trip through the
	// server: it cannot close in under a millisecond.
	if p50 := rep.Ceilings[0].Closed[0].Latency.P50; p50 < 1 {
		t.Errorf("p50 %v ms: the workflows were not awaited", p50)
	}
}

func TestKafkaCeiling_EmbeddedBroker_CarriesMessagesThroughFourHops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := kafkadev.Start(kafkadev.Config{Address: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("starting the broker: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	opts := ceilingOptions()
	opts.Kafka = &KafkaCeiling{Brokers: b.Addrs()}
	calls := 0
	opts.BeforeCeilings = func() error { calls++; return nil }
	rep, err := Run(ctx, opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkCeiling(t, rep, FrameworkKafka)
	if calls != 1 {
		t.Errorf("BeforeCeilings called %d times, want once", calls)
	}

	// Every message went through the four topics, which are deleted after.
	conn, err := kafka.Dial("tcp", b.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		if len(p.Topic) >= len(opts.RunID) && p.Topic[:len(opts.RunID)] == opts.RunID {
			t.Errorf("topic %s left behind", p.Topic)
		}
	}
}
