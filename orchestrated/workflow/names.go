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

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// Name is the workflow type the order saga is registered under.
const Name = "OrderSaga"

// TaskQueue names a Temporal task queue. Each service polls its own.
type TaskQueue string

// The task queues: the order service runs the workflow and the order-store
// activities; each other service runs its step's activities where its
// database is.
const (
	TaskQueueOrders    TaskQueue = "orders"
	TaskQueueInventory TaskQueue = "inventory"
	TaskQueuePayment   TaskQueue = "payment"
	TaskQueueShipping  TaskQueue = "shipping"
)

// TaskQueueOf returns the task queue of the service that owns a step.
func TaskQueueOf(step domain.StepName) TaskQueue {
	switch step {
	case domain.StepInventory:
		return TaskQueueInventory
	case domain.StepPayment:
		return TaskQueuePayment
	case domain.StepShipping:
		return TaskQueueShipping
	}
	return TaskQueueOrders
}

// completionStep is the step whose service runs saga.Completion.
const completionStep = domain.StepInventory

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
const (
	ErrTypeOutOfStock          = "OutOfStock"
	ErrTypePaymentDeclined     = "PaymentDeclined"
	ErrTypeShippingUnavailable = "ShippingUnavailable"
	// ErrTypeCompensated: an action arrived after its compensation ran, so
	// it did nothing; the saga was cancelled meanwhile.
	ErrTypeCompensated = "Compensated"
	// ErrTypeOrderRejected: the order store refused a change (unknown or
	// already final order): retrying cannot help.
	ErrTypeOrderRejected = "OrderRejected"
	// ErrTypeNotCancellable: the cancel update's refusal.
	ErrTypeNotCancellable = "NotCancellable"
)

// RefusalType returns the error type of a step's business refusal.
func RefusalType(reason domain.FailureReason) string {
	switch reason {
	case domain.ReasonOutOfStock:
		return ErrTypeOutOfStock
	case domain.ReasonPaymentDeclined:
		return ErrTypePaymentDeclined
	case domain.ReasonShippingUnavailable:
		return ErrTypeShippingUnavailable
	}
	return ""
}

// ReasonGaveUp is the failure reason of an order whose step kept failing
// with faults until its retry budget (ActionTimeout) ran out; every step is
// compensated first.
const ReasonGaveUp domain.FailureReason = "step_unavailable"

// The activities besides the saga's actions and compensations (whose names
// are the saga.Action values): the order-store updates, run by the order
// service.
const (
	ActivityRecordStep    = "RecordStep"
	ActivityCompleteOrder = "CompleteOrder"
	ActivityFailOrder     = "FailOrder"
	ActivityCancelOrder   = "CancelOrder"
)

// activityName returns the activity name of a saga action.
func activityName(a saga.Action) string { return string(a) }

// ActivityName returns the activity type name of a saga action, a
// compensation or the completion, as the workers register it and the
// workflow history names it.
func ActivityName(a saga.Action) string { return activityName(a) }

// TaskQueueOfActivity returns the task queue of the service that runs an
// activity: a step's action and compensation run on the step's service,
// the completion on the inventory service, the order-store updates (and
// any other name) on the order service.
func TaskQueueOfActivity(name string) TaskQueue {
	for _, s := range saga.Steps() {
		if name == activityName(s.Action) || name == activityName(s.Compensation) {
			return TaskQueueOf(s.Name)
		}
	}
	if name == activityName(saga.Completion) {
		return TaskQueueOf(completionStep)
	}
	return TaskQueueOrders
}
