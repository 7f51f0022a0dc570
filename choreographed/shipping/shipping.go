// Package shipping is the shipping service's part of the choreography: how
// it reacts to other services' events with the shared shipping service
// (../../shared/shipping), and what it emits.
//
//	PaymentCompleted     → ShipTx   → ShipmentCreated | ShipmentFailed
//	OrderCancelRequested → CancelTx → ShipmentCancelled (first link of the cancel chain)
//
// A shipment that finds a tombstone (the order's cancel ran first) emits
// nothing: the late action is a no-op.
package shipping

import (
	"context"
	"fmt"

	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/outbox"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/shipping"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Reactions are the shipping service's event handlers.
type Reactions struct {
	svc  *shipping.Service
	emit outbox.Emitter
}

// New returns the reactions of svc, emitting through emit (the outbox of
// svc's database).
func New(svc *shipping.Service, emit outbox.Emitter) *Reactions {
	return &Reactions{svc: svc, emit: emit}
}

// Subscriptions returns the services whose topics the shipping service
// reads.
func (r *Reactions) Subscriptions() []events.Service {
	return []events.Service{events.Payment, events.Orders}
}

// Routes returns the handler of each event type the service reacts to.
func (r *Reactions) Routes() consumer.Routes {
	return consumer.Routes{
		events.PaymentCompleted:     r.onPaymentCompleted,
		events.OrderCancelRequested: r.onOrderCancelRequested,
	}
}

func (r *Reactions) onPaymentCompleted(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	p, err := events.As[events.PaymentCompletedData](e)
	if err != nil {
		return err
	}
	res, err := r.svc.ShipTx(ctx, tx, e.OrderID, p.ShipTo.Domain())
	if err != nil {
		return fmt.Errorf("shipping: %w", err)
	}
	switch res.Status {
	case shipping.Created:
		return r.emit.Emit(ctx, tx, e.OrderID, e, events.ShipmentCreatedData{
			TrackingNumber: res.TrackingNumber,
			Pricing:        p.Pricing,
		})
	case shipping.Rejected:
		reason, _ := domain.ReasonOf(res.Err())
		return r.emit.Emit(ctx, tx, e.OrderID, e, events.ShipmentFailedData{Reason: reason, Pricing: p.Pricing})
	}
	// Cancelled: the cancel chain cancelled first and left a tombstone.
	return nil
}

func (r *Reactions) onOrderCancelRequested(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	if _, err := events.As[events.OrderCancelRequestedData](e); err != nil {
		return err
	}
	res, err := r.svc.CancelTx(ctx, tx, e.OrderID)
	if err != nil {
		return fmt.Errorf("cancelling the shipment: %w", err)
	}
	outcome := events.OutcomeUndone
	switch {
	case res.Tombstone:
		outcome = events.OutcomeTombstone
	case res.Status == shipping.Rejected:
		outcome = events.OutcomeRefused
	}
	return r.emit.Emit(ctx, tx, e.OrderID, e, events.ShipmentCancelledData{
		Compensation: events.Compensation{Outcome: outcome, Cause: domain.ReasonCancelled},
	})
}
