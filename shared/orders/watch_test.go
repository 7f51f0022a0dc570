package orders_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Many WaitFinal callers cost the database one query per poll interval,
// not one per caller: the store's single watcher reads every awaited order
// at once. An order completed through another Store on the same database
// (standing for another process) wakes its waiters, and the watcher stops
// once nobody waits.
func TestWaitFinal_ManyWaiters_OneWatcherQueryPerInterval(t *testing.T) {
	const (
		waiters  = 24
		interval = 50 * time.Millisecond
		window   = 600 * time.Millisecond
	)
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		orders.SetPollInterval(store, interval)
		reads := orders.CountReads(store)
		ids := make([]string, waiters/2)
		for i := range ids {
			ids[i] = fmt.Sprintf("o-%d", i)
			create(t, store, ids[i], t0)
		}
		// Two waiters per order: distinct orders and shared ones.
		var dones []<-chan waitResult
		for i := range waiters {
			dones = append(dones, waitFinalAsync(t, store, ids[i%len(ids)]))
		}
		waitFor(t, "every order is watched", func() bool { return orders.Watched(store) == len(ids) })
		// Each waiter has read its order once; from now on only the watcher reads.
		waitFor(t, "every waiter read its order", func() bool { return reads.Load() >= waiters })

		before := reads.Load()
		time.Sleep(window)
		polled := reads.Load() - before
		// A ticker delivers at most one tick per interval (plus one held
		// over); a poll per waiter would read waiters times as often.
		if most := int64(window/interval) + 2; polled > most {
			t.Fatalf("%d reads in %s with %d waiters, want at most %d: one query per %s", polled, window, waiters, most, interval)
		}
		if polled < 2 {
			t.Fatalf("%d reads in %s, want the watcher's queries every %s", polled, window, interval)
		}
		if !orders.Watching(store) {
			t.Fatal("no watcher runs while orders are awaited")
		}

		other := orders.New(db) // another process on the same database: no in-process wake-up
		for _, id := range ids {
			update(t, other, id, completeOrder)
		}
		for _, done := range dones {
			r := result(t, done)
			if r.err != nil || r.o.Status() != domain.StatusCompleted {
				t.Fatalf("WaitFinal = %v, %v; want the completed order", r.o, r.err)
			}
		}
		waitFor(t, "the watcher stops once nobody waits", func() bool { return !orders.Watching(store) })
		if n := orders.Watched(store); n != 0 {
			t.Fatalf("%d orders still watched, want 0", n)
		}
		// Idle, the store reads nothing.
		idle := reads.Load()
		time.Sleep(3 * interval)
		if n := reads.Load() - idle; n != 0 {
			t.Fatalf("%d reads with nobody waiting, want 0", n)
		}
	})
}

// The watcher started by one wait ends with the last waiter, even when the
// waits end with their contexts, and the next wait starts a new one that
// still sees changes made elsewhere.
func TestWaitFinal_WatcherStopsAndRestarts(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		orders.SetPollInterval(store, 20*time.Millisecond)
		create(t, store, "o-1", t0)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				defer cancel()
				if o, err := store.WaitFinal(ctx, "o-1"); err != nil || o.Status() != domain.StatusPending {
					t.Errorf("WaitFinal = %v, %v; want the pending order", o, err)
				}
			})
		}
		wg.Wait()
		waitFor(t, "the watcher stops", func() bool { return !orders.Watching(store) })

		done := waitFinalAsync(t, store, "o-1")
		waitFor(t, "a new watcher runs", func() bool { return orders.Watched(store) == 1 && orders.Watching(store) })
		update(t, orders.New(db), "o-1", func(o *domain.Order) error { return o.Fail(domain.ReasonOutOfStock, t0) })
		if r := result(t, done); r.err != nil || r.o.Status() != domain.StatusFailed {
			t.Fatalf("WaitFinal = %v, %v; want the failed order", r.o, r.err)
		}
		waitFor(t, "the watcher stops again", func() bool { return !orders.Watching(store) })
	})
}
