package outbox_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/outbox"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// countingPublisher counts the messages each relay published, by value.
type countingPublisher struct {
	mu sync.Mutex
	by map[string]map[string]int // relay → value → times
}

func (p *countingPublisher) as(name string) outbox.Publisher { return relayPublisher{p, name} }

type relayPublisher struct {
	p    *countingPublisher
	name string
}

func (r relayPublisher) Publish(_ context.Context, msgs ...kafka.Message) error {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	for _, m := range msgs {
		if r.p.by[r.name] == nil {
			r.p.by[r.name] = map[string]int{}
		}
		r.p.by[r.name][string(m.Value)]++
	}
	return nil
}

// published returns how often each value was published, by any relay,
// and by each relay how many messages.
func (p *countingPublisher) published() (map[string]int, map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	total, per := map[string]int{}, map[string]int{}
	for name, values := range p.by {
		for v, n := range values {
			total[v] += n
			per[name] += n
		}
	}
	return total, per
}

// TestRelay_TwoProcessesOnOnePostgresOutbox_OnePublishesTheOtherTakesOverWhenItStops:
// two relays on one PostgreSQL outbox (two processes of a scaled-out
// service) publish every row once between them, all from the one holding
// the outbox lock; when that one stops, the other publishes what follows
// within a few poll intervals.
func TestRelay_TwoProcessesOnOnePostgresOutbox_OnePublishesTheOtherTakesOverWhenItStops(t *testing.T) {
	db := sqltest.Open(t, sqldb.Postgres, outbox.Migrations(sqldb.Postgres))
	pub := &countingPublisher{by: map[string]map[string]int{}}
	ob := outbox.New(nil)
	const poll = 100 * time.Millisecond
	run := func(name string) (stop func()) {
		r := outbox.NewRelay(outbox.RelayConfig{Service: "test", DB: db, Outbox: ob, Publisher: pub.as(name), PollInterval: poll})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		var once sync.Once
		stop = func() {
			once.Do(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("relay %s: %v", name, err)
				}
			})
		}
		t.Cleanup(stop)
		return stop
	}
	stopA := run("a")
	waitFor(t, func() bool { add(t, db, ob, msg("t", "k", "probe")); _, per := pub.published(); return per["a"] > 0 }, "relay a publishing")
	run("b")
	for i := range 50 {
		add(t, db, ob, msg("t", fmt.Sprint(i), fmt.Sprint("first-", i)))
	}
	waitFor(t, func() bool { return pending(t, db) == 0 }, "every row of the first batch published and deleted")
	time.Sleep(3 * poll) // b had its chances to take the lock and publish
	total, per := pub.published()
	for i := range 50 {
		if n := total[fmt.Sprint("first-", i)]; n != 1 {
			t.Errorf("row first-%d published %d times, want once", i, n)
		}
	}
	if per["b"] != 0 {
		t.Errorf("the standing-by relay published %d messages while the other held the lock", per["b"])
	}

	stopA()
	stopped := time.Now()
	for i := range 20 {
		add(t, db, ob, msg("t", fmt.Sprint(i), fmt.Sprint("second-", i)))
	}
	waitFor(t, func() bool { return pending(t, db) == 0 }, "the rows added after a stopped taken over by b")
	took := time.Since(stopped)
	total, per = pub.published()
	for i := range 20 {
		if n := total[fmt.Sprint("second-", i)]; n != 1 {
			t.Errorf("row second-%d published %d times, want once", i, n)
		}
	}
	if per["b"] < 20 {
		t.Errorf("relay b published %d messages after a stopped, want the 20 added", per["b"])
	}
	t.Logf("take-over after the publishing relay stopped: %v (poll interval %v)", took.Round(time.Millisecond), poll)
}
