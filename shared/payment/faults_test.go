package payment_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

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
	eachDB(t, func(t *testing.T, db *sqldb.DB, healthy *payment.Service) {
		ctx := context.Background()
		setCustomer(t, healthy, "c-1", 1000)
		charge(t, healthy, "charged", "c-1", 300)
		broken := payment.New(db, failing(t, 1, 1), testTime)

		calls := map[string]func() error{
			"charge": func() error { _, err := broken.Charge(ctx, "o-1", "c-1", 100); return err },
			"refund": func() error { _, err := broken.Refund(ctx, "charged"); return err },
			"chargeTx": func() error {
				return db.InTx(ctx, func(tx *sqldb.Tx) error {
					_, err := broken.ChargeTx(ctx, tx, "o-2", "c-1", 100)
					return err
				})
			},
			"refundTx": func() error {
				return db.InTx(ctx, func(tx *sqldb.Tx) error {
					_, err := broken.RefundTx(ctx, tx, "o-3")
					return err
				})
			},
		}
		for name, call := range calls {
			if err := call(); !errs.Is(err, errs.Unavailable) || !errors.Is(err, faults.ErrInjected) {
				t.Errorf("%s: err = %v, want unavailable (injected)", name, err)
			}
		}
		wantCredit(t, healthy, "c-1", 700)
		for _, id := range []string{"o-1", "o-2", "o-3"} {
			if _, err := healthy.Payment(ctx, id); !errs.Is(err, errs.NotFound) {
				t.Errorf("order %s: err = %v, want no record", id, err)
			}
		}
		if p, err := healthy.Payment(ctx, "charged"); err != nil || p.Status != payment.Charged {
			t.Errorf("order charged: %+v, %v; want still charged", p, err)
		}
	})
}

func TestCharge_ReplyLostAfterCommit_EffectIsDurableAndRetryReturnsIt(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *sqldb.DB, healthy *payment.Service) {
		ctx := context.Background()
		setCustomer(t, healthy, "c-1", 1000)
		lossy := payment.New(db, failing(t, 0.5, seedFailingSecond(t)), testTime)

		_, err := lossy.Charge(ctx, "o-1", "c-1", 300)

		if !errs.Is(err, errs.Unavailable) {
			t.Fatalf("err = %v, want unavailable", err)
		}
		wantCredit(t, healthy, "c-1", 700)
		if p := charge(t, healthy, "o-1", "c-1", 300); p.Status != payment.Charged {
			t.Fatalf("retry = %+v, want the recorded charge", p)
		}
		wantCredit(t, healthy, "c-1", 700)
	})
}

func TestSagaOperations_RetriedThroughHalfFailingCalls_TakeEffectOnce(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *sqldb.DB, healthy *payment.Service) {
		ctx := context.Background()
		setCustomer(t, healthy, "c-1", 10000)
		flaky := payment.New(db, failing(t, 0.5, 42), testTime)
		failures := 0
		retry := func(what string, call func() (payment.Payment, error)) payment.Payment {
			t.Helper()
			for range 100 {
				p, err := call()
				if err == nil {
					return p
				}
				if !errs.Is(err, errs.Unavailable) {
					t.Fatalf("%s: %v", what, err)
				}
				failures++
			}
			t.Fatalf("%s: still failing after 100 attempts", what)
			return payment.Payment{}
		}

		const orders = 12
		for i := range orders {
			id := fmt.Sprintf("o-%d", i)
			p := retry("charge "+id, func() (payment.Payment, error) { return flaky.Charge(ctx, id, "c-1", 100) })
			if p.Status != payment.Charged {
				t.Fatalf("charge %s = %+v, want charged", id, p)
			}
		}
		wantCredit(t, healthy, "c-1", 10000-orders*100)
		for i := 0; i < orders; i += 2 {
			id := fmt.Sprintf("o-%d", i)
			retry("refund "+id, func() (payment.Payment, error) { return flaky.Refund(ctx, id) })
		}

		if failures == 0 {
			t.Fatal("no call failed: the injector injected nothing")
		}
		wantCredit(t, healthy, "c-1", 10000-orders/2*100)
	})
}
