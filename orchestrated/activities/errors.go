// Package activities holds the saga's activities: Step, which runs any
// step's action, compensation and completion against the service that
// carries it out, and OrderActivities, the order-store updates. A step's
// activities are registered under the names of the saga's actions
// (saga.ReserveInventory, saga.ReleaseInventory, …); the order store's
// under the names in orchestrated/workflow (RecordStep, CompleteOrder, …).
//
// Errors: a business refusal is a non-retryable application error of the
// stable type of workflow.RefusalType; an action that arrives after its
// compensation is a non-retryable one of type workflow.ErrTypeCompensated;
// every other error is returned as it is and retried under the saga's
// retry policy.
package activities

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
)

// actionError turns the error of a step's action into what the workflow
// branches on.
func actionError(err error) error {
	if err == nil {
		return nil
	}
	if reason, ok := domain.ReasonOf(err); ok {
		return nonRetryable(err, workflow.RefusalType(reason))
	}
	if errors.Is(err, domain.ErrCompensated) {
		return nonRetryable(err, workflow.ErrTypeCompensated)
	}
	return err
}

// storeError turns the error of an order-store update into what the
// workflow branches on: an unknown order, or a change the order refuses
// (it is final), cannot succeed on retry.
func storeError(err error) error {
	if err == nil {
		return nil
	}
	switch errs.CodeOf(err) {
	case errs.NotFound, errs.Conflict, errs.Invalid:
		return temporal.NewNonRetryableApplicationError(err.Error(), workflow.ErrTypeOrderRejected, err)
	}
	return err
}

// nonRetryable wraps an expected business outcome: it is not retried and
// not reported as an error of the worker.
func nonRetryable(err error, errType string) error {
	return temporal.NewApplicationErrorWithOptions(err.Error(), errType, temporal.ApplicationErrorOptions{
		NonRetryable: true,
		Cause:        err,
		Category:     temporal.ApplicationErrorCategoryBenign,
	})
}
