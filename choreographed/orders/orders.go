// Package orders is the order service's part of the choreography: it follows
// every event of the other services and keeps each order's status and steps
// in the order store (../../shared/orders), and it decides when an order is
// final, emitting OrderCompleted, OrderFailed or OrderCancelled.
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
//   - completed: on ShipmentCreated, unless the client asked to cancel
//     (then the cancel chain undoes the shipment too);
//   - failed: once a step refused and every step before it is compensated
//     (or skipped), so stock and credit are restored when the client sees
//     the failure;
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
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Reactions are the order service's event handlers.
type Reactions struct {
	store    *orders.Store
	emit     outbox.Emitter
	timeline *Timeline
}

// New returns the reactions that keep store up to date, emitting through
// emit (the outbox of the order database), and recording each event they
// handle in tl (none when nil). For the timeline to hold the events the
// service emits too, emit is tl.Recording's.
func New(store *orders.Store, emit outbox.Emitter, tl *Timeline) *Reactions {
	return &Reactions{store: store, emit: emit, timeline: tl}
}

// Subscriptions returns the services whose topics the order service reads.
func (r *Reactions) Subscriptions() []events.Service {
	return []events.Service{events.Inventory, events.Payment, events.Shipping}
}

// Routes returns the handler of each event type the service follows.
func (r *Reactions) Routes() consumer.Routes {
	routes := consumer.Routes{}
	for _, t := range []events.Type{
		events.InventoryReserved, events.InventoryRejected, events.InventoryReleased,
		events.PaymentCompleted, events.PaymentDeclined, events.PaymentRefunded,
		events.ShipmentCreated, events.ShipmentFailed, events.ShipmentCancelled,
	} {
		routes[t] = r.apply
	}
	return routes
}

// change is what an event tells the order service.
type change struct {
	marks    []mark         // step moves, earlier steps first
	pricing  events.Pricing // when the event carries the prices
	tracking string         // set by ShipmentCreated
}

type mark struct {
	step domain.StepName
	to   domain.StepStatus
}

// changeOf decodes what the event says about the order.
func changeOf(e *events.Envelope) (change, error) {
	done := func(steps ...domain.StepName) []mark {
		ms := make([]mark, len(steps))
		for i, s := range steps {
			ms[i] = mark{s, domain.StepDone}
		}
		return ms
	}
	inv, pay, ship := domain.StepInventory, domain.StepPayment, domain.StepShipping
	switch e.Type {
	case events.InventoryReserved:
		p, err := events.As[events.InventoryReservedData](e)
		return change{marks: done(inv), pricing: p.Pricing}, err
	case events.InventoryRejected:
		_, err := events.As[events.InventoryRejectedData](e)
		return change{marks: []mark{{inv, domain.StepFailed}}}, err
	case events.InventoryReleased:
		p, err := events.As[events.InventoryReleasedData](e)
		return change{marks: []mark{{inv, stepStatusOf(p.Compensation)}}}, err
	case events.PaymentCompleted:
		p, err := events.As[events.PaymentCompletedData](e)
		return change{marks: done(inv, pay), pricing: p.Pricing}, err
	case events.PaymentDeclined:
		p, err := events.As[events.PaymentDeclinedData](e)
		return change{marks: append(done(inv), mark{pay, domain.StepFailed}), pricing: p.Pricing}, err
	case events.PaymentRefunded:
		p, err := events.As[events.PaymentRefundedData](e)
		return change{marks: []mark{{pay, stepStatusOf(p.Compensation)}}}, err
	case events.ShipmentCreated:
		p, err := events.As[events.ShipmentCreatedData](e)
		return change{marks: done(inv, pay, ship), pricing: p.Pricing, tracking: p.TrackingNumber}, err
	case events.ShipmentFailed:
		p, err := events.As[events.ShipmentFailedData](e)
		return change{marks: append(done(inv, pay), mark{ship, domain.StepFailed}), pricing: p.Pricing}, err
	case events.ShipmentCancelled:
		p, err := events.As[events.ShipmentCancelledData](e)
		return change{marks: []mark{{ship, stepStatusOf(p.Compensation)}}}, err
	}
	return change{}, consumer.Permanent(fmt.Errorf("the order service does not follow %s events", e.Type))
}

// stepStatusOf maps a compensation's outcome onto the step's status.
func stepStatusOf(c events.Compensation) domain.StepStatus {
	switch c.Outcome {
	case events.OutcomeTombstone:
		return domain.StepSkipped
	case events.OutcomeRefused:
		return domain.StepFailed
	}
	return domain.StepCompensated
}

// apply records the event on its order and in its timeline, and emits the
// order's final event when the order became final.
func (r *Reactions) apply(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	ch, err := changeOf(e)
	if err != nil {
		return err
	}
	var final events.Payload
	if _, err := r.store.UpdateTx(ctx, tx, e.OrderID, func(o *domain.Order) error {
		var err error
		final, err = reduce(o, ch, e.OccurredAt)
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
func reduce(o *domain.Order, ch change, at time.Time) (events.Payload, error) {
	wasFinal := o.Status().Final()
	if !wasFinal && ch.pricing.Known() && o.State().TotalCents == nil {
		if err := o.SetPrices(ch.pricing.DomainItems(), at); err != nil {
			return nil, consumer.Permanent(err)
		}
	}
	for _, m := range ch.marks {
		// The aggregate refuses a backward move (the event arrived after a
		// later one) and any move but compensation on a final order; the
		// later state stands, so a refused move is simply not made.
		_ = o.MarkStep(m.step, m.to, at)
	}
	if wasFinal {
		return nil, nil
	}
	return decide(o, ch.tracking, at)
}

// decide makes the order final when the saga has ended for it.
func decide(o *domain.Order, tracking string, at time.Time) (events.Payload, error) {
	status := func(name domain.StepName) domain.StepStatus {
		st, _ := o.Step(name)
		return st.Status
	}
	if o.CancelRequested() {
		for _, s := range saga.Steps() {
			switch status(s.Name) {
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
	for _, s := range saga.Steps() {
		if status(s.Name) != domain.StepFailed {
			continue
		}
		for _, c := range saga.ToCompensate(s.Name, true) {
			if st := status(c.Name); st != domain.StepCompensated && st != domain.StepSkipped {
				return nil, nil // still compensating
			}
		}
		if err := o.Fail(s.Refusal, at); err != nil {
			return nil, err
		}
		return events.OrderFailedData{Reason: s.Refusal}, nil
	}
	if tracking != "" {
		if err := o.Complete(tracking, at); err != nil {
			return nil, err
		}
		var total domain.Cents
		if t := o.State().TotalCents; t != nil {
			total = *t
		}
		return events.OrderCompletedData{TrackingNumber: tracking, TotalCents: total}, nil
	}
	return nil, nil
}
