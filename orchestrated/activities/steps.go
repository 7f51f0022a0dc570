package activities

import (
	"context"

	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/participant"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// Step runs one saga step's activities against the service that carries it
// out: the action, the compensation and the completion, each in a
// transaction of the service's own database. Register its methods on the
// step's task queue (workflow.TaskQueueOf) under the step's action names
// (see worker).
type Step struct {
	Participant participant.Participant
}

// Act runs the step's action. A refusal becomes a non-retryable error of
// the reason's type (workflow.RefusalType).
func (a *Step) Act(ctx context.Context, in saga.Input) (saga.Outcome, error) {
	out, err := participant.Act(ctx, a.Participant, in)
	return out, actionError(err)
}

// Undo runs the step's compensation; Tombstone reports that there was
// nothing to undo.
func (a *Step) Undo(ctx context.Context, orderID string) (workflow.Compensation, error) {
	u, err := participant.Undo(ctx, a.Participant, orderID)
	if err != nil {
		return workflow.Compensation{}, err
	}
	return workflow.Compensation{Tombstone: u == saga.Tombstone}, nil
}

// Complete runs the step's completion.
func (a *Step) Complete(ctx context.Context, orderID string) error {
	return participant.Complete(ctx, a.Participant, orderID)
}
