package sagametrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// Tx is the transaction a run takes part in: its observation waits for the
// commit. *sqldb.Tx is one.
type Tx interface {
	AfterCommit(fn func())
}

// Steps times the runs of the saga steps' actions and compensations in the
// services that own them (ordersaga_saga_step_duration_seconds). A nil
// *Steps times nothing, so a service without metrics needs no check.
type Steps struct {
	duration *prometheus.HistogramVec
}

// observe records one run: at once for a failed run, whose transaction
// rolls back, else once tx commits (never when it rolls back).
func (s *Steps) observe(tx Tx, step domain.StepName, a Action, o Outcome, d time.Duration) {
	if s == nil {
		return
	}
	h := s.duration.WithLabelValues(string(step), string(a), string(o))
	if o == OutcomeError || tx == nil {
		h.Observe(d.Seconds())
		return
	}
	tx.AfterCommit(func() { h.Observe(d.Seconds()) })
}

// ActionOutcome is the outcome of a step's action that returned err, with
// business the action's business result as an error (nil when it took
// effect, wrapping domain.ErrCompensated when its compensation ran first,
// any other error for a refusal). business is read only when err is nil.
func ActionOutcome(err error, business func() error) Outcome {
	if err != nil {
		return OutcomeError
	}
	switch berr := business(); {
	case berr == nil:
		return OutcomeDone
	case errors.Is(berr, domain.ErrCompensated):
		return OutcomeLate
	default:
		return OutcomeRefused
	}
}

// CompensationOutcome is the outcome of a step's compensation that returned
// err; undone says whether it undid an effect (read only when err is nil).
func CompensationOutcome(err error, undone func() bool) Outcome {
	switch {
	case err != nil:
		return OutcomeError
	case undone():
		return OutcomeUndone
	default:
		return OutcomeNothing
	}
}

// Result is what a step's action returns: a record whose Err is its
// business outcome (inventory.Reservation, payment.Payment,
// shipping.Shipment).
type Result interface {
	Err() error
}

// TimeAction runs fn, the action of step inside tx, and times it.
func TimeAction[R Result](s *Steps, tx Tx, step domain.StepName, fn func() (R, error)) (R, error) {
	if s == nil {
		return fn()
	}
	start := time.Now()
	r, err := fn()
	s.observe(tx, step, Do, ActionOutcome(err, r.Err), time.Since(start))
	return r, err
}

// TimeCompensation runs fn, the compensation of step inside tx, and times
// it; undone says whether the record fn returned shows an effect undone.
func TimeCompensation[R any](s *Steps, tx Tx, step domain.StepName, undone func(R) bool, fn func() (R, error)) (R, error) {
	if s == nil {
		return fn()
	}
	start := time.Now()
	r, err := fn()
	s.observe(tx, step, Undo, CompensationOutcome(err, func() bool { return undone(r) }), time.Since(start))
	return r, err
}
