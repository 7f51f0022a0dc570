package orders_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// followed follows id on store and returns how many times its ended
// function has run.
func followed(store *orders.Store, id string) *atomic.Int32 {
	var n atomic.Int32
	store.Follow(id, func() { n.Add(1) })
	return &n
}

// A followed order made final through the same Store ends at once (the
// watcher's polls alone would take an hour), exactly once, and leaves the
// watcher: with nothing else followed or awaited, it stops.
func TestFollow_FinalThroughThisStore_EndsAtOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		orders.SetPollInterval(store, time.Hour)
		create(t, store, "o-1", t0)
		create(t, store, "o-2", t0)
		ended1, ended2 := followed(store, "o-1"), followed(store, "o-2")
		if !orders.Watching(store) || orders.Watched(store) != 2 {
			t.Fatalf("watching %v, %d orders watched; want the watcher on both followed orders", orders.Watching(store), orders.Watched(store))
		}

		// A change that leaves the order pending does not end it.
		update(t, store, "o-1", func(o *domain.Order) error { return o.MarkStep(domain.StepInventory, domain.StepDone, t0) })
		if ended1.Load() != 0 {
			t.Fatal("a pending order ended")
		}
		update(t, store, "o-1", completeOrder)
		if n := ended1.Load(); n != 1 {
			t.Fatalf("ended ran %d times after the commit that completed the order, want once at once", n)
		}
		if ended2.Load() != 0 || orders.Watched(store) != 1 {
			t.Fatalf("the other order: ended %d times, %d orders watched; want it still followed", ended2.Load(), orders.Watched(store))
		}
		update(t, store, "o-2", func(o *domain.Order) error { return o.Fail(domain.ReasonOutOfStock, t0) })
		if ended2.Load() != 1 || ended1.Load() != 1 {
			t.Fatalf("ended ran %d and %d times, want once each", ended1.Load(), ended2.Load())
		}
		if n := orders.Watched(store); n != 0 {
			t.Fatalf("%d orders still watched, want 0", n)
		}
		waitFor(t, "the watcher stops once nothing is followed", func() bool { return !orders.Watching(store) })
	})
}

// A followed order made final by another process is seen by the watcher's
// poll, with no waiter at all, and so is one that was final already when
// it was followed; the watcher reads followed orders in one query per
// interval, however many are followed.
func TestFollow_FinalElsewhere_SeenByTheWatcher(t *testing.T) {
	const (
		interval = 20 * time.Millisecond
		n        = 30
	)
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		orders.SetPollInterval(store, interval)
		reads := orders.CountReads(store)
		other := orders.New(db) // another process on the same database
		ended := make([]*atomic.Int32, n)
		for i := range n {
			id := fmt.Sprintf("o-%d", i)
			create(t, store, id, t0)
			ended[i] = followed(store, id)
		}
		create(t, other, "done-before", t0)
		update(t, other, "done-before", completeOrder)
		before := followed(store, "done-before")

		window := 10 * interval
		start := reads.Load()
		time.Sleep(window)
		if polled := reads.Load() - start; polled > int64(window/interval)+2 {
			t.Fatalf("%d reads in %v with %d orders followed, want one query per %v", polled, window, n+1, interval)
		}
		waitFor(t, "the order final before it was followed ends", func() bool { return before.Load() == 1 })

		for i := range n {
			update(t, other, fmt.Sprintf("o-%d", i), completeOrder)
		}
		waitFor(t, "every followed order ends", func() bool {
			return !slices.ContainsFunc(ended, func(e *atomic.Int32) bool { return e.Load() == 0 })
		})
		waitFor(t, "the watcher stops", func() bool { return !orders.Watching(store) })
		for i, e := range ended {
			if e.Load() != 1 {
				t.Fatalf("order %d: ended ran %d times, want once", i, e.Load())
			}
		}
	})
}

// An order both awaited and followed wakes its waiter and calls its
// follower; the follower keeps it watched after its waiter gave up.
func TestFollow_WithAWaiter_BothTold(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		orders.SetPollInterval(store, time.Hour)
		create(t, store, "o-1", t0)
		ended := followed(store, "o-1")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if o, err := store.WaitFinal(ctx, "o-1"); err != nil || o.Status() != domain.StatusPending {
			t.Fatalf("WaitFinal = %v, %v; want the pending order when its context ends", o, err)
		}
		if n := orders.Watched(store); n != 1 {
			t.Fatalf("%d orders watched after the waiter left, want the followed one", n)
		}
		done := waitFinalAsync(t, store, "o-1")
		waitFor(t, "the waiter watches", func() bool { return orders.Watched(store) == 1 })
		update(t, store, "o-1", completeOrder)
		if r := result(t, done); r.err != nil || r.o.Status() != domain.StatusCompleted {
			t.Fatalf("WaitFinal = %v, %v; want the completed order", r.o, r.err)
		}
		if ended.Load() != 1 {
			t.Fatalf("ended ran %d times, want once", ended.Load())
		}
	})
}

// PendingIDs returns exactly the orders that are not final.
func TestPendingIDs_OnlyOrdersNotFinal(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		if ids, err := store.PendingIDs(context.Background()); err != nil || len(ids) != 0 {
			t.Fatalf("PendingIDs of an empty store = %v, %v; want none", ids, err)
		}
		for _, id := range []string{"p-1", "p-2", "done", "failed", "p-3"} {
			create(t, store, id, t0)
		}
		update(t, store, "done", completeOrder)
		update(t, store, "failed", func(o *domain.Order) error { return o.Fail(domain.ReasonOutOfStock, t0) })
		update(t, store, "p-2", func(o *domain.Order) error { return o.MarkStep(domain.StepInventory, domain.StepDone, t0) })
		ids, err := store.PendingIDs(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		if want := []string{"p-1", "p-2", "p-3"}; !slices.Equal(ids, want) {
			t.Fatalf("PendingIDs = %v, want %v", ids, want)
		}
	})
}
