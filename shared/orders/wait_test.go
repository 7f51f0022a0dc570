package orders_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// waitResult is what a WaitFinal call returned.
type waitResult struct {
	o   *domain.Order
	err error
}

// waitFinalAsync starts WaitFinal with a context that outlives the test's
// patience and returns where its result arrives; read it with result.
func waitFinalAsync(tb testing.TB, store *orders.Store, id string) <-chan waitResult {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	tb.Cleanup(cancel)
	done := make(chan waitResult, 1)
	go func() {
		o, err := store.WaitFinal(ctx, id)
		done <- waitResult{o, err}
	}()
	return done
}

// result returns what WaitFinal returned, failing the test when it has
// not returned within a generous bound, far below its context's deadline.
func result(tb testing.TB, done <-chan waitResult) waitResult {
	tb.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(10 * time.Second):
		tb.Fatal("WaitFinal did not return")
		return waitResult{}
	}
}

func completeOrder(o *domain.Order) error {
	for _, s := range []domain.StepName{domain.StepInventory, domain.StepPayment, domain.StepShipping} {
		if err := o.MarkStep(s, domain.StepDone, t0); err != nil {
			return err
		}
	}
	return completeWith(o, "OSABCDEFGHIJKL", t0)
}

func TestWaitFinal_OrderCompletedInProcess_WakesAtOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		// Polling alone would not return within the test's patience, nor
		// would the end of WaitFinal's context: only the update's wake-up can.
		orders.SetPollInterval(store, time.Hour)
		create(t, store, "o-1", t0)
		done := waitFinalAsync(t, store, "o-1")
		waitFor(t, "WaitFinal watches the order", func() bool { return orders.Watched(store) == 1 })

		// A change that leaves the order pending does not end the wait.
		update(t, store, "o-1", func(o *domain.Order) error { return o.MarkStep(domain.StepInventory, domain.StepDone, t0) })
		update(t, store, "o-1", completeOrder)

		r := result(t, done)
		if r.err != nil {
			t.Fatalf("WaitFinal: %v", r.err)
		}
		if r.o.Status() != domain.StatusCompleted || r.o.State().TrackingNumber != "OSABCDEFGHIJKL" {
			t.Fatalf("WaitFinal returned %s order %+v, want the completed order", r.o.Status(), r.o.State())
		}
		if n := orders.Watched(store); n != 0 {
			t.Fatalf("%d orders still watched after the wait, want 0", n)
		}
	})
}

func TestWaitFinal_OrderCompletedByAnotherProcess_SeenByPolling(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		other := orders.New(db) // stands for another process on the same database
		create(t, store, "o-1", t0)
		done := waitFinalAsync(t, store, "o-1")
		waitFor(t, "WaitFinal watches the order", func() bool { return orders.Watched(store) == 1 })
		update(t, other, "o-1", completeOrder)
		r := result(t, done)
		if r.err != nil || r.o.Status() != domain.StatusCompleted {
			t.Fatalf("WaitFinal = %v, %v; want the completed order", r.o, r.err)
		}
	})
}

func TestWaitFinal_AlreadyFinal_ReturnsIt(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		orders.SetPollInterval(store, time.Hour)
		create(t, store, "o-1", t0)
		update(t, store, "o-1", func(o *domain.Order) error { return o.Fail(domain.ReasonOutOfStock, t0) })
		r := result(t, waitFinalAsync(t, store, "o-1"))
		if r.err != nil || r.o.Status() != domain.StatusFailed {
			t.Fatalf("WaitFinal = %v, %v; want the failed order", r.o, r.err)
		}
	})
}

func TestWaitFinal_ContextEnds_ReturnsCurrentPendingOrder(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		create(t, store, "o-1", t0)
		update(t, store, "o-1", func(o *domain.Order) error { return o.MarkStep(domain.StepInventory, domain.StepDone, t0) })
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		o, err := store.WaitFinal(ctx, "o-1")
		if err != nil {
			t.Fatalf("WaitFinal: %v", err)
		}
		if st, _ := o.Step(domain.StepInventory); o.Status() != domain.StatusPending || st.Status != domain.StepDone {
			t.Fatalf("WaitFinal returned %+v, want the current pending order", o.State())
		}
		if n := orders.Watched(store); n != 0 {
			t.Fatalf("%d orders still watched after the wait, want 0", n)
		}

		// A context that has already ended still gets the order.
		ended, cancelEnded := context.WithCancel(context.Background())
		cancelEnded()
		if o, err := store.WaitFinal(ended, "o-1"); err != nil || o.ID() != "o-1" {
			t.Fatalf("WaitFinal with an ended context = %v, %v", o, err)
		}
	})
}

func TestWaitFinal_UnknownOrder_NotFound(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		r := result(t, waitFinalAsync(t, store, "nope"))
		if !errs.Is(r.err, errs.NotFound) || r.o != nil {
			t.Fatalf("WaitFinal = %v, %v; want not found", r.o, r.err)
		}
		if n := orders.Watched(store); n != 0 {
			t.Fatalf("%d orders still watched, want 0", n)
		}
	})
}
