package kafkadev_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/deploy/kafkadev"
)

func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

// start starts a broker on a free port and closes it when the test ends.
func start(tb testing.TB, cfg kafkadev.Config) *kafkadev.Broker {
	tb.Helper()
	cfg.Address = "127.0.0.1:0"
	cfg.Logger = slog.New(slog.DiscardHandler)
	b, err := kafkadev.Start(cfg)
	if err != nil {
		tb.Fatalf("starting broker: %v", err)
	}
	tb.Cleanup(func() { _ = b.Close() })
	return b
}

func write(tb testing.TB, addrs []string, topic string, msgs ...kafka.Message) {
	tb.Helper()
	w := &kafka.Writer{
		Addr:         kafka.TCP(addrs...),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 2 * time.Millisecond,
	}
	defer w.Close()
	if err := w.WriteMessages(testContext(tb), msgs...); err != nil {
		tb.Fatalf("writing %d messages to %s: %v", len(msgs), topic, err)
	}
}

func TestBroker_WriterAndGroupReader_DeliverAndCommitEveryMessage(t *testing.T) {
	const topic, group, partitions = "orders.events", "payment", 2
	b := start(t, kafkadev.Config{Topics: []string{topic}, Partitions: partitions})
	ctx := testContext(t)
	if len(b.Addrs()) != 1 || !strings.HasPrefix(b.Addrs()[0], "127.0.0.1:") || strings.HasSuffix(b.Addrs()[0], ":0") {
		t.Fatalf("broker addresses %v, want one concrete loopback address", b.Addrs())
	}

	var sent []string
	var msgs []kafka.Message
	for i := range 6 {
		v := fmt.Sprintf("order-%d", i)
		sent = append(sent, v)
		msgs = append(msgs, kafka.Message{Key: []byte(v), Value: []byte(v)})
	}
	write(t, b.Addrs(), topic, msgs...)

	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     b.Addrs(),
		GroupID:     group,
		Topic:       topic,
		StartOffset: kafka.FirstOffset,
		MaxWait:     100 * time.Millisecond,
	})
	defer r.Close()
	var got []string
	for range sent {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("fetching after %d messages: %v", len(got), err)
		}
		got = append(got, string(m.Value))
		if err := r.CommitMessages(ctx, m); err != nil {
			t.Fatalf("committing %s: %v", m.Value, err)
		}
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(sent, ",") {
		t.Fatalf("read %v, want %v", got, sent)
	}

	// The group's committed offsets cover every message.
	c := &kafka.Client{Addr: kafka.TCP(b.Addrs()...)}
	resp, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0, 1}}})
	if err != nil {
		t.Fatalf("fetching committed offsets: %v", err)
	}
	var committed int64
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			t.Fatalf("committed offset of partition %d: %v", p.Partition, p.Error)
		}
		committed += p.CommittedOffset
	}
	if committed != int64(len(sent)) {
		t.Errorf("committed offsets add up to %d, want %d", committed, len(sent))
	}
}

// readAll reads partition 0 of topic from the start, without a group.
func readAll(tb testing.TB, addr, topic string, n int) []string {
	tb.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx := testContext(tb)
	var got []string
	for range n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			tb.Fatalf("reading %s after %d messages: %v", topic, len(got), err)
		}
		got = append(got, string(m.Value))
	}
	return got
}

func TestBroker_DataDir_RestartKeepsMessagesAndCreatesNewTopics(t *testing.T) {
	dir := t.TempDir()
	first := start(t, kafkadev.Config{Topics: []string{"orders"}, Partitions: 1, DataDir: dir})
	write(t, first.Addrs(), "orders", kafka.Message{Value: []byte("a")}, kafka.Message{Value: []byte("b")})
	if err := first.Close(); err != nil {
		t.Fatalf("closing: %v", err)
	}
	if _, err := net.DialTimeout("tcp", first.Addrs()[0], time.Second); err == nil {
		t.Errorf("broker still accepts connections after Close")
	}

	second := start(t, kafkadev.Config{Topics: []string{"orders", "payments"}, Partitions: 1, DataDir: dir})
	if got := strings.Join(readAll(t, second.Addrs()[0], "orders", 2), ","); got != "a,b" {
		t.Errorf("messages after restart %q, want a,b", got)
	}
	conn, err := kafka.Dial("tcp", second.Addrs()[0])
	if err != nil {
		t.Fatalf("dialing: %v", err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions("payments")
	if err != nil || len(parts) != 1 {
		t.Errorf("topic added on restart: partitions %v, err %v; want 1 partition", parts, err)
	}
}

func TestStart_BadAddress_Fails(t *testing.T) {
	for _, addr := range []string{"127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000"} {
		if b, err := kafkadev.Start(kafkadev.Config{Address: addr}); err == nil {
			b.Close()
			t.Errorf("address %q accepted", addr)
		}
	}
}
