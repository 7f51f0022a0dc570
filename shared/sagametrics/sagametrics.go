// Package sagametrics holds the Prometheus metrics of the order saga that
// mean the same in both variants, recorded in shared code that every order
// of either variant goes through:
//
//   - ordersaga_orders_final_total{variant,status,reason}: orders that
//     reached a final status (completed, failed, cancelled), by the reason
//     the order gives ("none" for a completed order). Counted by the order
//     store (package orders) when the change that made the order final
//     commits, so once per order however often a write is retried or an
//     event is delivered.
//   - ordersaga_saga_duration_seconds{variant,status}: from the order's
//     creation to the commit of its final status, as the client sees it.
//     Observed once per order, with the count above.
//   - ordersaga_saga_compensations_total{variant,step}: steps whose effect
//     was undone, counted by the order store when a step of an order turns
//     compensated, once per order and step.
//   - ordersaga_saga_step_duration_seconds{variant,step,action,outcome}: how
//     long the service owning a step (shared/inventory, shared/payment,
//     shared/shipping) took to run the step's action (action "do") or its
//     compensation ("undo") inside its database transaction, the commit
//     excluded. Both variants run the same code there: the orchestrated
//     variant from an activity, in a transaction of its own; the
//     choreographed variant from a reaction, in its consumer's transaction.
//     A run is observed once its transaction committed; a run that failed
//     (outcome "error", rolled back) at once. A repeated run that commits
//     (an activity retried after its reply was lost; the choreographed
//     inbox keeps redelivered events from running again) is observed
//     again: it is work the service did, and it reports the outcome the
//     first run recorded. The completion (inventory's commit) is not a
//     step and is not timed.
//
// Outcomes of "do": done (the action took effect), refused (a business
// refusal: out of stock, payment declined, shipping unavailable), late (the
// step's compensation had run first, so the action did nothing), error.
// Outcomes of "undo": undone (the effect was undone), nothing (nothing to
// undo: the action never ran, and a tombstone now stops it, or it had
// refused), error.
//
// Dead letters exist only in the choreographed variant
// (ordersaga_dead_letters_total, package choreographed/consumer). The
// orchestrated variant's equivalent is an activity that keeps failing: it
// is retried until the action gives up, and the order then fails with the
// reason step_unavailable, counted here as any other failure.
//
// The package imports Prometheus and the shared domain only; the variant is
// a constant label, so both variants' metrics can share one registry.
package sagametrics

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// Action says whether a run is a step's action or its compensation.
type Action string

// Actions.
const (
	Do   Action = "do"
	Undo Action = "undo"
)

// Outcome is what a run of a step's action or compensation found.
type Outcome string

// Outcomes; see the package documentation.
const (
	OutcomeDone    Outcome = "done"
	OutcomeRefused Outcome = "refused"
	OutcomeLate    Outcome = "late"
	OutcomeUndone  Outcome = "undone"
	OutcomeNothing Outcome = "nothing"
	OutcomeError   Outcome = "error"
)

// ReasonNone is the reason label of a completed order.
const ReasonNone = "none"

// Metrics are the saga metrics of one variant. It implements the order
// store's observer (orders.Observer); Steps times the services' runs. It is
// safe for concurrent use.
type Metrics struct {
	now           func() time.Time
	ordersFinal   *prometheus.CounterVec
	sagaDuration  *prometheus.HistogramVec
	compensations *prometheus.CounterVec
	steps         *Steps
}

// New registers the saga metrics of variant with reg and returns them. now
// is the clock the orders' creation times come from (time.Now when nil).
// When reg already holds the metrics of this variant, they are shared.
func New(reg prometheus.Registerer, variant string, now func() time.Time) (*Metrics, error) {
	if variant == "" {
		return nil, errors.New("saga metrics: no variant")
	}
	if now == nil {
		now = time.Now
	}
	constLabels := prometheus.Labels{"variant": variant}
	m := &Metrics{
		now: now,
		ordersFinal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ordersaga", Subsystem: "orders", Name: "final_total",
			Help:        "Orders that reached a final status, by status and reason (none when completed); once per order.",
			ConstLabels: constLabels,
		}, []string{"status", "reason"}),
		sagaDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "ordersaga", Subsystem: "saga", Name: "duration_seconds",
			Help:        "Time from an order's creation to the commit of its final status, by that status.",
			ConstLabels: constLabels,
			Buckets:     []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"status"}),
		compensations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ordersaga", Subsystem: "saga", Name: "compensations_total",
			Help:        "Steps of orders whose effect was undone, by step; once per order and step.",
			ConstLabels: constLabels,
		}, []string{"step"}),
	}
	stepDuration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "ordersaga", Subsystem: "saga", Name: "step_duration_seconds",
		Help:        "Time the owning service took to run a step's action (do) or compensation (undo) in its transaction, by outcome.",
		ConstLabels: constLabels,
		Buckets:     []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"step", "action", "outcome"})
	var err error
	if m.ordersFinal, err = register(reg, m.ordersFinal); err != nil {
		return nil, err
	}
	if m.sagaDuration, err = register(reg, m.sagaDuration); err != nil {
		return nil, err
	}
	if m.compensations, err = register(reg, m.compensations); err != nil {
		return nil, err
	}
	if stepDuration, err = register(reg, stepDuration); err != nil {
		return nil, err
	}
	m.steps = &Steps{duration: stepDuration}
	return m, nil
}

// register registers c with reg, or returns the collector reg already holds
// under the same description.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("registering saga metrics: %w", err)
}

// Steps returns the timer of the services' runs; nil on nil Metrics.
func (m *Metrics) Steps() *Steps {
	if m == nil {
		return nil
	}
	return m.steps
}

// OrderChanged records what a committed change of an order says about its
// saga: the order turned final, a step turned compensated. The order store
// calls it once per committed change (see orders.Observer), so a change
// that a retried or repeated write makes again is never counted twice.
func (m *Metrics) OrderChanged(before, after domain.OrderState) {
	if m == nil {
		return
	}
	if !before.Status.Final() && after.Status.Final() {
		reason := string(after.FailureReason)
		if reason == "" {
			reason = ReasonNone
		}
		m.ordersFinal.WithLabelValues(string(after.Status), reason).Inc()
		d := max(m.now().Sub(after.CreatedAt), 0)
		m.sagaDuration.WithLabelValues(string(after.Status)).Observe(d.Seconds())
	}
	for _, st := range after.Steps {
		if st.Status == domain.StepCompensated && stepStatus(before, st.Step) != domain.StepCompensated {
			m.compensations.WithLabelValues(string(st.Step)).Inc()
		}
	}
}

// stepStatus returns the status of a step of an order ("" when unknown).
func stepStatus(s domain.OrderState, step domain.StepName) domain.StepStatus {
	for _, st := range s.Steps {
		if st.Step == step {
			return st.Status
		}
	}
	return ""
}

// RegisterRetrying registers with reg the gauge
// ordersaga_orders_retrying{variant}: pending orders with a step whose work
// keeps failing with faults and is being retried (the failure model's
// "visible while it lasts"), read from count at each scrape. Alert when it
// stays above 0. When reg already holds the variant's gauge, that one is
// kept.
func RegisterRetrying(reg prometheus.Registerer, variant string, count func() int64) error {
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "ordersaga_orders_retrying",
		Help:        "Pending orders with a step whose action, compensation or completion keeps failing with faults and is being retried.",
		ConstLabels: prometheus.Labels{"variant": variant},
	}, func() float64 { return float64(count()) })
	if err := reg.Register(g); err != nil {
		if _, already := errors.AsType[prometheus.AlreadyRegisteredError](err); already {
			return nil
		}
		return fmt.Errorf("registering ordersaga_orders_retrying: %w", err)
	}
	return nil
}
