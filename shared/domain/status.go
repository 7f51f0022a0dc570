package domain

import "regexp"

// Status is an order's lifecycle status.
type Status string

// Order statuses. Completed, Failed and Cancelled are final.
const (
	StatusPending   Status = "pending"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
)

// Final reports whether no further change can happen to an order in s.
func (s Status) Final() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCancelled
}

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	return s == StatusPending || s.Final()
}

// FailureReason says why an order failed or was cancelled.
type FailureReason string

// Failure reasons.
const (
	ReasonOutOfStock          FailureReason = "out_of_stock"
	ReasonPaymentDeclined     FailureReason = "payment_declined"
	ReasonShippingUnavailable FailureReason = "shipping_unavailable"
	ReasonCancelled           FailureReason = "cancelled"
	// ReasonStepUnavailable: a step kept failing with faults past its
	// deadline; every step was compensated.
	ReasonStepUnavailable FailureReason = "step_unavailable"
	// ReasonRejected: a step found the order's data invalid (a total that
	// does not fit, say): no retry can help; the steps before it were
	// compensated.
	ReasonRejected FailureReason = "rejected"
)

// StepName names a step of the order saga.
type StepName string

// The default saga's steps, in the order they run (see package saga).
const (
	StepInventory StepName = "inventory"
	StepPayment   StepName = "payment"
	StepShipping  StepName = "shipping"
)

var stepNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,30}$`)

// ValidStepName reports whether name can name a step and its service: a
// lower-case word of at most 31 characters, usable in a task queue, a topic
// and a database name.
func ValidStepName(name StepName) bool { return stepNamePattern.MatchString(string(name)) }

// StepStatus is where one step of one order stands.
type StepStatus string

// Step statuses.
const (
	StepPending     StepStatus = "pending"     // not run yet, or running
	StepDone        StepStatus = "done"        // the step's action took effect
	StepFailed      StepStatus = "failed"      // the step refused for a business reason
	StepCompensated StepStatus = "compensated" // the step's effect was undone
	StepSkipped     StepStatus = "skipped"     // the step never ran: the order ended before it
)
