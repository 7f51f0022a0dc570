// Package inventory is the inventory service's part of the choreography: how
// it reacts to other services' events with the shared inventory service
// (../../shared/inventory), and what it emits.
//
//	OrderPlaced                     → ReserveTx → InventoryReserved | InventoryRejected
//	PaymentDeclined, PaymentRefunded → ReleaseTx → InventoryReleased
//	OrderCompleted                  → CommitTx  → InventoryCommitted
//
// A reserve that finds a tombstone (the order's release ran first, in the
// cancel chain) emits nothing: the late action is a no-op.
package inventory

import (
	"context"
	"fmt"

	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/outbox"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Reactions are the inventory service's event handlers.
type Reactions struct {
	svc  *inventory.Service
	emit outbox.Emitter
}

// New returns the reactions of svc, emitting through emit (the outbox of
// svc's database).
func New(svc *inventory.Service, emit outbox.Emitter) *Reactions {
	return &Reactions{svc: svc, emit: emit}
}

// Subscriptions returns the services whose topics the inventory service
// reads.
func (r *Reactions) Subscriptions() []events.Service {
	return []events.Service{events.Orders, events.Payment}
}

// Routes returns the handler of each event type the service reacts to.
func (r *Reactions) Routes() consumer.Routes {
	return consumer.Routes{
		events.OrderPlaced:     r.onOrderPlaced,
		events.PaymentDeclined: r.onPaymentDeclined,
		events.PaymentRefunded: r.onPaymentRefunded,
		events.OrderCompleted:  r.onOrderCompleted,
	}
}

func (r *Reactions) onOrderPlaced(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	p, err := events.As[events.OrderPlacedData](e)
	if err != nil {
		return err
	}
	res, err := r.svc.ReserveTx(ctx, tx, e.OrderID, events.DomainItems(p.Items))
	if err != nil {
		return fmt.Errorf("reserving inventory: %w", err)
	}
	switch res.Status {
	case inventory.Reserved:
		return r.emit.Emit(ctx, tx, e.OrderID, e, events.InventoryReservedData{
			CustomerID: p.CustomerID,
			ShipTo:     p.ShipTo,
			Pricing:    events.PricingOf(res.Items, res.TotalCents),
		})
	case inventory.Rejected:
		reason, _ := domain.ReasonOf(res.Err())
		return r.emit.Emit(ctx, tx, e.OrderID, e, events.InventoryRejectedData{Reason: reason})
	}
	// Released: the cancel chain released first and left a tombstone.
	// Committed: the order completed long ago. Either way nothing to do.
	return nil
}

func (r *Reactions) onPaymentDeclined(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	p, err := events.As[events.PaymentDeclinedData](e)
	if err != nil {
		return err
	}
	return r.release(ctx, tx, e, p.Reason)
}

func (r *Reactions) onPaymentRefunded(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	p, err := events.As[events.PaymentRefundedData](e)
	if err != nil {
		return err
	}
	return r.release(ctx, tx, e, p.Cause)
}

// release compensates the inventory step: the last compensation of every
// chain.
func (r *Reactions) release(ctx context.Context, tx *sqldb.Tx, e *events.Envelope, cause domain.FailureReason) error {
	res, err := r.svc.ReleaseTx(ctx, tx, e.OrderID)
	if err != nil {
		return fmt.Errorf("releasing inventory: %w", err)
	}
	outcome := events.OutcomeUndone
	switch {
	case res.Tombstone:
		outcome = events.OutcomeTombstone
	case res.Status == inventory.Rejected:
		outcome = events.OutcomeRefused
	}
	return r.emit.Emit(ctx, tx, e.OrderID, e, events.InventoryReleasedData{
		Compensation: events.Compensation{Outcome: outcome, Cause: cause},
	})
}

func (r *Reactions) onOrderCompleted(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	if _, err := events.As[events.OrderCompletedData](e); err != nil {
		return err
	}
	if _, err := r.svc.CommitTx(ctx, tx, e.OrderID); err != nil {
		return fmt.Errorf("committing inventory: %w", err)
	}
	return r.emit.Emit(ctx, tx, e.OrderID, e, events.InventoryCommittedData{})
}
