package workflow

import (
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/notifications"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// The saga's input is saga.Input: the order's id, customer, items and
// address (TotalCents is filled in by the saga once inventory priced the
// order). Actions take saga.Input and return saga.Outcome; compensations
// and the completion take the order id.

// InputOf returns the saga input of an order.
func InputOf(o *domain.Order) saga.Input {
	r := o.Request()
	return saga.Input{OrderID: r.OrderID, CustomerID: r.CustomerID, Items: r.Items, ShipTo: r.ShipTo}
}

// Compensation is what a compensation activity found.
type Compensation struct {
	// Tombstone is true when there was nothing to undo: the action never
	// took effect, and now never will. The step then ends skipped rather
	// than compensated.
	Tombstone bool
}

// StepRecord moves one step of an order in the order store.
type StepRecord struct {
	OrderID string
	Step    domain.StepName
	Status  domain.StepStatus
	// Prices and TrackingNumber, when set, are what a done step
	// contributes to the order (see saga.Outcome).
	Prices         []domain.PricedItem
	TrackingNumber string
	// Reason is why a failed step refused.
	Reason domain.FailureReason
}

// Completion records a completed order. TrackingNumber, recorded with the
// shipping step since, is still read from sagas started before.
type Completion struct {
	OrderID        string
	TrackingNumber string
}

// Failure records a failed order.
type Failure struct {
	OrderID string
	Reason  domain.FailureReason
}

// Notice is the input of ActivityNotifyCustomer: how an order ended, as
// the saga knows it once the order's final status is recorded. It is kept
// in the activity's scheduled event, so the notification can be rebuilt
// from the history exactly as it was recorded (see orchestrated/endings).
type Notice struct {
	OrderID        string
	CustomerID     string
	Status         domain.Status        // completed, failed or cancelled
	Reason         domain.FailureReason // why it failed or was cancelled
	TrackingNumber string
	TotalCents     domain.Cents // the priced total (0 before inventory priced it)
	// EndedAt is the workflow's time (workflow.Now) when the order ended.
	EndedAt time.Time
}

// Ending returns the notice as the notification service takes it.
func (n Notice) Ending() notifications.Ending {
	return notifications.Ending{
		OrderID: n.OrderID, CustomerID: n.CustomerID, Status: n.Status, Reason: n.Reason,
		TrackingNumber: n.TrackingNumber, TotalCents: n.TotalCents, EndedAt: n.EndedAt,
	}
}

// Phase is where the saga stands.
type Phase string

// The saga's phases.
const (
	PhaseRunning      Phase = "running"      // running the steps' actions
	PhaseCompensating Phase = "compensating" // undoing the done steps after a refusal or a cancel
	PhaseCompleting   Phase = "completing"   // every step done: committing; no longer cancellable
	PhaseFinished     Phase = "finished"     // the order's final status is recorded
)

// StepView is one step as the saga sees it.
type StepView struct {
	Step   domain.StepName
	Status domain.StepStatus
}

// State is the saga's state, as QueryStatus returns it.
type State struct {
	OrderID         string
	Phase           Phase
	Status          domain.Status        // pending until the order is final
	FailureReason   domain.FailureReason // set when failed or cancelled
	Steps           []StepView
	Running         domain.StepName // the step whose action runs now, if any
	CancelRequested bool
	TotalCents      domain.Cents
	TrackingNumber  string
}

// Result is the workflow's result: the order's final status.
type Result struct {
	Status         domain.Status
	FailureReason  domain.FailureReason
	TrackingNumber string
}
