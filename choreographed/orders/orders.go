// Package orders is the order service's part of the choreography: it follows
// every step event of the saga (events.Table) and keeps each order's status
// and steps in the order store (../../shared/orders), and it decides when an
// order is final, emitting OrderCompleted, OrderFailed or OrderCancelled.
//
// Events of one order come from three topics, so they may arrive in any
// order. The service therefore only moves steps forward (pending → done or
// failed → compensated; pending → skipped → compensated) and ignores a move
// the order's aggregate refuses: an event that arrives after a later one
// adds nothing. Events that happen later in the saga imply the earlier steps
// (PaymentCompleted means inventory reserved) and carry what the order
// needs (the prices), so the order is right whatever arrives first.
//
// When an order is final:
//   - completed: once every step is done (the last step's done event),
//     unless the client asked to cancel (then the cancel chain undoes the
//     last step too);
//   - failed: once a step refused and every step before it is compensated
//     (or skipped), so stock and credit are restored when the client sees
//     the failure; the order fails with the reason the step gave;
//   - cancelled: when cancel was requested and every step is compensated,
//     skipped or failed: the cancel chain (shipping, then payment, then
//     inventory) has reached every step.
package orders

import (
	"context"
	"fmt"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/outbox"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Reactions are the order service's event handlers.
type Reactions struct {
	table    *events.Table
	store    *orders.Store
	emit     outbox.Emitter
	timeline *Timeline
}

// New returns the reactions that keep store up to date for the saga of
// table t, emitting through emit (the outbox of the order database), and
// recording each event they handle in tl (none when nil). For the timeline
// to hold the events the service emits too, emit is tl.Recording's.
func New(t *events.Table, store *orders.Store, emit outbox.Emitter, tl *Timeline) *Reactions {
	return &Reactions{table: t, store: store, emit: emit, timeline: tl}
}

// Subscriptions returns the services whose topics the order service reads:
// every step's.
func (r *Reactions) Subscriptions() []events.Service {
	var out []events.Service
	for _, name := range r.table.Saga().Names() {
		out = append(out, events.ServiceOf(name))
	}
	return out
}

// Routes returns the handler of each event type the service follows: each
// step's done, refused and undone events.
func (r *Reactions) Routes() consumer.Routes {
	routes := consumer.Routes{}
	for _, s := range r.table.Saga().Steps() {
		ts := events.TypesOf(s)
		for _, t := range []events.Type{ts.Done, ts.Refused, ts.Undone} {
			routes[t] = r.apply
		}
	}
	return routes
}

// change is what a step event tells the order service.
type change struct {
	marks        []mark // step moves, earlier steps first
	refused      domain.StepName
	reason       domain.FailureReason
	contribution domain.Contribution
}

type mark struct {
	step domain.StepName
	to   domain.StepStatus
}

// changeOf decodes what the event says about the order. A step's done or
// refused event implies the steps before it are done (PaymentCompleted
// means inventory reserved).
func (r *Reactions) changeOf(e *events.Envelope) (change, error) {
	ref, ok := r.table.Lookup(e.Type)
	if !ok {
		return change{}, consumer.Permanent(fmt.Errorf("the order service does not follow %s events", e.Type))
	}
	p, err := events.AsStep(e, ref)
	if err != nil {
		return change{}, err
	}
	var ch change
	if p.Pricing != nil {
		ch.contribution.Prices = p.Pricing.DomainItems()
	}
	ch.contribution.TrackingNumber = p.TrackingNumber
	for _, before := range r.table.Saga().Upto(ref.Step.Name) {
		if ref.Kind == events.KindDone || ref.Kind == events.KindRefused {
			ch.marks = append(ch.marks, mark{before.Name, domain.StepDone})
		}
	}
	switch ref.Kind {
	case events.KindDone:
		ch.marks = append(ch.marks, mark{ref.Step.Name, domain.StepDone})
	case events.KindRefused:
		ch.refused, ch.reason = ref.Step.Name, p.Reason
	case events.KindUndone:
		ch.marks = append(ch.marks, mark{ref.Step.Name, p.Outcome.StepStatus()})
	}
	return ch, nil
}

// apply records the event on its order and in its timeline, and emits the
// order's final event when the order became final.
func (r *Reactions) apply(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	ch, err := r.changeOf(e)
	if err != nil {
		return err
	}
	var final events.Payload
	if _, err := r.store.UpdateTx(ctx, tx, e.OrderID, func(o *domain.Order) error {
		var err error
		final, err = r.reduce(o, ch, e.OccurredAt)
		return err
	}); err != nil {
		return fmt.Errorf("recording %s on order %s: %w", e.Type, e.OrderID, err)
	}
	if r.timeline != nil {
		if err := r.timeline.consumed(ctx, tx, e); err != nil {
			return err
		}
	}
	if final == nil {
		return nil
	}
	return r.emit.Emit(ctx, tx, e.OrderID, e, final)
}

// reduce applies a change to the order and returns the payload of the
// order's final event when the change made it final.
func (r *Reactions) reduce(o *domain.Order, ch change, at time.Time) (events.Payload, error) {
	wasFinal := o.Status().Final()
	if !wasFinal {
		if err := o.Contribute(ch.contribution, at); err != nil {
			return nil, consumer.Permanent(err)
		}
	}
	for _, m := range ch.marks {
		// The aggregate refuses a backward move (the event arrived after a
		// later one) and any move but compensation on a final order; the
		// later state stands, so a refused move is simply not made.
		_ = o.MarkStep(m.step, m.to, at)
	}
	if ch.refused != "" {
		_ = o.Refuse(ch.refused, ch.reason, at)
	}
	if wasFinal {
		return nil, nil
	}
	return r.decide(o, at)
}

// decide makes the order final when the saga has ended for it.
func (r *Reactions) decide(o *domain.Order, at time.Time) (events.Payload, error) {
	status := func(name domain.StepName) domain.StepStatus {
		st, _ := o.Step(name)
		return st.Status
	}
	if o.CancelRequested() {
		for _, name := range r.table.Saga().Names() {
			switch status(name) {
			case domain.StepCompensated, domain.StepSkipped, domain.StepFailed:
			default:
				return nil, nil // the cancel chain has not reached this step yet
			}
		}
		if err := o.Cancel(at); err != nil {
			return nil, err
		}
		return events.OrderCancelledData{}, nil
	}
	if step, reason, refused := o.Refusal(); refused {
		for _, c := range r.table.Saga().ToCompensate(step, true) {
			if st := status(c.Name); st != domain.StepCompensated && st != domain.StepSkipped {
				return nil, nil // still compensating
			}
		}
		if err := o.Fail(reason, at); err != nil {
			return nil, err
		}
		return events.OrderFailedData{Reason: reason}, nil
	}
	if o.AllDone() {
		if err := o.Complete(at); err != nil {
			return nil, err
		}
		s := o.State()
		var total domain.Cents
		if s.TotalCents != nil {
			total = *s.TotalCents
		}
		return events.OrderCompletedData{TrackingNumber: s.TrackingNumber, TotalCents: total,
			CustomerID: s.CustomerID, CompletedAt: at.UTC()}, nil
	}
	return nil, nil
}
