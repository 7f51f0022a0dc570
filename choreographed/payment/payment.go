// Package payment is the payment service's part of the choreography: how it
// reacts to other services' events with the shared payment service
// (../../shared/payment), and what it emits.
//
//	InventoryReserved                → ChargeTx → PaymentCompleted | PaymentDeclined
//	ShipmentFailed, ShipmentCancelled → RefundTx → PaymentRefunded
//
// A charge that finds a tombstone (the order's refund ran first, in the
// cancel chain) emits nothing: the late action is a no-op.
package payment

import (
	"context"
	"fmt"

	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/outbox"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Reactions are the payment service's event handlers.
type Reactions struct {
	svc  *payment.Service
	emit outbox.Emitter
}

// New returns the reactions of svc, emitting through emit (the outbox of
// svc's database).
func New(svc *payment.Service, emit outbox.Emitter) *Reactions {
	return &Reactions{svc: svc, emit: emit}
}

// Subscriptions returns the services whose topics the payment service reads.
func (r *Reactions) Subscriptions() []events.Service {
	return []events.Service{events.Inventory, events.Shipping}
}

// Routes returns the handler of each event type the service reacts to.
func (r *Reactions) Routes() consumer.Routes {
	return consumer.Routes{
		events.InventoryReserved: r.onInventoryReserved,
		events.ShipmentFailed:    r.onShipmentFailed,
		events.ShipmentCancelled: r.onShipmentCancelled,
	}
}

func (r *Reactions) onInventoryReserved(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	p, err := events.As[events.InventoryReservedData](e)
	if err != nil {
		return err
	}
	res, err := r.svc.ChargeTx(ctx, tx, e.OrderID, p.CustomerID, p.TotalCents)
	if err != nil {
		return fmt.Errorf("charging: %w", err)
	}
	switch res.Status {
	case payment.Charged:
		return r.emit.Emit(ctx, tx, e.OrderID, e, events.PaymentCompletedData{
			CustomerID: p.CustomerID,
			ShipTo:     p.ShipTo,
			Pricing:    p.Pricing,
		})
	case payment.Declined:
		reason, _ := domain.ReasonOf(res.Err())
		return r.emit.Emit(ctx, tx, e.OrderID, e, events.PaymentDeclinedData{Reason: reason, Pricing: p.Pricing})
	}
	// Refunded: the cancel chain refunded first and left a tombstone.
	return nil
}

func (r *Reactions) onShipmentFailed(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	p, err := events.As[events.ShipmentFailedData](e)
	if err != nil {
		return err
	}
	return r.refund(ctx, tx, e, p.Reason)
}

func (r *Reactions) onShipmentCancelled(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	p, err := events.As[events.ShipmentCancelledData](e)
	if err != nil {
		return err
	}
	return r.refund(ctx, tx, e, p.Cause)
}

// refund compensates the payment step.
func (r *Reactions) refund(ctx context.Context, tx *sqldb.Tx, e *events.Envelope, cause domain.FailureReason) error {
	res, err := r.svc.RefundTx(ctx, tx, e.OrderID)
	if err != nil {
		return fmt.Errorf("refunding: %w", err)
	}
	outcome := events.OutcomeUndone
	switch {
	case res.Tombstone:
		outcome = events.OutcomeTombstone
	case res.Status == payment.Declined:
		outcome = events.OutcomeRefused
	}
	return r.emit.Emit(ctx, tx, e.OrderID, e, events.PaymentRefundedData{
		Compensation: events.Compensation{Outcome: outcome, Cause: cause},
	})
}
