package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/broker"
	"github.com/ordersaga/ordersaga/choreographed/internal/kafkatest"
	"github.com/ordersaga/ordersaga/choreographed/outbox"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

var brokers []string

func TestMain(m *testing.M) {
	b, err := kafkatest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	brokers = b.Addrs()
	code := m.Run()
	b.Close()
	os.Exit(code)
}

// each runs fn on a fresh outbox database of each engine.
func each(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	for _, d := range sqltest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			fn(t, sqltest.Open(t, d, outbox.Migrations(d)))
		})
	}
}

// newTopic creates a topic of its own for a test.
func newTopic(t *testing.T) string {
	t.Helper()
	topic := "outbox-test-" + kafkatest.Unique()
	if err := broker.EnsureTopics(context.Background(), brokers, []string{topic}, broker.TopicSpec{Partitions: 3}); err != nil {
		t.Fatal(err)
	}
	return topic
}

func newWriter(t *testing.T) *broker.Writer {
	t.Helper()
	w := broker.NewWriter(brokers, nil)
	t.Cleanup(func() { w.Close() })
	return w
}

func add(t *testing.T, db *sqldb.DB, ob *outbox.Outbox, msgs ...kafka.Message) {
	t.Helper()
	if err := db.InTx(context.Background(), func(tx *sqldb.Tx) error { return ob.Add(context.Background(), tx, msgs...) }); err != nil {
		t.Fatal(err)
	}
}

func pending(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	n, err := outbox.Pending(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func msg(topic, key, value string) kafka.Message {
	return kafka.Message{Topic: topic, Key: []byte(key), Value: []byte(value),
		Headers: []kafka.Header{{Key: "h", Value: []byte("v-" + value)}}}
}

func TestAdd_RolledBackTransaction_LeavesNothingToPublish(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		ob := outbox.New(nil)
		boom := errors.New("boom")
		err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
			if err := ob.Add(context.Background(), tx, msg("t", "k", "v")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx err = %v", err)
		}
		if n := pending(t, db); n != 0 {
			t.Fatalf("pending after rollback = %d", n)
		}
		if err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
			return ob.Add(context.Background(), tx, kafka.Message{Key: []byte("k")})
		}); err == nil {
			t.Fatal("a message without topic was accepted")
		}
	})
}

func TestRelay_CommitWakesIt_PublishesWithoutWaitingForThePoll(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		topic := newTopic(t)
		ob := outbox.New(nil)
		r := outbox.NewRelay(outbox.RelayConfig{Service: "test", DB: db, Outbox: ob, Publisher: newWriter(t), PollInterval: time.Hour})
		// A row from before the start goes out in the relay's first round;
		// once it arrived, the relay idles until woken (its poll is an hour).
		add(t, db, outbox.New(nil), msg(topic, "k0", "before"))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		kafkatest.ReadN(t, brokers, topic, 1, 10*time.Second)
		waitFor(t, func() bool { return pending(t, db) == 0 }, "first row deleted")

		add(t, db, ob, msg(topic, "k1", "a"), msg(topic, "k2", "b"))
		got := kafkatest.ReadN(t, brokers, topic, 3, 10*time.Second) // k0 again, k1, k2 in any order
		keys := map[string]string{}
		for _, m := range got {
			keys[string(m.Key)] = string(m.Value)
			if m.Headers[0].Key != "h" || string(m.Headers[0].Value) != "v-"+string(m.Value) {
				t.Fatalf("headers of %q = %v", m.Value, m.Headers)
			}
		}
		if keys["k0"] != "before" || keys["k1"] != "a" || keys["k2"] != "b" {
			t.Fatalf("published %v", keys)
		}
		waitFor(t, func() bool { return pending(t, db) == 0 }, "published rows deleted")
	})
}

func TestRelay_RowsLeftByACrash_PublishedWhenItStarts(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		topic := newTopic(t)
		// The process committed and stopped before any relay ran.
		add(t, db, outbox.New(nil), msg(topic, "k", "left-behind"))
		if n := pending(t, db); n != 1 {
			t.Fatalf("pending = %d, want 1", n)
		}
		// After the restart: a new outbox (never woken) and relay.
		r := outbox.NewRelay(outbox.RelayConfig{Service: "test", DB: db, Outbox: outbox.New(nil), Publisher: newWriter(t), PollInterval: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		got := kafkatest.ReadN(t, brokers, topic, 1, 10*time.Second)
		if string(got[0].Value) != "left-behind" {
			t.Fatalf("published %q", got[0].Value)
		}
	})
}

// flaky fails its first calls, then publishes.
type flaky struct {
	failures atomic.Int32
	next     outbox.Publisher
	calls    atomic.Int32
}

func (f *flaky) Publish(ctx context.Context, msgs ...kafka.Message) error {
	f.calls.Add(1)
	if f.failures.Add(-1) >= 0 {
		return errors.New("broker unreachable")
	}
	return f.next.Publish(ctx, msgs...)
}

func TestRelay_PublishFails_KeepsTheRowsAndRetries(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		topic := newTopic(t)
		ob := outbox.New(nil)
		pub := &flaky{next: newWriter(t)}
		pub.failures.Store(2)
		r := outbox.NewRelay(outbox.RelayConfig{Service: "test", DB: db, Outbox: ob, Publisher: pub, PollInterval: time.Hour})
		add(t, db, ob, msg(topic, "k", "1"))
		if _, err := r.Flush(context.Background()); err == nil {
			t.Fatal("Flush reported success while the publisher failed")
		}
		if n := pending(t, db); n != 1 {
			t.Fatalf("pending after a failed publish = %d, want 1", n)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		got := kafkatest.ReadN(t, brokers, topic, 1, 10*time.Second)
		if string(got[0].Value) != "1" || pub.calls.Load() < 3 {
			t.Fatalf("published %q after %d calls", got[0].Value, pub.calls.Load())
		}
		waitFor(t, func() bool { return pending(t, db) == 0 }, "published rows deleted")
	})
}

func TestRelay_ManyMessages_KeepTheirOrderPerKeyAcrossBatches(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		topic := newTopic(t)
		ob := outbox.New(nil)
		const perKey = 150
		keys := []string{"a", "b", "c", "d"}
		for i := range perKey {
			var batch []kafka.Message
			for _, k := range keys {
				batch = append(batch, msg(topic, k, fmt.Sprintf("%s-%03d", k, i)))
			}
			add(t, db, ob, batch...)
		}
		r := outbox.NewRelay(outbox.RelayConfig{Service: "test", DB: db, Outbox: ob, Publisher: newWriter(t), BatchSize: 64})
		n, err := r.Flush(context.Background())
		if err != nil || n != perKey*len(keys) {
			t.Fatalf("Flush = %d, %v; want %d", n, err, perKey*len(keys))
		}
		got := kafkatest.ReadN(t, brokers, topic, perKey*len(keys), 20*time.Second)
		next := map[string]int{}
		for _, m := range got {
			k := string(m.Key)
			if want := fmt.Sprintf("%s-%03d", k, next[k]); string(m.Value) != want {
				t.Fatalf("key %s: got %q, want %q", k, m.Value, want)
			}
			next[k]++
		}
		if pending(t, db) != 0 {
			t.Fatal("rows left after Flush")
		}
	})
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gauge returns the value of a gauge's series for service, and whether
// there is one.
func gauge(t *testing.T, reg *prometheus.Registry, name, service string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "service" && lp.GetValue() == service {
					return m.GetGauge().GetValue(), true
				}
			}
		}
	}
	return 0, false
}

func TestMetrics_Backlog_ReadFromTheOutboxAtEachScrape(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		topic := newTopic(t)
		reg := prometheus.NewRegistry()
		// The rows were written a minute ago and not published since.
		ob := outbox.New(func() time.Time { return time.Now().Add(-time.Minute) })
		r := outbox.NewRelay(outbox.RelayConfig{Service: "test", DB: db, Outbox: ob, Publisher: newWriter(t), Metrics: outbox.NewMetrics(reg)})
		if n, ok := gauge(t, reg, "ordersaga_outbox_pending_messages", "test"); !ok || n != 0 {
			t.Fatalf("empty outbox: pending = %v (series present: %v), want 0", n, ok)
		}
		add(t, db, ob, msg(topic, "k1", "a"), msg(topic, "k2", "b"), msg(topic, "k1", "c"))
		if n, _ := gauge(t, reg, "ordersaga_outbox_pending_messages", "test"); n != 3 {
			t.Fatalf("pending = %v, want 3", n)
		}
		if age, _ := gauge(t, reg, "ordersaga_outbox_oldest_message_age_seconds", "test"); age < 60 || age > 3600 {
			t.Fatalf("oldest message age = %v s, want about 60", age)
		}
		if _, err := r.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		n, _ := gauge(t, reg, "ordersaga_outbox_pending_messages", "test")
		age, _ := gauge(t, reg, "ordersaga_outbox_oldest_message_age_seconds", "test")
		if n != 0 || age != 0 {
			t.Fatalf("after publishing: pending %v, oldest age %v; want 0 and 0", n, age)
		}
	})
}

// counter returns the value of a counter's series for service (0 when
// there is none).
func counter(t *testing.T, reg *prometheus.Registry, name, service string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "service" && lp.GetValue() == service {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// The relay counts the messages it published and their bytes (keys,
// values and headers), and the delete of the published rows counts as a
// commit of the database, on both engines.
func TestMetrics_PublishedBytesAndTheDeleteCommit_Counted(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		topic := newTopic(t)
		reg := prometheus.NewRegistry()
		ob := outbox.New(nil)
		r := outbox.NewRelay(outbox.RelayConfig{Service: "test", DB: db, Outbox: ob, Publisher: newWriter(t), Metrics: outbox.NewMetrics(reg)})
		msgs := []kafka.Message{msg(topic, "k1", "a"), msg(topic, "key-2", "value-b"), msg(topic, "k1", "c")}
		want := 0
		for _, m := range msgs {
			want += len(m.Key) + len(m.Value)
			for _, h := range m.Headers {
				want += len(h.Key) + len(h.Value)
			}
		}
		add(t, db, ob, msgs...)
		before := db.Commits()
		if n, err := r.Flush(context.Background()); err != nil || n != len(msgs) {
			t.Fatalf("Flush = %d, %v; want %d", n, err, len(msgs))
		}
		if got := counter(t, reg, "ordersaga_outbox_published_total", "test"); got != float64(len(msgs)) {
			t.Errorf("published_total = %v, want %d", got, len(msgs))
		}
		if got := counter(t, reg, "ordersaga_outbox_published_bytes_total", "test"); got != float64(want) {
			t.Errorf("published_bytes_total = %v, want %d", got, want)
		}
		if got := db.Commits() - before; got != 1 {
			t.Errorf("the delete of the published rows committed %d times by the DB's count, want 1", got)
		}
		if p := pending(t, db); p != 0 {
			t.Errorf("%d rows left after the flush", p)
		}
	})
}
