package consumer_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/broker"
	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/dlq"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/inbox"
	"github.com/ordersaga/ordersaga/choreographed/internal/kafkatest"
	"github.com/ordersaga/ordersaga/shared/errs"
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

// fastRetry keeps the tests quick.
var fastRetry = consumer.RetryPolicy{Attempts: 4, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}

// rig is one consumer on a database of its own, reading the orders topic of
// a topic prefix of its own.
type rig struct {
	db      *sqldb.DB
	topics  events.Topics
	group   string
	writer  *broker.Writer
	reg     *prometheus.Registry
	metrics *consumer.Metrics
	routes  consumer.Routes
	policy  consumer.RetryPolicy
	stop    func()
}

func newRig(t *testing.T, d sqldb.Dialect) *rig {
	t.Helper()
	db := sqltest.Open(t, d, inbox.Migrations())
	sqltest.MustExec(t, db, "CREATE TABLE counts (order_id TEXT PRIMARY KEY, n BIGINT NOT NULL)")
	topics := events.Topics{Prefix: "ct" + kafkatest.Unique()}
	if err := broker.EnsureTopics(context.Background(), brokers, topics.All(), broker.TopicSpec{Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	w := broker.NewWriter(brokers, nil)
	t.Cleanup(func() { w.Close() })
	reg := prometheus.NewRegistry()
	r := &rig{db: db, topics: topics, group: topics.Prefix + ".test", writer: w,
		reg: reg, metrics: consumer.NewMetrics(reg), policy: fastRetry}
	r.routes = consumer.Routes{events.OrderPlaced: r.count}
	return r
}

// count is the reaction under test: it counts the events of each order.
func (r *rig) count(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	_, err := tx.ExecContext(ctx,
		"INSERT INTO counts (order_id, n) VALUES ($1, 1) ON CONFLICT (order_id) DO UPDATE SET n = counts.n + 1", e.OrderID)
	return err
}

// run starts a consumer of the rig's group; stop stops it and leaves the
// group.
func (r *rig) run(t *testing.T, extra ...consumer.Middleware) {
	t.Helper()
	mws := append(extra,
		consumer.DeadLetter(consumer.DeadLetterConfig{Publisher: r.writer, Topic: r.topics.DeadLetter(), Group: r.group}),
		consumer.Retry(r.policy, nil),
		consumer.Recover(),
	)
	h := consumer.Chain(consumer.Transactional(r.db, r.routes, consumer.Dedup(r.group, time.Now)), mws...)
	c, err := consumer.New(consumer.Config{Brokers: brokers, Group: r.group, Topics: []string{r.topics.Of(events.Orders)}, Metrics: r.metrics}, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	t.Cleanup(r.stop)
}

func (r *rig) event(t *testing.T, orderID string) kafka.Message {
	t.Helper()
	e, err := events.New(events.OrderPlacedData{CustomerID: "c"}, orderID, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Message(context.Background(), r.topics)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (r *rig) publish(t *testing.T, msgs ...kafka.Message) {
	t.Helper()
	if err := r.writer.Publish(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) countOf(t *testing.T, orderID string) int {
	t.Helper()
	var n int
	err := r.db.QueryRowContext(context.Background(), "SELECT n FROM counts WHERE order_id = $1", orderID).Scan(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	return n
}

// messages returns how many messages of the type had the outcome.
func (r *rig) messages(typ events.Type, o consumer.Outcome) float64 {
	var m dto.Metric
	if err := consumer.MessagesCounter(r.metrics).WithLabelValues(r.group, string(typ), string(o)).Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// deadLetters returns how many messages of the type were dead-lettered for
// the reason.
func (r *rig) deadLetters(typ events.Type, reason string) float64 {
	var m dto.Metric
	if err := consumer.DeadLettersCounter(r.metrics).WithLabelValues(r.group, string(typ), reason).Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// lag returns the rig's group's series of ordersaga_consumer_lag_messages,
// and whether there is one.
func (r *rig) lag(t *testing.T) (float64, bool) {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "ordersaga_consumer_lag_messages" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "group" && lp.GetValue() == r.group {
					return m.GetGauge().GetValue(), true
				}
			}
		}
	}
	return 0, false
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func each(t *testing.T, fn func(t *testing.T, d sqldb.Dialect)) {
	for _, d := range sqltest.Dialects() {
		t.Run(string(d), func(t *testing.T) { fn(t, d) })
	}
}

func TestConsumer_CommitsAfterHandling_ARestartedMemberDoesNotRedoTheWork(t *testing.T) {
	each(t, func(t *testing.T, d sqldb.Dialect) {
		r := newRig(t, d)
		r.run(t)
		var msgs []kafka.Message
		for i := range 50 {
			msgs = append(msgs, r.event(t, "o-"+strconv.Itoa(i%5)))
		}
		r.publish(t, msgs...)
		waitFor(t, func() bool {
			for i := range 5 {
				if r.countOf(t, "o-"+strconv.Itoa(i)) != 10 {
					return false
				}
			}
			return true
		}, "50 events counted")
		r.stop()

		// A new member of the group starts after the committed offsets.
		r.run(t)
		r.publish(t, r.event(t, "o-0"))
		waitFor(t, func() bool { return r.countOf(t, "o-0") == 11 }, "the new event counted")
		if got := r.messages(events.OrderPlaced, consumer.OutcomeDuplicate); got != 0 {
			t.Fatalf("%v events were delivered again after the restart", got)
		}
		for i := 1; i < 5; i++ {
			if n := r.countOf(t, "o-"+strconv.Itoa(i)); n != 10 {
				t.Fatalf("order o-%d counted %d times, want 10", i, n)
			}
		}
	})
}

func TestConsumer_SameEventDeliveredTwice_AppliedOnce(t *testing.T) {
	each(t, func(t *testing.T, d sqldb.Dialect) {
		r := newRig(t, d)
		r.run(t)
		m := r.event(t, "o-dup")
		r.publish(t, m, m)
		r.publish(t, m)
		waitFor(t, func() bool { return r.messages(events.OrderPlaced, consumer.OutcomeDuplicate) == 2 }, "two duplicates skipped")
		if n := r.countOf(t, "o-dup"); n != 1 {
			t.Fatalf("applied %d times, want once", n)
		}
	})
}

func TestConsumer_UndecodableMessage_DeadLetteredAndThePartitionMovesOn(t *testing.T) {
	each(t, func(t *testing.T, d sqldb.Dialect) {
		r := newRig(t, d)
		r.run(t)
		poison := kafka.Message{Topic: r.topics.Of(events.Orders), Key: []byte("o-p"), Value: []byte("\x00not an event")}
		r.publish(t, r.event(t, "o-p"), poison, r.event(t, "o-p"))
		waitFor(t, func() bool { return r.countOf(t, "o-p") == 2 }, "both good events on the poisoned key counted")

		got := kafkatest.ReadN(t, brokers, r.topics.DeadLetter(), 1, 10*time.Second)[0]
		if string(got.Value) != string(poison.Value) || string(got.Key) != "o-p" {
			t.Fatalf("dead letter %q/%q", got.Key, got.Value)
		}
		h := func(k string) string { return events.Header(got.Headers, k) }
		if h(events.HeaderDLQOriginalTopic) != r.topics.Of(events.Orders) || h(events.HeaderDLQConsumerGroup) != r.group ||
			h(events.HeaderDLQReason) == "" || h(events.HeaderDLQOriginalOffset) == "" || h(events.HeaderDLQAttempts) != "1" {
			t.Fatalf("dead letter headers = %v", got.Headers)
		}
		if n := r.deadLetters("undecodable", consumer.DeadLetterUndecodable); n != 1 {
			t.Fatalf("ordersaga_dead_letters_total{reason=undecodable} = %v, want 1", n)
		}
		// The group's reader reports its lag; it has read everything.
		if lag, ok := r.lag(t); !ok || lag != 0 {
			t.Fatalf("consumer lag = %v (series present: %v), want 0", lag, ok)
		}
		r.stop()
		if _, ok := r.lag(t); ok {
			t.Fatal("a closed consumer still reports its lag")
		}
	})
}

func TestConsumer_TransientFailures_RetriedWithoutDeadLettering(t *testing.T) {
	r := newRig(t, sqldb.SQLite)
	var mu sync.Mutex
	failuresLeft := map[string]int{"o-flaky": fastRetry.Attempts - 1}
	r.routes[events.OrderPlaced] = func(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
		mu.Lock()
		defer mu.Unlock()
		if failuresLeft[e.OrderID] > 0 {
			failuresLeft[e.OrderID]--
			return errs.E(errs.Unavailable, "injected")
		}
		return r.count(ctx, tx, e)
	}
	r.run(t)
	r.publish(t, r.event(t, "o-ok"), r.event(t, "o-flaky"), r.event(t, "o-ok"))
	waitFor(t, func() bool { return r.countOf(t, "o-flaky") == 1 && r.countOf(t, "o-ok") == 2 }, "all events counted")
	if got := r.messages(events.OrderPlaced, consumer.OutcomeDeadLettered); got != 0 {
		t.Fatalf("%v events dead-lettered", got)
	}
}

func TestConsumer_PanickingHandler_DeadLetteredAfterBoundedRetries(t *testing.T) {
	r := newRig(t, sqldb.SQLite)
	var calls sync.Map
	r.routes[events.OrderPlaced] = func(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
		if e.OrderID == "o-bug" {
			n, _ := calls.LoadOrStore(e.OrderID, new(int))
			*n.(*int)++
			panic("bug")
		}
		return r.count(ctx, tx, e)
	}
	r.run(t)
	r.publish(t, r.event(t, "o-bug"), r.event(t, "o-after"))
	waitFor(t, func() bool { return r.countOf(t, "o-after") == 1 }, "the event after the bad one counted")
	waitFor(t, func() bool { return r.messages(events.OrderPlaced, consumer.OutcomeDeadLettered) == 1 }, "the bad event dead-lettered")
	if got := r.deadLetters(events.OrderPlaced, consumer.DeadLetterRetriesExhausted); got != 1 {
		t.Fatalf("ordersaga_dead_letters_total{reason=retries_exhausted} = %v, want 1", got)
	}
	n, _ := calls.Load("o-bug")
	if got := *n.(*int); got != fastRetry.Attempts {
		t.Fatalf("the panicking handler ran %d times, want %d", got, fastRetry.Attempts)
	}
}

func TestDeadLetter_FixedCause_ReplayedLetterIsHandled(t *testing.T) {
	r := newRig(t, sqldb.SQLite)
	var broken sync.Map // order id → true while its handling fails
	broken.Store("o-replay", true)
	r.routes[events.OrderPlaced] = func(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
		if _, ok := broken.Load(e.OrderID); ok {
			return errs.E(errs.Conflict, "refused for now")
		}
		return r.count(ctx, tx, e)
	}
	r.run(t)
	r.publish(t, r.event(t, "o-replay"))
	client := dlq.Client{Brokers: brokers, Topic: r.topics.DeadLetter()}
	var letters []dlq.Letter
	waitFor(t, func() bool {
		var err error
		letters, err = client.List(context.Background())
		return err == nil && len(letters) == 1
	}, "one dead letter listed")
	if got := r.deadLetters(events.OrderPlaced, consumer.DeadLetterPermanent); got != 1 {
		t.Fatalf("ordersaga_dead_letters_total{reason=permanent} = %v, want 1", got)
	}
	l := letters[0]
	if l.OrderID != "o-replay" || l.EventType != events.OrderPlaced || l.Group != r.group ||
		l.OriginalTopic != r.topics.Of(events.Orders) || l.Attempts != 1 || l.Reason == "" || l.FailedAt.IsZero() {
		t.Fatalf("letter = %+v", l)
	}
	if events.Header(l.Headers, events.HeaderDLQReason) != "" || events.Header(l.Headers, events.HeaderEventID) != l.EventID {
		t.Fatalf("letter headers = %v", l.Headers)
	}
	sel, err := dlq.Select(letters, l.Ref())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dlq.Select(letters, "9/9"); err == nil {
		t.Fatal("Select found a letter that does not exist")
	}

	broken.Delete("o-replay") // the cause is fixed
	if err := dlq.Replay(context.Background(), r.writer, sel...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return r.countOf(t, "o-replay") == 1 }, "the replayed event handled")
	// Replaying again is harmless: the inbox knows the event.
	if err := dlq.Replay(context.Background(), r.writer, sel...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return r.messages(events.OrderPlaced, consumer.OutcomeDuplicate) == 1 }, "the second replay skipped")
	if n := r.countOf(t, "o-replay"); n != 1 {
		t.Fatalf("applied %d times", n)
	}
}
