package saga

import "time"

// Policy is the failure model both variants implement, with the same
// defaults (README, "Failure model"):
//
//   - A step's action that fails with a transient fault (a database down,
//     a service fault, a timeout) is retried with capped exponential
//     backoff until StepDeadline has passed since its first attempt; the
//     step then fails with domain.ReasonStepUnavailable and the saga
//     compensates every step, that one included.
//   - A step's action that finds the order's data invalid fails at once
//     with domain.ReasonRejected, like a refusal: it took no effect, and the
//     saga compensates the steps done before it.
//   - A compensation, a completion and the recording of an order's state
//     are never given up: they are retried with capped backoff for as long
//     as it takes, across restarts, and finish by themselves once the fault
//     clears.
//
// How each variant retries differs (Temporal's activity retry policy; the
// choreography's quick in-process retries, then delayed redelivery through
// retry topics); the deadline and what happens at it are the same.
type Policy struct {
	// StepDeadline bounds how long a step's action may keep failing
	// (DefaultStepDeadline).
	StepDeadline time.Duration
}

// DefaultStepDeadline is the default Policy.StepDeadline.
const DefaultStepDeadline = 2 * time.Minute

// WithDefaults returns p with every zero field set to its default.
func (p Policy) WithDefaults() Policy {
	if p.StepDeadline <= 0 {
		p.StepDeadline = DefaultStepDeadline
	}
	return p
}
