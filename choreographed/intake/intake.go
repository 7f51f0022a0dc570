// Package flow starts and cancels orders of the choreographed variant, for
// the REST API (it implements httpapi.Intake). Both write the order and the
// event that sets the services in motion in one transaction of the order
// database: the order with OrderPlaced, the cancel request with
// OrderCancelRequested. There is no coordinator: from there on the services
// react to each other's events.
package intake

import (
	"context"
	"fmt"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/outbox"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Service places and cancels orders.
type Service struct {
	store *orders.Store
	emit  outbox.Emitter
	now   func() time.Time
}

// New returns the flow on the order store, emitting through emit (the
// outbox of the order database); now is the clock (time.Now when nil).
func New(store *orders.Store, emit outbox.Emitter, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, emit: emit, now: now}
}

// Place stores the new order and emits OrderPlaced, in one transaction. For
// an existing order id with the same request it returns the stored order
// with created=false and emits nothing; with another request, an
// errs.Conflict.
func (f *Service) Place(ctx context.Context, o *domain.Order) (*domain.Order, bool, error) {
	var (
		stored  *domain.Order
		created bool
	)
	err := f.store.DB().InTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		stored, created, err = f.store.CreateTx(ctx, tx, o)
		if err != nil || !created {
			return err
		}
		req := o.Request()
		return f.emit.Emit(ctx, tx, o.ID(), nil, events.OrderPlacedData{
			CustomerID: req.CustomerID,
			Items:      events.ItemsOf(req.Items),
			ShipTo:     events.AddressOf(req.ShipTo),
		})
	})
	if err != nil {
		return nil, false, fmt.Errorf("placing order %s: %w", o.ID(), err)
	}
	return stored, created, nil
}

// Cancel records the client's cancel request and emits OrderCancelRequested,
// in one transaction; the cancel chain then compensates whatever the saga
// did so far. Asking again changes nothing. Errors: errs.NotFound,
// errs.Conflict when the order is completed or failed.
func (f *Service) Cancel(ctx context.Context, id string) (*domain.Order, error) {
	var o *domain.Order
	err := f.store.DB().InTx(ctx, func(tx *sqldb.Tx) error {
		first := false
		var err error
		o, err = f.store.UpdateTx(ctx, tx, id, func(o *domain.Order) error {
			first = !o.CancelRequested() && !o.Status().Final()
			return o.RequestCancel(f.now())
		})
		if err != nil || !first {
			return err
		}
		return f.emit.Emit(ctx, tx, id, nil, events.OrderCancelRequestedData{})
	})
	if err != nil {
		return nil, fmt.Errorf("cancelling order %s: %w", id, err)
	}
	return o, nil
}
