package domain

import "time"

// StepRetry says that a step's action, compensation or completion keeps
// failing with faults and is being retried: the failure model's "visible
// while it lasts". It is not stored with the order: each variant reads it
// from where its retries live (Temporal's pending activities; the
// choreography's redelivery topics).
type StepRetry struct {
	Step StepName
	// Work is what is being retried: "action", "compensation" or
	// "completion".
	Work      string
	Attempts  int
	LastError string
	// Since is when its first attempt failed (zero when unknown).
	Since time.Time
}

// What a StepRetry retries.
const (
	RetryingAction       = "action"
	RetryingCompensation = "compensation"
	RetryingCompletion   = "completion"
	// RetryingDeadLettered: the step's event was parked on the dead-letter
	// topic (it could never be handled as it is); `ordersaga dlq replay`
	// resumes it. Choreographed only.
	RetryingDeadLettered = "dead_lettered"
)
