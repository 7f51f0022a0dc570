package outbox_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/broker"
	"github.com/ordersaga/ordersaga/choreographed/internal/kafkatest"
	"github.com/ordersaga/ordersaga/choreographed/outbox"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// Shape of one iteration of BenchmarkRelay_Flush: relayBenchMessages
// messages written in transactions of relayBenchPerTx (what a consumer's
// batch of events emits), on relayBenchKeys order keys.
const (
	relayBenchMessages = 400
	relayBenchPerTx    = 8
	relayBenchKeys     = 50
)

// acking is a publisher that acknowledges every message at once, in
// process: with it a benchmark measures the relay's own cost.
type acking struct{ n int }

func (a *acking) Publish(_ context.Context, msgs ...kafka.Message) error {
	a.n += len(msgs)
	return nil
}

// BenchmarkRelay_Flush measures the outbox relay: each iteration writes
// relayBenchMessages messages into the outbox (not timed), then Flush reads
// them in batches, publishes them and deletes them (timed). msgs/s counts
// the messages published and deleted. Sub-benchmarks by engine, then by
// publisher:
//
//   - broker: the variant's writer (broker.Writer) to the embedded
//     Kafka-protocol broker, acknowledged by it;
//   - inproc: an in-process publisher that acknowledges at once, so the
//     figure is the relay's own cost (reading and deleting rows).
func BenchmarkRelay_Flush(b *testing.B) {
	for _, d := range sqltest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			db := sqltest.Open(b, d, outbox.Migrations(d))
			topic := "outbox-bench-" + kafkatest.Unique()
			if err := broker.EnsureTopics(context.Background(), brokers, []string{topic}, broker.TopicSpec{Partitions: 4}); err != nil {
				b.Fatal(err)
			}
			w := broker.NewWriter(brokers, nil)
			b.Cleanup(func() { w.Close() })

			b.Run("broker", func(b *testing.B) { benchFlush(b, db, topic, w, nil) })
			b.Run("inproc", func(b *testing.B) {
				a := &acking{}
				benchFlush(b, db, topic, a, func() int { return a.n })
			})
		})
	}
}

// benchFlush runs the iterations of BenchmarkRelay_Flush with pub; acked,
// when not nil, returns how many messages pub acknowledged.
func benchFlush(b *testing.B, db *sqldb.DB, topic string, pub outbox.Publisher, acked func() int) {
	ctx := context.Background()
	ob := outbox.New(nil)
	r := outbox.NewRelay(outbox.RelayConfig{Service: "bench", DB: db, Outbox: ob, Publisher: pub})
	published := 0
	for b.Loop() {
		b.StopTimer()
		for tx := range relayBenchMessages / relayBenchPerTx {
			batch := make([]kafka.Message, relayBenchPerTx)
			for i := range batch {
				n := tx*relayBenchPerTx + i
				batch[i] = kafka.Message{
					Topic:   topic,
					Key:     fmt.Appendf(nil, "order-%d", n%relayBenchKeys),
					Value:   fmt.Appendf(nil, `{"type":"BenchEvent","seq":%d,"data":{"items":[{"sku":"mug","quantity":2}]}}`, n),
					Headers: []kafka.Header{{Key: "traceparent", Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")}},
				}
			}
			if err := db.InTx(ctx, func(tx *sqldb.Tx) error { return ob.Add(ctx, tx, batch...) }); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		n, err := r.Flush(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n != relayBenchMessages {
			b.Fatalf("Flush published %d messages, want %d", n, relayBenchMessages)
		}
		published += n
	}
	b.StopTimer()
	b.ReportMetric(float64(published)/b.Elapsed().Seconds(), "msgs/s")
	if left, err := outbox.Pending(ctx, db); err != nil || left != 0 {
		b.Fatalf("outbox rows left after the run: %d, %v", left, err)
	}
	if acked != nil && acked() != published {
		b.Fatalf("publisher acknowledged %d messages, want %d", acked(), published)
	}
}
