package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// ReadN reads n messages from the start of topic with a consumer group of
// its own, failing the test when they do not arrive within timeout.
func ReadN(tb testing.TB, addrs []string, topic string, n int, timeout time.Duration) []kafka.Message {
	tb.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: addrs, GroupID: "test-reader-" + Unique(), GroupTopics: []string{topic},
		StartOffset: kafka.FirstOffset, MaxWait: 50 * time.Millisecond,
	})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []kafka.Message
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			tb.Fatalf("read %d of %d messages from %s: %v", len(out), n, topic, err)
		}
		out = append(out, m)
	}
	return out
}

// Unique returns a short random string for naming topics, groups and ids.
func Unique() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
