package orders_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/sagametrics"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// observe makes store report to the saga metrics of a registry of their
// own, on a clock 2 s after t0 as stored (to the microsecond), and returns
// the registry.
func observe(t *testing.T, store *orders.Store) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := sagametrics.New(reg, "test", func() time.Time { return t0.Truncate(time.Microsecond).Add(2 * time.Second) })
	if err != nil {
		t.Fatal(err)
	}
	store.SetObserver(m)
	return reg
}

// finals returns ordersaga_orders_final_total of the status and reason,
// and how many saga durations of the status were observed.
func finals(t *testing.T, reg *prometheus.Registry, status domain.Status, reason string) (float64, uint64) {
	t.Helper()
	n := metricValue(t, reg, "ordersaga_orders_final_total", map[string]string{"status": string(status), "reason": reason})
	var durations uint64
	for _, mf := range gather(t, reg) {
		if mf.GetName() != "ordersaga_saga_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m.GetLabel(), map[string]string{"status": string(status)}) {
				durations += m.GetHistogram().GetSampleCount()
			}
		}
	}
	return n, durations
}

// compensations returns ordersaga_saga_compensations_total of a step.
func compensations(t *testing.T, reg *prometheus.Registry, step domain.StepName) float64 {
	t.Helper()
	return metricValue(t, reg, "ordersaga_saga_compensations_total", map[string]string{"step": string(step)})
}

func TestObserver_OrderTurnsFinal_CountedOnceHoweverOftenTheUpdateRepeats(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		reg := observe(t, store)
		create(t, store, "o-1", t0)
		markDone := func(o *domain.Order) error { return o.MarkStep(domain.StepInventory, domain.StepDone, t0) }
		fail := func(o *domain.Order) error {
			if err := o.MarkStep(domain.StepPayment, domain.StepFailed, t0); err != nil {
				return err
			}
			return o.Fail(domain.ReasonPaymentDeclined, t0)
		}
		update(t, store, "o-1", markDone)
		if n, d := finals(t, reg, domain.StatusFailed, "payment_declined"); n != 0 || d != 0 {
			t.Fatalf("before the order failed: %v final, %d durations", n, d)
		}
		update(t, store, "o-1", fail)
		// The same change again (a redelivered event, a replayed
		// activity) leaves the order as it is.
		update(t, store, "o-1", fail)
		update(t, store, "o-1", markDone)
		if n, d := finals(t, reg, domain.StatusFailed, "payment_declined"); n != 1 || d != 1 {
			t.Fatalf("failed orders = %v with %d saga durations, want 1 and 1", n, d)
		}
		if sum := metricValue(t, reg, "ordersaga_saga_duration_seconds", map[string]string{"status": "failed"}); sum != 2 {
			t.Fatalf("saga duration = %v s, want 2 (from creation at t0 to the commit)", sum)
		}

		// The compensation finishes after the order failed: counted once,
		// and the order is not counted final again.
		compensate := func(o *domain.Order) error { return o.MarkStep(domain.StepInventory, domain.StepCompensated, t0) }
		update(t, store, "o-1", compensate)
		update(t, store, "o-1", compensate)
		if c := compensations(t, reg, domain.StepInventory); c != 1 {
			t.Fatalf("inventory compensations = %v, want 1", c)
		}
		if n, _ := finals(t, reg, domain.StatusFailed, "payment_declined"); n != 1 {
			t.Fatalf("failed orders = %v after a later change, want 1", n)
		}
	})
}

func TestObserver_RolledBackUpdate_NotCounted(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		reg := observe(t, store)
		create(t, store, "o-1", t0)
		boom := errors.New("a later step of the transaction failed")
		err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
			if _, err := store.UpdateTx(context.Background(), tx, "o-1", func(o *domain.Order) error {
				return o.Cancel(t0)
			}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want the failure", err)
		}
		if got := get(t, store, "o-1").Status(); got != domain.StatusPending {
			t.Fatalf("order is %s after the rollback", got)
		}
		if n, d := finals(t, reg, domain.StatusCancelled, "cancelled"); n != 0 || d != 0 {
			t.Fatalf("a rolled-back cancel counted: %v final, %d durations", n, d)
		}

		// The transaction run again commits: counted then.
		update(t, store, "o-1", func(o *domain.Order) error { return o.Cancel(t0) })
		if n, d := finals(t, reg, domain.StatusCancelled, "cancelled"); n != 1 || d != 1 {
			t.Fatalf("cancelled orders = %v with %d durations, want 1 and 1", n, d)
		}
	})
}

func TestObserver_SeveralUpdatesInOneTransaction_CountedAfterTheCommit(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		reg := observe(t, store)
		create(t, store, "o-1", t0)
		ctx := context.Background()
		// As a consumer applies a batch holding two events of one order.
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			for _, fn := range []func(*domain.Order) error{
				func(o *domain.Order) error { return o.MarkStep(domain.StepInventory, domain.StepDone, t0) },
				func(o *domain.Order) error { return o.MarkStep(domain.StepPayment, domain.StepDone, t0) },
				func(o *domain.Order) error { return o.MarkStep(domain.StepShipping, domain.StepDone, t0) },
				func(o *domain.Order) error { return completeWith(o, "OSTRACKING0001", t0) },
				func(o *domain.Order) error { return completeWith(o, "OSTRACKING0001", t0) },
			} {
				if _, err := store.UpdateTx(ctx, tx, "o-1", fn); err != nil {
					return err
				}
			}
			if n, _ := finals(t, reg, domain.StatusCompleted, "none"); n != 0 {
				t.Errorf("counted before the commit: %v", n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n, d := finals(t, reg, domain.StatusCompleted, "none"); n != 1 || d != 1 {
			t.Fatalf("completed orders = %v with %d durations, want 1 and 1", n, d)
		}
	})
}

func TestObserver_ConcurrentUpdatesToFinal_CountedOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		reg := observe(t, store)
		create(t, store, "o-1", t0)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				if _, err := store.Update(context.Background(), "o-1", func(o *domain.Order) error {
					return o.Fail(domain.ReasonOutOfStock, t0)
				}); err != nil {
					t.Errorf("update %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if n, d := finals(t, reg, domain.StatusFailed, "out_of_stock"); n != 1 || d != 1 {
			t.Fatalf("failed orders = %v with %d durations, want 1 and 1", n, d)
		}
	})
}

func gather(t *testing.T, reg *prometheus.Registry) []*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// hasLabels reports whether the series has every label given (and maybe
// others).
func hasLabels(lps []*dto.LabelPair, labels map[string]string) bool {
	found := 0
	for _, lp := range lps {
		if v, ok := labels[lp.GetName()]; ok {
			if lp.GetValue() != v {
				return false
			}
			found++
		}
	}
	return found == len(labels)
}

// metricValue sums the counters (or the histograms' sample sums) of the
// series of name with the labels.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	var sum float64
	for _, mf := range gather(t, reg) {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !hasLabels(m.GetLabel(), labels) {
				continue
			}
			if h := m.GetHistogram(); h != nil {
				sum += h.GetSampleSum()
			} else {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
