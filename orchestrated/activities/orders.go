package activities

import (
	"context"
	"time"

	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/orders"
)

// OrderActivities record the saga's progress in the order store, which the
// REST API reads. Each is idempotent: a repeated update changes nothing.
// Register them on workflow.TaskQueueOrders.
type OrderActivities struct {
	Store *orders.Store
	Now   func() time.Time // nil: time.Now
}

func (a *OrderActivities) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

// RecordStep moves one step of the order, storing the prices with it when
// the step priced the order.
func (a *OrderActivities) RecordStep(ctx context.Context, rec workflow.StepRecord) error {
	_, err := a.Store.Update(ctx, rec.OrderID, func(o *domain.Order) error {
		at := a.now()
		if rec.Status == domain.StepFailed && rec.Reason != "" {
			return o.Refuse(rec.Step, rec.Reason, at)
		}
		if rec.Status == domain.StepDone && !o.Status().Final() {
			if err := o.Contribute(domain.Contribution{Prices: rec.Prices, TrackingNumber: rec.TrackingNumber}, at); err != nil {
				return err
			}
		}
		return o.MarkStep(rec.Step, rec.Status, at)
	})
	return storeError(err)
}

// CompleteOrder makes the order completed.
func (a *OrderActivities) CompleteOrder(ctx context.Context, c workflow.Completion) error {
	_, err := a.Store.Update(ctx, c.OrderID, func(o *domain.Order) error {
		at := a.now()
		if err := o.Contribute(domain.Contribution{TrackingNumber: c.TrackingNumber}, at); err != nil {
			return err
		}
		return o.Complete(at)
	})
	return storeError(err)
}

// FailOrder makes the order failed for a reason.
func (a *OrderActivities) FailOrder(ctx context.Context, f workflow.Failure) error {
	_, err := a.Store.Update(ctx, f.OrderID, func(o *domain.Order) error { return o.Fail(f.Reason, a.now()) })
	return storeError(err)
}

// CancelOrder makes the order cancelled.
func (a *OrderActivities) CancelOrder(ctx context.Context, orderID string) error {
	_, err := a.Store.Update(ctx, orderID, func(o *domain.Order) error { return o.Cancel(a.now()) })
	return storeError(err)
}
