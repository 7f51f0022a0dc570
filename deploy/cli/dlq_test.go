package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/broker"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/deploy/kafkadev"
)

// startBroker starts an embedded broker with one partition per topic and
// the topics of prefix, stopped when the test ends.
func startBroker(t *testing.T, prefix string) string {
	t.Helper()
	b, err := kafkadev.Start(kafkadev.Config{
		Address:    "127.0.0.1:0",
		Topics:     events.Topics{Prefix: prefix}.All(),
		Partitions: 1,
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("starting the broker: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b.Addrs()[0]
}

// deadLetter returns the message a consumer of group writes to the
// dead-letter topic when it gives up on m.
func deadLetter(topics events.Topics, m kafka.Message, group, reason string, attempts int, at time.Time) kafka.Message {
	h := append([]kafka.Header(nil), m.Headers...)
	h = events.SetHeader(h, events.HeaderDLQReason, reason)
	h = events.SetHeader(h, events.HeaderDLQOriginalTopic, m.Topic)
	h = events.SetHeader(h, events.HeaderDLQOriginalPartition, "0")
	h = events.SetHeader(h, events.HeaderDLQOriginalOffset, "17")
	h = events.SetHeader(h, events.HeaderDLQConsumerGroup, group)
	h = events.SetHeader(h, events.HeaderDLQFailedAt, at.UTC().Format(time.RFC3339Nano))
	h = events.SetHeader(h, events.HeaderDLQAttempts, strconv.Itoa(attempts))
	return kafka.Message{Topic: topics.DeadLetter(), Key: m.Key, Value: m.Value, Headers: h}
}

// readTopic reads partition 0 of topic from its start until match found a
// message, failing t after 30 s.
func readTopic(t *testing.T, addr, topic string, match func(kafka.Message) bool) kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: 0, MaxWait: 50 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("no matching message on %s: %v", topic, err)
		}
		if match(m) {
			return m
		}
	}
}

func TestDLQ_ListThenReplay_RepublishesToTheOriginalTopic(t *testing.T) {
	const prefix = "dlqtest"
	addr := startBroker(t, prefix)
	topics := events.Topics{Prefix: prefix}
	ctx := context.Background()

	// A poison message of the payment topic, and a good event that kept
	// failing, as the consumers dead-letter them.
	poison := kafka.Message{Topic: topics.Of(events.Payment), Key: []byte("order-poison"), Value: []byte("\xff\xfe not an event")}
	e, err := events.New(events.StepEvent{Type: events.InventoryCommitted, Step: "inventory"}, "order-7", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	good, err := e.Message(ctx, topics)
	if err != nil {
		t.Fatal(err)
	}
	failedAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	w := broker.NewWriter([]string{addr}, nil)
	defer w.Close()
	if err := w.Publish(ctx,
		deadLetter(topics, poison, prefix+".shipping", "decoding event: malformed envelope", 1, failedAt),
		deadLetter(topics, good, prefix+".orders", "still failing after 5 attempts:\norders unavailable", 5, failedAt),
	); err != nil {
		t.Fatalf("writing dead letters: %v", err)
	}

	// dlq list -json: the brokers by environment, the prefix by flag.
	env, stdout, stderr := testEnv(map[string]string{"ORDERSAGA_KAFKA_BROKERS": addr})
	if code := Execute(ctx, env, []string{"dlq", "list", "-topic-prefix", prefix, "-json"}); code != 0 {
		t.Fatalf("dlq list -json: exit %d; stderr:\n%s", code, stderr)
	}
	var letters []letterJSON
	if err := json.Unmarshal([]byte(stdout.String()), &letters); err != nil {
		t.Fatalf("dlq list -json printed no JSON array: %v\n%s", err, stdout)
	}
	if len(letters) != 2 {
		t.Fatalf("listed %d letters, want 2:\n%s", len(letters), stdout)
	}
	p, g := letters[0], letters[1]
	if p.Ref != "0/0" || p.OriginalTopic != prefix+".payment" || p.Reason != "decoding event: malformed envelope" ||
		p.EventType != "" || p.Key != "order-poison" || string(p.Value) != string(poison.Value) ||
		p.Group != prefix+".shipping" || p.Attempts != 1 || !p.FailedAt.Equal(failedAt) || p.OriginalOffset != 17 {
		t.Errorf("poison letter listed as %+v", p)
	}
	if g.Ref != "0/1" || g.OriginalTopic != prefix+".inventory" || g.EventType != string(events.InventoryCommitted) ||
		g.EventID != e.EventID || g.OrderID != "order-7" || g.Attempts != 5 {
		t.Errorf("event letter listed as %+v", g)
	}

	// dlq list: a table with a line per letter, reasons on one line.
	env, stdout, stderr = testEnv(nil)
	if code := Execute(ctx, env, []string{"dlq", "list", "-kafka-brokers", addr, "-topic-prefix", prefix}); code != 0 {
		t.Fatalf("dlq list: exit %d; stderr:\n%s", code, stderr)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^REF\s+TIME\s+ORIGINAL TOPIC\s+EVENT TYPE\s+ORDER\s+REASON$`),
		regexp.MustCompile(`(?m)^0/0\s+2026-01-02T03:04:05Z\s+dlqtest\.payment\s+-\s+-\s+decoding event: malformed envelope$`),
		regexp.MustCompile(`(?m)^0/1\s+2026-01-02T03:04:05Z\s+dlqtest\.inventory\s+InventoryCommitted\s+order-7\s+still failing after 5 attempts: orders unavailable$`),
		regexp.MustCompile(`(?m)^2 dead letters in dlqtest\.deadletter$`),
	} {
		if !want.MatchString(stdout.String()) {
			t.Errorf("dlq list output does not match %s:\n%s", want, stdout)
		}
	}

	// dlq replay 0/0: the poison message goes back to its topic as it was,
	// marked as a replay and without the dead-letter headers.
	env, stdout, stderr = testEnv(map[string]string{"ORDERSAGA_KAFKA_BROKERS": addr, "ORDERSAGA_TOPIC_PREFIX": prefix})
	if code := Execute(ctx, env, []string{"dlq", "replay", "0/0"}); code != 0 {
		t.Fatalf("dlq replay 0/0: exit %d; stderr:\n%s", code, stderr)
	}
	if strings.TrimSpace(stdout.String()) != "replayed 0/0 to dlqtest.payment" {
		t.Errorf("dlq replay printed %q", stdout)
	}
	m := readTopic(t, addr, prefix+".payment", func(m kafka.Message) bool { return string(m.Key) == "order-poison" })
	if string(m.Value) != string(poison.Value) || events.Header(m.Headers, events.HeaderDLQReplayedFrom) != "0/0" ||
		events.Header(m.Headers, events.HeaderDLQReason) != "" {
		t.Errorf("replayed message: value %q headers %v", m.Value, m.Headers)
	}

	// dlq replay -all: every letter, the event with its own headers.
	env, stdout, stderr = testEnv(map[string]string{"ORDERSAGA_KAFKA_BROKERS": addr, "ORDERSAGA_TOPIC_PREFIX": prefix})
	if code := Execute(ctx, env, []string{"dlq", "replay", "-all"}); code != 0 {
		t.Fatalf("dlq replay -all: exit %d; stderr:\n%s", code, stderr)
	}
	if got := strings.Count(stdout.String(), "replayed "); got != 2 {
		t.Errorf("dlq replay -all replayed %d letters, want 2:\n%s", got, stdout)
	}
	m = readTopic(t, addr, prefix+".inventory", func(m kafka.Message) bool {
		return events.Header(m.Headers, events.HeaderDLQReplayedFrom) == "0/1"
	})
	if events.Header(m.Headers, events.HeaderEventID) != e.EventID || string(m.Key) != "order-7" {
		t.Errorf("replayed event: key %q headers %v", m.Key, m.Headers)
	}
}

func TestDLQ_BadCommandLinesAndUnknownLetters_Fail(t *testing.T) {
	const prefix = "dlqempty"
	addr := startBroker(t, prefix)
	base := map[string]string{"ORDERSAGA_KAFKA_BROKERS": addr, "ORDERSAGA_TOPIC_PREFIX": prefix}
	tests := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"dlq", "list"}, 0, "no dead letters in dlqempty.deadletter", ""},
		{[]string{"dlq", "list", "-json"}, 0, "[]", ""},
		{[]string{"dlq", "replay", "-all"}, 0, "no dead letters", ""},
		{[]string{"dlq", "replay"}, 2, "", "-all"},
		{[]string{"dlq", "replay", "-all", "0/1"}, 2, "", "not both"},
		{[]string{"dlq", "replay", "zero"}, 2, "", "<partition>/<offset>"},
		{[]string{"dlq", "replay", "0/9"}, 1, "", "no dead letter at 0/9"},
		{[]string{"dlq", "list", "extra"}, 2, "", "unexpected arguments"},
		{[]string{"dlq", "purge"}, 2, "", `unknown command "purge"`},
		{[]string{"dlq", "list", "-topic-prefix", "missing"}, 1, "", "missing.deadletter"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			env, stdout, stderr := testEnv(base)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if got := Execute(ctx, env, tc.args); got != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", got, tc.code, stderr)
			}
			if !strings.Contains(stdout.String(), tc.inStdout) {
				t.Errorf("stdout %q lacks %q", stdout, tc.inStdout)
			}
			if !strings.Contains(stderr.String(), tc.inStderr) {
				t.Errorf("stderr %q lacks %q", stderr, fmt.Sprint(tc.inStderr))
			}
		})
	}
}
