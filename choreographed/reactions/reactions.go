// Package reactions is how the service of a saga step takes part in the
// choreography: which events start its action, its compensation and its
// completion, and which events it emits. It is the same for every step:
// the event table (events.Table) derived from the saga says which event is
// which, and the step's service (participant.Participant) does the work
// inside the consumer's transaction, next to its inbox and outbox writes.
//
//	trigger (OrderPlaced, or the previous step's done)  → ActTx  → done | refused (| nothing after a tombstone)
//	next step's refused or undone (last step: OrderCancelRequested) → UndoTx → undone
//	OrderCompleted (steps with a completion only)       → CompleteTx → completed
//
// For the default saga this gives OrderPlaced → InventoryReserved →
// PaymentCompleted → ShipmentCreated, and the compensation chains
// ShipmentFailed → PaymentRefunded → InventoryReleased and
// OrderCancelRequested → ShipmentCancelled → PaymentRefunded →
// InventoryReleased. An action that finds a tombstone (its compensation ran
// first, in the cancel chain) emits nothing: the late action is a no-op.
package reactions

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/outbox"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/participant"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Step is the event handlers of one step's service.
type Step struct {
	table *events.Table
	step  saga.Step
	types events.StepTypes
	p     participant.Participant
	emit  outbox.Emitter
}

// New returns the reactions of participant p, on the saga of table t,
// emitting through emit (the outbox of p's database).
func New(t *events.Table, p participant.Participant, emit outbox.Emitter) (*Step, error) {
	step, ok := t.Saga().Step(p.Step())
	if !ok {
		return nil, fmt.Errorf("reactions: the saga has no step %s", p.Step())
	}
	return &Step{table: t, step: step, types: events.TypesOf(step), p: p, emit: emit}, nil
}

// Subscriptions returns the services whose topics the step's service
// reads: the producers of the events it reacts to.
func (r *Step) Subscriptions() []events.Service {
	var out []events.Service
	for t := range r.Routes() {
		if s, ok := r.table.Producer(t); ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// Routes returns the handler of each event type the service reacts to.
func (r *Step) Routes() consumer.Routes {
	routes := consumer.Routes{r.table.ActionTrigger(r.step.Name): r.act}
	for _, t := range r.table.UndoTriggers(r.step.Name) {
		routes[t] = r.undo
	}
	if r.step.Completion != "" {
		routes[events.OrderCompleted] = r.complete
	}
	return routes
}

// act runs the step's action on the order the trigger carries and emits
// the outcome. In give-up mode (consumer.GiveUp: the step's deadline
// passed, or the order's data is invalid) it runs the step's compensation
// instead, so a late action is a no-op, and refuses the step with the
// reason: the saga then compensates the steps before it.
func (r *Step) act(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	in, carried, err := r.inputOf(e)
	reason, giveUp := consumer.GiveUp(ctx)
	if err != nil && !giveUp {
		return err
	}
	if err != nil {
		// The trigger cannot be read: give the step up knowing only the
		// order, which is all the compensations before it need.
		in, carried = saga.Input{OrderID: e.OrderID}, events.StepEvent{}
	}
	pricing := carried.Pricing
	if giveUp {
		if _, err := r.p.UndoTx(ctx, tx, e.OrderID); err != nil {
			return fmt.Errorf("giving the %s step of order %s up: %w", r.step.Name, e.OrderID, err)
		}
		ev := events.Carrying(r.types.Refused, r.step.Name, in, pricing)
		ev.Reason = reason
		return r.emit.Emit(ctx, tx, e.OrderID, e, ev)
	}
	out, err := r.p.ActTx(ctx, tx, in)
	if reason, refused := domain.ReasonOf(err); refused {
		ev := events.Carrying(r.types.Refused, r.step.Name, in, pricing)
		ev.Reason = reason
		return r.emit.Emit(ctx, tx, e.OrderID, e, ev)
	}
	if errors.Is(err, domain.ErrCompensated) {
		return nil // the compensation ran first: the late action is a no-op
	}
	if err != nil {
		return fmt.Errorf("%s step of order %s: %w", r.step.Name, e.OrderID, err)
	}
	if len(out.Prices) > 0 {
		p := events.PricingOf(out.Prices, out.TotalCents)
		pricing = &p
	}
	ev := events.Carrying(r.types.Done, r.step.Name, out.Apply(in), pricing)
	ev.TrackingNumber = cmp.Or(out.TrackingNumber, carried.TrackingNumber)
	return r.emit.Emit(ctx, tx, e.OrderID, e, ev)
}

// inputOf returns the order a trigger carries: the placed order, or what
// the previous step's done event carries forward (returned too).
func (r *Step) inputOf(e *events.Envelope) (saga.Input, events.StepEvent, error) {
	if e.Type == events.OrderPlaced {
		p, err := events.As[events.OrderPlacedData](e)
		if err != nil {
			return saga.Input{}, events.StepEvent{}, err
		}
		return saga.Input{OrderID: e.OrderID, CustomerID: p.CustomerID, Items: events.DomainItems(p.Items), ShipTo: p.ShipTo.Domain()}, events.StepEvent{}, nil
	}
	ref, _ := r.table.Lookup(e.Type)
	p, err := events.AsStep(e, ref)
	if err != nil {
		return saga.Input{}, events.StepEvent{}, err
	}
	return p.Input(e.OrderID), p, nil
}

// undo compensates the step and emits what the compensation found, with
// the cause of the chain: the refusal's reason, or the cause the undone
// event or the cancel request carries.
func (r *Step) undo(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	cause := domain.ReasonCancelled
	if ref, ok := r.table.Lookup(e.Type); ok {
		p, err := events.AsStep(e, ref)
		if err != nil {
			return err
		}
		cause = p.Cause
		if ref.Kind == events.KindRefused {
			cause = p.Reason
		}
	} else if _, err := events.As[events.OrderCancelRequestedData](e); err != nil {
		return err
	}
	u, err := r.p.UndoTx(ctx, tx, e.OrderID)
	if err != nil {
		return fmt.Errorf("compensating the %s step of order %s: %w", r.step.Name, e.OrderID, err)
	}
	return r.emit.Emit(ctx, tx, e.OrderID, e, events.StepEvent{Type: r.types.Undone, Step: r.step.Name, Outcome: u, Cause: cause})
}

// complete runs the step's completion once the order completed.
func (r *Step) complete(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	if _, err := events.As[events.OrderCompletedData](e); err != nil {
		return err
	}
	if err := r.p.CompleteTx(ctx, tx, e.OrderID); err != nil {
		return fmt.Errorf("completing the %s step of order %s: %w", r.step.Name, e.OrderID, err)
	}
	return r.emit.Emit(ctx, tx, e.OrderID, e, events.StepEvent{Type: r.types.Completed, Step: r.step.Name})
}
