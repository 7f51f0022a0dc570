// Package participant is the contract between the saga's steps (package
// saga) and the services that carry them out, and the runners both
// variants use to call them.
//
// A participant is one service owning one step: its action, its
// compensation and its completion run in transactions of the service's own
// database. The orchestrated variant runs each in a transaction of its own
// (an activity: Act, Undo, Complete below); the choreographed variant runs
// them inside the consumer's transaction, next to its inbox and outbox
// writes (the participant's ActTx, UndoTx, CompleteTx).
package participant

import (
	"context"
	"errors"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Participant carries out one step of the saga against its own database.
type Participant interface {
	// Step names the step it carries out (and so the service).
	Step() domain.StepName
	// DB is the service's own database.
	DB() *sqldb.DB
	// Faults is the service's fault injector (nil for none): after the
	// commit of its own transaction a lost reply may be injected.
	Faults() *faults.Injector
	// ActTx runs the step's action for the order inside tx. A business
	// refusal returns an error for which domain.ReasonOf reports the
	// reason; an action that finds its compensation already ran returns
	// one wrapping domain.ErrCompensated. Both are outcomes the caller
	// commits (see Settled); any other error is a fault: roll back, retry.
	// A repeated call returns the recorded outcome.
	ActTx(ctx context.Context, tx *sqldb.Tx, in saga.Input) (saga.Outcome, error)
	// UndoTx runs the step's compensation inside tx. It is safe to repeat
	// and to run before, or without, the action; an error is a fault.
	UndoTx(ctx context.Context, tx *sqldb.Tx, orderID string) (saga.Undo, error)
	// CompleteTx runs the step's completion, once the order completed;
	// a step without one does nothing. An error is a fault.
	CompleteTx(ctx context.Context, tx *sqldb.Tx, orderID string) error
}

// Set is the participants one process hosts, by step.
type Set map[domain.StepName]Participant

// Settled reports whether err from ActTx is an outcome to commit (a refusal,
// or an action arriving after its compensation) rather than a fault.
func Settled(err error) bool {
	_, refused := domain.ReasonOf(err)
	return refused || errors.Is(err, domain.ErrCompensated)
}

// Act runs p's action in a transaction of its own (see ActTx for the
// errors). After the commit the service's fault injector may report the
// reply lost (sqldb.InOwnTx). An action that found the order's data
// invalid (errs.Invalid) is rolled back and returned as a refusal with
// domain.ReasonRejected: no retry can help (see Rejected).
func Act(ctx context.Context, p Participant, in saga.Input) (saga.Outcome, error) {
	type result struct {
		out     saga.Outcome
		outcome error // a refusal, or the compensation ran first
	}
	r, err := sqldb.InOwnTx(ctx, p.DB(), p.Faults(), string(p.Step())+" action", "order "+in.OrderID, func(tx *sqldb.Tx) (result, error) {
		out, err := p.ActTx(ctx, tx, in)
		if Settled(err) {
			return result{out: out, outcome: err}, nil
		}
		return result{out: out}, err
	})
	if err != nil {
		return saga.Outcome{}, Rejected(err)
	}
	return r.out, r.outcome
}

// Rejected returns err as a refusal with domain.ReasonRejected when it says
// the order's data is invalid (errs.Invalid), and err itself otherwise.
func Rejected(err error) error {
	if errs.CodeOf(err) != errs.Invalid {
		return err
	}
	return domain.Refuse(domain.ReasonRejected, err.Error())
}

// Undo runs p's compensation in a transaction of its own.
func Undo(ctx context.Context, p Participant, orderID string) (saga.Undo, error) {
	return sqldb.InOwnTx(ctx, p.DB(), p.Faults(), string(p.Step())+" compensation", "order "+orderID, func(tx *sqldb.Tx) (saga.Undo, error) {
		return p.UndoTx(ctx, tx, orderID)
	})
}

// Complete runs p's completion in a transaction of its own.
func Complete(ctx context.Context, p Participant, orderID string) error {
	_, err := sqldb.InOwnTx(ctx, p.DB(), p.Faults(), string(p.Step())+" completion", "order "+orderID, func(tx *sqldb.Tx) (struct{}, error) {
		return struct{}{}, p.CompleteTx(ctx, tx, orderID)
	})
	return err
}
