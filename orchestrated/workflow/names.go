// Package workflow is the orchestrated variant's saga: the OrderSaga
// workflow that runs the shared saga definition (shared/saga) step by step,
// and the names everything around it agrees on: task queues, the workflow
// ID of an order, the update and query names, the search attributes, and
// the error types activities report.
//
// One workflow drives one order. Each step's action runs as an activity on
// the task queue of the service that owns the step's data; right after a
// step succeeds its compensation is registered; on a business refusal or a
// cancel the registered compensations run in reverse order, in a context
// disconnected from the workflow's own so that a cancelled workflow still
// compensates. Progress is recorded in the order database through the
// order activities, which is what the REST API reads.
package workflow

import (
	"strings"

	"go.temporal.io/sdk/temporal"
	sdkworkflow "go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// Name is the workflow type the order saga is registered under.
const Name = "OrderSaga"

// TaskQueue names a Temporal task queue. Each service polls its own.
type TaskQueue string

// TaskQueueOrders is the order service's task queue: it runs the workflow
// and the order-store activities. Each step's service runs its step's
// activities on the task queue named like the step (TaskQueueOf), next to
// its own database.
const TaskQueueOrders TaskQueue = "orders"

// TaskQueueNotifications is the notification service's task queue, named
// like its role (hosted.RoleNotifications): it runs ActivityNotifyCustomer
// next to the notification database.
const TaskQueueNotifications TaskQueue = "notifications"

// TaskQueueOf returns the task queue of the service that owns a step.
func TaskQueueOf(step domain.StepName) TaskQueue { return TaskQueue(step) }

// WorkflowID returns the workflow ID of an order's saga. One order has one
// saga: starting it again with this ID finds the one that exists.
func WorkflowID(orderID string) string { return "order-" + orderID }

// OrderIDOf returns the order whose saga has the workflow ID id, and false
// for a workflow ID that is not an order's.
func OrderIDOf(workflowID string) (string, bool) {
	id, ok := strings.CutPrefix(workflowID, "order-")
	return id, ok && id != ""
}

// Update and query names.
const (
	// UpdateCancel asks the saga to stop and compensate. It is rejected
	// (error type ErrTypeNotCancellable) once the order completed, is
	// completing, or failed.
	UpdateCancel = "cancel"
	// QueryStatus returns the saga's State.
	QueryStatus = "status"
)

// Search attributes and memo fields the saga is tagged with, so the
// Temporal UI lists orders by customer and status. Both search attributes
// are Keyword attributes the namespace must declare.
const (
	SearchAttributeCustomerID  = "CustomerId"
	SearchAttributeOrderStatus = "OrderStatus"
	MemoCustomerID             = "customer_id"
)

// CustomerIDKey is the search attribute holding the order's customer.
func CustomerIDKey() temporal.SearchAttributeKeyKeyword {
	return temporal.NewSearchAttributeKeyKeyword(SearchAttributeCustomerID)
}

// OrderStatusKey is the search attribute holding the order's status
// (pending, completed, failed or cancelled).
func OrderStatusKey() temporal.SearchAttributeKeyKeyword {
	return temporal.NewSearchAttributeKeyKeyword(SearchAttributeOrderStatus)
}

// Error types of the application errors activities and the cancel update
// report. They are stable: the workflow and the order API branch on them.
// A step's refusal has the type RefusalType gives its reason.
const (
	// ErrTypeCompensated: an action arrived after its compensation ran, so
	// it did nothing; the saga was cancelled meanwhile.
	ErrTypeCompensated = "Compensated"
	// ErrTypeOrderRejected: the order store refused a change (unknown or
	// already final order): retrying cannot help.
	ErrTypeOrderRejected = "OrderRejected"
	// ErrTypeNotCancellable: the cancel update's refusal.
	ErrTypeNotCancellable = "NotCancellable"
	// ErrTypeNotificationRejected: the notification service cannot make a
	// notification of the notice (see notifications.New): retrying cannot
	// help.
	ErrTypeNotificationRejected = "NotificationRejected"
)

// RefusalType returns the error type of a step's business refusal: the
// reason in CamelCase (out_of_stock → OutOfStock).
func RefusalType(reason domain.FailureReason) string {
	var b strings.Builder
	for _, w := range strings.Split(string(reason), "_") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

// RefusalOf returns the reason of a step's refusal from the error type an
// activity reported, and false when the type is none of the step's
// refusals nor domain.ReasonRejected.
func RefusalOf(step saga.Step, errType string) (domain.FailureReason, bool) {
	for _, r := range append(step.Refusals, domain.ReasonRejected) {
		if errType != "" && RefusalType(r) == errType {
			return r, true
		}
	}
	return "", false
}

// ReasonGaveUp is the failure reason of an order whose step kept failing
// with faults until the step deadline (saga.Policy) passed; every step is
// compensated first.
const ReasonGaveUp = domain.ReasonStepUnavailable

// The activities besides the saga's actions and compensations (whose names
// are the saga.Action values): the order-store updates, run by the order
// service.
const (
	ActivityRecordStep    = "RecordStep"
	ActivityCompleteOrder = "CompleteOrder"
	ActivityFailOrder     = "FailOrder"
	ActivityCancelOrder   = "CancelOrder"
)

// ActivityNotifyCustomer records the customer's notification of an order
// that ended, on TaskQueueNotifications (input: Notice).
const ActivityNotifyCustomer = "NotifyCustomer"

// ChangeNotifyCustomer is the change ID (workflow.GetVersion) of the
// customer notification, added to the saga while sagas ran:
// VersionNotifyCustomer notifies; workflow.DefaultVersion is the saga as it
// was before, which ended without a notification. A saga tagged with the
// change has TemporalChangeVersion = "notify-customer-1".
const (
	ChangeNotifyCustomer                      = "notify-customer"
	VersionNotifyCustomer sdkworkflow.Version = 1
)

// ActivityName returns the activity type name of a saga action, a
// compensation or a completion, as the workers register it and the
// workflow history names it.
func ActivityName(a saga.Action) string { return string(a) }

// TaskQueueOfActivity returns the task queue of the service that runs an
// activity of saga g: a step's action, compensation and completion run on
// the step's service, the customer's notification on the notification
// service, the order-store updates (and any other name) on the order
// service.
func TaskQueueOfActivity(g *saga.Saga, name string) TaskQueue {
	if s, ok := g.StepOfAction(saga.Action(name)); ok {
		return TaskQueueOf(s.Name)
	}
	if name == ActivityNotifyCustomer {
		return TaskQueueNotifications
	}
	return TaskQueueOrders
}
