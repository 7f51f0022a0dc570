package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// failing returns an injector that fails a share rate of calls, its choices
// fixed by seed.
func failing(tb testing.TB, rate float64, seed uint64) *faults.Injector {
	tb.Helper()
	in := faults.New("inventory", seed)
	if err := in.Set(faults.Setting{ErrorRate: rate}); err != nil {
		tb.Fatal(err)
	}
	return in
}

// seedFailingSecond finds a seed whose injector at rate 0.5 lets the first
// call pass and fails the second: a fault after the commit.
func seedFailingSecond(tb testing.TB) uint64 {
	tb.Helper()
	for seed := range uint64(1000) {
		probe := failing(tb, 0.5, seed)
		if probe.Inject(context.Background(), "probe") == nil && probe.Inject(context.Background(), "probe") != nil {
			return seed
		}
	}
	tb.Fatal("no seed fails the second call")
	return 0
}

func TestSagaOperations_EveryCallFailing_AreUnavailableAndChangeNothing(t *testing.T) {
	t.Parallel()
	sqlDBs(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		healthy := inventory.New(db, nil, testTime)
		setProduct(t, healthy, "mug", 100, 10)
		reserve(t, healthy, "held", item("mug", 2))
		broken := inventory.New(db, failing(t, 1, 1), testTime)

		calls := map[string]func() error{
			"reserve": func() error { _, err := broken.Reserve(ctx, "o-1", []domain.Item{item("mug", 1)}); return err },
			"release": func() error { _, err := broken.Release(ctx, "o-2"); return err },
			"commit":  func() error { _, err := broken.Commit(ctx, "held"); return err },
			"reserveTx": func() error {
				return db.InTx(ctx, func(tx *sqldb.Tx) error {
					_, err := broken.ReserveTx(ctx, tx, "o-3", []domain.Item{item("mug", 1)})
					return err
				})
			},
		}
		for name, call := range calls {
			if err := call(); !errs.Is(err, errs.Unavailable) || !errors.Is(err, faults.ErrInjected) {
				t.Errorf("%s: err = %v, want unavailable (injected)", name, err)
			}
		}
		wantStock(t, healthy, "mug", 8, 2)
		for _, id := range []string{"o-1", "o-2", "o-3"} {
			if _, err := healthy.Reservation(ctx, id); !errs.Is(err, errs.NotFound) {
				t.Errorf("order %s: err = %v, want no record", id, err)
			}
		}
		if r, err := healthy.Reservation(ctx, "held"); err != nil || r.Status != inventory.Reserved {
			t.Errorf("order held: %+v, %v; want still reserved", r, err)
		}
	})
}

func TestReserve_ReplyLostAfterCommit_EffectIsDurableAndRetryReturnsIt(t *testing.T) {
	t.Parallel()
	sqlDBs(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		healthy := inventory.New(db, nil, testTime)
		setProduct(t, healthy, "mug", 100, 10)
		lossy := inventory.New(db, failing(t, 0.5, seedFailingSecond(t)), testTime)

		_, err := lossy.Reserve(ctx, "o-1", []domain.Item{item("mug", 3)})

		if !errs.Is(err, errs.Unavailable) {
			t.Fatalf("err = %v, want unavailable", err)
		}
		wantStock(t, healthy, "mug", 7, 3)
		if r := reserve(t, healthy, "o-1", item("mug", 3)); r.Status != inventory.Reserved {
			t.Fatalf("retry = %+v, want the recorded reservation", r)
		}
		wantStock(t, healthy, "mug", 7, 3)
	})
}

func TestSagaOperations_RetriedThroughHalfFailingCalls_TakeEffectOnce(t *testing.T) {
	t.Parallel()
	sqlDBs(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		healthy := inventory.New(db, nil, testTime)
		setProduct(t, healthy, "mug", 100, 100)
		flaky := inventory.New(db, failing(t, 0.5, 42), testTime)
		failures := 0
		retry := func(what string, call func() (inventory.Reservation, error)) inventory.Reservation {
			t.Helper()
			for range 100 {
				r, err := call()
				if err == nil {
					return r
				}
				if !errs.Is(err, errs.Unavailable) {
					t.Fatalf("%s: %v", what, err)
				}
				failures++
			}
			t.Fatalf("%s: still failing after 100 attempts", what)
			return inventory.Reservation{}
		}

		const orders = 12
		for i := range orders {
			id := fmt.Sprintf("o-%d", i)
			r := retry("reserve "+id, func() (inventory.Reservation, error) {
				return flaky.Reserve(ctx, id, []domain.Item{item("mug", 1)})
			})
			if r.Status != inventory.Reserved {
				t.Fatalf("reserve %s = %+v, want reserved", id, r)
			}
		}
		wantStock(t, healthy, "mug", 100-orders, orders)
		for i := range orders {
			id := fmt.Sprintf("o-%d", i)
			if i%2 == 0 {
				retry("release "+id, func() (inventory.Reservation, error) { return flaky.Release(ctx, id) })
			} else {
				retry("commit "+id, func() (inventory.Reservation, error) { return flaky.Commit(ctx, id) })
			}
		}

		if failures == 0 {
			t.Fatal("no call failed: the injector injected nothing")
		}
		wantStock(t, healthy, "mug", 100-orders/2, 0)
	})
}

// sqlDBs runs fn on a fresh migrated database of each engine.
func sqlDBs(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	eachDB(t, nil, func(t *testing.T, db *sqldb.DB, _ *inventory.Service) { fn(t, db) })
}
