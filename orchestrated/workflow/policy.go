package workflow

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The retry and timeout policy of every activity of the saga, stated once.
//
// Every activity is retried with exponential backoff (RetryInitialInterval,
// doubling, at most RetryMaxInterval apart) with no limit on attempts, so a
// transient fault (an injected error, a dropped connection, a worker that
// went away) never fails an order by itself. Each attempt may take
// AttemptTimeout. Business refusals are non-retryable application errors and
// end the step at once. The backoff stays short (at most a second) because
// a fault here is usually brief: a lost reply, a busy database; a run of
// eight faults then costs about 4.5 s, not 9 s.
//
//   - A step's action gives up once the step deadline of the saga's
//     failure model (saga.Policy.StepDeadline, 2 min by default) has
//     passed since it was first scheduled; the step then fails with
//     ReasonGaveUp and the saga compensates every step, that one included.
//   - Compensations, the completion and the order-store updates are retried
//     until they succeed: there is no way back from them.
//
// The order-store updates run as local activities: the order service runs
// the workflow next to its database, so recording a step costs no round
// trip through the task queue (half the workflow tasks of a saga).
const (
	RetryInitialInterval = 100 * time.Millisecond
	RetryBackoff         = 2.0
	RetryMaxInterval     = time.Second
	AttemptTimeout       = 10 * time.Second
)

// retryPolicy is the retry policy of every activity.
func retryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:    RetryInitialInterval,
		BackoffCoefficient: RetryBackoff,
		MaximumInterval:    RetryMaxInterval,
		MaximumAttempts:    0, // unlimited
	}
}

// actionOptions returns the options of a step's action on the step's
// service.
func actionOptions(ctx workflow.Context, q TaskQueue, deadline time.Duration, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              string(q),
		StartToCloseTimeout:    AttemptTimeout,
		ScheduleToCloseTimeout: deadline,
		RetryPolicy:            retryPolicy(),
		Summary:                summary,
	})
}

// recordOptions returns the options of an order-store update, a local
// activity of the workflow's worker retried until it succeeds.
func recordOptions(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: AttemptTimeout,
		RetryPolicy:         retryPolicy(),
		Summary:             summary,
	})
}

// untilDoneOptions returns the options of an activity that is retried
// until it succeeds: compensations, the completion, order-store updates.
func untilDoneOptions(ctx workflow.Context, q TaskQueue, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           string(q),
		StartToCloseTimeout: AttemptTimeout,
		RetryPolicy:         retryPolicy(),
		Summary:             summary,
	})
}
