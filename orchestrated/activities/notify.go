package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/notifications"
)

// Notifier records customers' notifications in the notification service's
// store. Register NotifyCustomer on workflow.TaskQueueNotifications under
// workflow.ActivityNotifyCustomer, in the process hosting the notification
// service.
type Notifier struct {
	Store *notifications.Store
}

// NotifyCustomer records the notification of an order that ended, once
// per order: a retried attempt, or a rebuild that got there first, changes
// nothing. A notice that makes no notification (no customer, a status that
// is not final) is a non-retryable error of type
// workflow.ErrTypeNotificationRejected; a store fault is retried.
func (a *Notifier) NotifyCustomer(ctx context.Context, in workflow.Notice) error {
	n, err := notifications.New(in.Ending())
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), workflow.ErrTypeNotificationRejected, err)
	}
	if _, err := a.Store.Record(ctx, n); err != nil {
		return fmt.Errorf("notifying customer %s of order %s: %w", in.CustomerID, in.OrderID, err)
	}
	return nil
}
