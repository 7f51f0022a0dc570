package sagametrics_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/sagametrics"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// newMetrics returns the metrics of variant "test" on a registry of their
// own, with a clock that reads at.
func newMetrics(t *testing.T, at time.Time) (*sagametrics.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := sagametrics.New(reg, "test", func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// sample returns the value of a counter, or the sample count and sum of a
// histogram, of the series of name with exactly the given labels besides
// variant; zeros when there is no such series.
func sample(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (value float64, count uint64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels)+1 {
				continue
			}
			for _, lp := range m.GetLabel() {
				want, ok := labels[lp.GetName()]
				if lp.GetName() == "variant" {
					want, ok = "test", true
				}
				if !ok || lp.GetValue() != want {
					continue series
				}
			}
			if h := m.GetHistogram(); h != nil {
				return h.GetSampleSum(), h.GetSampleCount()
			}
			return m.GetCounter().GetValue(), 0
		}
	}
	return 0, 0
}

// state returns an order's state with the given status and step statuses
// (inventory, payment, shipping), created at t0.
func state(status domain.Status, reason domain.FailureReason, steps ...domain.StepStatus) domain.OrderState {
	s := domain.OrderState{OrderID: "o-1", Status: status, FailureReason: reason, CreatedAt: t0}
	for i, name := range []domain.StepName{domain.StepInventory, domain.StepPayment, domain.StepShipping} {
		s.Steps = append(s.Steps, domain.StepState{Step: name, Status: steps[i]})
	}
	return s
}

const (
	pending     = domain.StepPending
	done        = domain.StepDone
	failed      = domain.StepFailed
	compensated = domain.StepCompensated
	skipped     = domain.StepSkipped
)

func TestOrderChanged_TurnsFinal_CountsStatusReasonAndDuration(t *testing.T) {
	m, reg := newMetrics(t, t0.Add(1500*time.Millisecond))
	m.OrderChanged(state(domain.StatusPending, "", done, done, pending), state(domain.StatusCompleted, "", done, done, done))
	m.OrderChanged(state(domain.StatusPending, "", compensated, done, failed),
		state(domain.StatusFailed, domain.ReasonShippingUnavailable, compensated, compensated, failed))

	if v, _ := sample(t, reg, "ordersaga_orders_final_total", map[string]string{"status": "completed", "reason": "none"}); v != 1 {
		t.Errorf("completed orders = %v, want 1", v)
	}
	if v, _ := sample(t, reg, "ordersaga_orders_final_total", map[string]string{"status": "failed", "reason": "shipping_unavailable"}); v != 1 {
		t.Errorf("failed orders = %v, want 1", v)
	}
	for _, status := range []string{"completed", "failed"} {
		sum, n := sample(t, reg, "ordersaga_saga_duration_seconds", map[string]string{"status": status})
		if n != 1 || sum != 1.5 {
			t.Errorf("%s saga durations: %d observed, sum %v; want 1 of 1.5 s", status, n, sum)
		}
	}
	// The failed order's payment turned compensated with it; its
	// inventory step was compensated before.
	if v, _ := sample(t, reg, "ordersaga_saga_compensations_total", map[string]string{"step": "payment"}); v != 1 {
		t.Errorf("payment compensations = %v, want 1", v)
	}
	if v, _ := sample(t, reg, "ordersaga_saga_compensations_total", map[string]string{"step": "inventory"}); v != 0 {
		t.Errorf("inventory compensations = %v, want 0 (it was compensated before this change)", v)
	}
}

func TestOrderChanged_FinalOrderChangesAgain_NotCountedAgain(t *testing.T) {
	m, reg := newMetrics(t, t0)
	final := state(domain.StatusFailed, domain.ReasonPaymentDeclined, done, failed, skipped)
	m.OrderChanged(state(domain.StatusPending, "", done, pending, pending), final)
	// A compensation that finishes after the order failed.
	m.OrderChanged(final, state(domain.StatusFailed, domain.ReasonPaymentDeclined, compensated, failed, skipped))

	if v, _ := sample(t, reg, "ordersaga_orders_final_total", map[string]string{"status": "failed", "reason": "payment_declined"}); v != 1 {
		t.Errorf("failed orders = %v, want 1", v)
	}
	if _, n := sample(t, reg, "ordersaga_saga_duration_seconds", map[string]string{"status": "failed"}); n != 1 {
		t.Errorf("saga durations observed = %d, want 1", n)
	}
	if v, _ := sample(t, reg, "ordersaga_saga_compensations_total", map[string]string{"step": "inventory"}); v != 1 {
		t.Errorf("inventory compensations = %v, want 1", v)
	}
}

func TestOrderChanged_ClockBeforeCreation_ObservesZero(t *testing.T) {
	m, reg := newMetrics(t, t0.Add(-time.Hour))
	m.OrderChanged(state(domain.StatusPending, "", pending, pending, pending),
		state(domain.StatusCancelled, domain.ReasonCancelled, skipped, skipped, skipped))
	if sum, n := sample(t, reg, "ordersaga_saga_duration_seconds", map[string]string{"status": "cancelled"}); n != 1 || sum != 0 {
		t.Errorf("cancelled saga durations: %d observed, sum %v; want 1 of 0 s", n, sum)
	}
}

// fakeTx collects what runs after its commit.
type fakeTx struct{ after []func() }

func (tx *fakeTx) AfterCommit(fn func()) { tx.after = append(tx.after, fn) }

func (tx *fakeTx) commit() {
	for _, f := range tx.after {
		f()
	}
}

// result is a step action's record.
type result struct{ err error }

func (r result) Err() error { return r.err }

func TestTimeAction_ObservedOnCommitWithTheOutcome(t *testing.T) {
	m, reg := newMetrics(t, t0)
	steps := m.Steps()
	refusal := fmt.Errorf("charging: %w", domain.ErrPaymentDeclined)
	late := fmt.Errorf("charging: %w", domain.ErrCompensated)
	fault := errors.New("database gone")

	tx := &fakeTx{}
	for _, r := range []struct {
		res result
		err error
	}{{result{}, nil}, {result{refusal}, nil}, {result{late}, nil}, {result{}, fault}} {
		got, err := sagametrics.TimeAction(steps, tx, domain.StepPayment, func() (result, error) { return r.res, r.err })
		if got != r.res || err != r.err {
			t.Fatalf("TimeAction returned %v, %v; want %v, %v", got, err, r.res, r.err)
		}
	}
	labels := func(outcome sagametrics.Outcome) map[string]string {
		return map[string]string{"step": "payment", "action": "do", "outcome": string(outcome)}
	}
	// A failed run is observed at once; the others wait for the commit.
	if _, n := sample(t, reg, "ordersaga_saga_step_duration_seconds", labels(sagametrics.OutcomeError)); n != 1 {
		t.Errorf("failed runs observed before the commit = %d, want 1", n)
	}
	if _, n := sample(t, reg, "ordersaga_saga_step_duration_seconds", labels(sagametrics.OutcomeDone)); n != 0 {
		t.Errorf("runs observed before the commit = %d, want 0", n)
	}
	tx.commit()
	for _, o := range []sagametrics.Outcome{sagametrics.OutcomeDone, sagametrics.OutcomeRefused, sagametrics.OutcomeLate, sagametrics.OutcomeError} {
		if _, n := sample(t, reg, "ordersaga_saga_step_duration_seconds", labels(o)); n != 1 {
			t.Errorf("runs with outcome %s = %d, want 1", o, n)
		}
	}
}

func TestTimeCompensation_UndoneOrNothing(t *testing.T) {
	m, reg := newMetrics(t, t0)
	tx := &fakeTx{}
	undid := func(r bool) bool { return r }
	for _, r := range []bool{true, false, false} {
		if _, err := sagametrics.TimeCompensation(m.Steps(), tx, domain.StepInventory, undid, func() (bool, error) { return r, nil }); err != nil {
			t.Fatal(err)
		}
	}
	tx.commit()
	for o, want := range map[sagametrics.Outcome]uint64{sagametrics.OutcomeUndone: 1, sagametrics.OutcomeNothing: 2} {
		if _, n := sample(t, reg, "ordersaga_saga_step_duration_seconds",
			map[string]string{"step": "inventory", "action": "undo", "outcome": string(o)}); n != want {
			t.Errorf("compensations with outcome %s = %d, want %d", o, n, want)
		}
	}
}

func TestTimeAction_NoMetrics_RunsTheAction(t *testing.T) {
	ran := false
	_, err := sagametrics.TimeAction((*sagametrics.Steps)(nil), &fakeTx{}, domain.StepShipping, func() (result, error) {
		ran = true
		return result{}, nil
	})
	if err != nil || !ran {
		t.Fatalf("ran %v, err %v", ran, err)
	}
	var m *sagametrics.Metrics
	m.OrderChanged(domain.OrderState{}, domain.OrderState{Status: domain.StatusCompleted}) // no panic
	if m.Steps() != nil {
		t.Fatal("nil metrics returned a step timer")
	}
}

func TestNew_SameVariantTwiceOnOneRegistry_SharesTheMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := sagametrics.New(reg, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sagametrics.New(reg, "test", nil)
	if err != nil {
		t.Fatalf("second New: %v", err)
	}
	other, err := sagametrics.New(reg, "other", nil)
	if err != nil {
		t.Fatalf("New of another variant: %v", err)
	}
	final := state(domain.StatusCompleted, "", done, done, done)
	a.OrderChanged(state(domain.StatusPending, "", done, done, done), final)
	b.OrderChanged(state(domain.StatusPending, "", done, done, done), final)
	other.OrderChanged(state(domain.StatusPending, "", done, done, done), final)
	if v, _ := sample(t, reg, "ordersaga_orders_final_total", map[string]string{"status": "completed", "reason": "none"}); v != 2 {
		t.Fatalf("completed orders of variant test = %v, want 2", v)
	}
}

func TestNew_ClashingMetric_Error(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "ordersaga_orders_final_total", Help: "something else"}))
	if _, err := sagametrics.New(reg, "test", nil); err == nil {
		t.Fatal("New registered over a clashing metric")
	}
	if _, err := sagametrics.New(prometheus.NewRegistry(), "", nil); err == nil {
		t.Fatal("New accepted no variant")
	}
}
