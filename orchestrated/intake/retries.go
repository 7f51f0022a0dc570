package intake

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// Describer is the part of the Temporal client Retries uses.
type Describer interface {
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
}

// Retries reads, from the saga's pending activities, which steps of an
// order keep failing and are being retried. It implements
// httpapi.Retries.
type Retries struct {
	temporal Describer
	saga     *saga.Saga
}

// NewRetries returns the reader of the retries of sagas g (saga.Default()
// when nil) in t.
func NewRetries(t Describer, g *saga.Saga) *Retries {
	if g == nil {
		g = saga.Default()
	}
	return &Retries{temporal: t, saga: g}
}

// Retrying returns the steps of the order whose activity has failed at
// least once and is waiting for, or running, another attempt.
func (r *Retries) Retrying(ctx context.Context, o *domain.Order) ([]domain.StepRetry, error) {
	d, err := r.temporal.DescribeWorkflowExecution(ctx, workflow.WorkflowID(o.ID()), "")
	if err != nil {
		if _, ok := errors.AsType[*serviceerror.NotFound](err); ok {
			return nil, nil
		}
		return nil, fmt.Errorf("describing the saga of order %s: %w", o.ID(), err)
	}
	var out []domain.StepRetry
	for _, pa := range d.GetPendingActivities() {
		if pa.GetAttempt() < 2 {
			continue
		}
		name := pa.GetActivityType().GetName()
		step, ok := r.saga.StepOfAction(saga.Action(name))
		if !ok {
			continue
		}
		work := domain.RetryingAction
		switch saga.Action(name) {
		case step.Compensation:
			work = domain.RetryingCompensation
		case step.Completion:
			work = domain.RetryingCompletion
		}
		// Temporal keeps the current attempt's times only: Since stays
		// unknown.
		out = append(out, domain.StepRetry{Step: step.Name, Work: work, Attempts: int(pa.GetAttempt() - 1), LastError: pa.GetLastFailure().GetMessage()})
	}
	return out, nil
}
