// Package intake is the orchestrated variant's side of the REST API
// (httpapi.Intake): it places an order by storing it and starting its saga,
// and cancels one through the saga's cancel update.
//
// Placing an order writes twice: the order row, then the workflow. The row
// comes first and the workflow ID is derived from the order ID, so a crash
// between the two leaves a pending order without a saga, never a saga
// without an order; the Reconciler finds such orders and starts their saga,
// and so does a repeated POST. Starting twice is harmless: a running saga
// is reused (WorkflowIDConflictPolicy UseExisting) and a finished one is
// never started again (WorkflowIDReusePolicy RejectDuplicate).
package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/orders"
)

// Temporal is the part of the Temporal client the flow uses;
// client.Client has it.
type Temporal interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	NewWithStartWorkflowOperation(options client.StartWorkflowOptions, workflow any, args ...any) client.WithStartWorkflowOperation
	UpdateWithStartWorkflow(ctx context.Context, options client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error)
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
}

// Store is the order store as the flow uses it; *orders.Store has it.
type Store interface {
	// Create stores a new order (created=true), or returns the one with the
	// same id and request (created=false). Errors: errs.Conflict for the
	// same id with another request.
	Create(ctx context.Context, o *domain.Order) (*domain.Order, bool, error)
	// Get returns one order. Errors: errs.NotFound.
	Get(ctx context.Context, id string) (*domain.Order, error)
	// List returns a page of orders, newest first.
	List(ctx context.Context, f orders.Filter) (orders.Page, error)
}

// ErrSagaEnded: the order's saga already ran to its end; it is never
// started again.
var ErrSagaEnded = errors.New("the order's saga has already ended")

// Service places and cancels orders. It implements httpapi.Intake.
type Service struct {
	temporal Temporal
	store    Store
	log      *slog.Logger
}

// New returns the flow; log may be nil.
func New(t Temporal, s Store, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{temporal: t, store: s, log: log}
}

// Place stores the order and starts its saga. A repeated request (same id,
// same request) returns the stored order with created=false and makes sure
// its saga runs. Errors: errs.Conflict for the same id with another
// request. When the saga cannot be started the order is still accepted:
// the Reconciler starts its saga later.
func (f *Service) Place(ctx context.Context, o *domain.Order) (*domain.Order, bool, error) {
	stored, created, err := f.store.Create(ctx, o)
	if err != nil {
		return nil, false, fmt.Errorf("storing order %s: %w", o.ID(), err)
	}
	if stored.Status().Final() {
		return stored, created, nil
	}
	if err := f.Start(ctx, stored); err != nil && !errors.Is(err, ErrSagaEnded) {
		f.log.WarnContext(ctx, "the order is stored but its saga did not start; the reconciler will start it",
			"order_id", stored.ID(), "error", err)
	}
	return stored, created, nil
}

// Start starts the order's saga unless it runs already. It returns an
// error wrapping ErrSagaEnded when the saga already ended.
//
// The start is eager: when this process runs a worker of the orders task
// queue with a free slot (the orders role hosts both), the server hands the
// saga's first workflow task back with the start's answer, and that worker
// runs it at once, without a round trip through the task queue. Otherwise
// the start is an ordinary one.
func (f *Service) Start(ctx context.Context, o *domain.Order) error {
	opts := StartOptions(o)
	opts.EnableEagerStart = true
	_, err := f.temporal.ExecuteWorkflow(ctx, opts, workflow.Name, workflow.InputOf(o))
	if _, ok := errors.AsType[*serviceerror.WorkflowExecutionAlreadyStarted](err); ok {
		return fmt.Errorf("starting the saga of order %s: %w", o.ID(), ErrSagaEnded)
	}
	if err != nil {
		return fmt.Errorf("starting the saga of order %s: %w", o.ID(), err)
	}
	return nil
}

// StartOptions returns how an order's saga is started: its ID derived from
// the order's, the policies that make a start idempotent, and the memo,
// search attributes and summary that make it easy to find and read in the
// Temporal UI. They suit both ExecuteWorkflow and an update-with-start, so
// they do not ask for an eager start (see Start).
func StartOptions(o *domain.Order) client.StartWorkflowOptions {
	customer := o.Request().CustomerID
	return client.StartWorkflowOptions{
		ID:                                       workflow.WorkflowID(o.ID()),
		TaskQueue:                                string(workflow.TaskQueueOrders),
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		Memo:                                     map[string]any{workflow.MemoCustomerID: customer},
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflow.CustomerIDKey().ValueSet(customer),
			workflow.OrderStatusKey().ValueSet(string(domain.StatusPending)),
		),
		StaticSummary: fmt.Sprintf("Order %s for customer %s", o.ID(), customer),
	}
}

// Cancel asks the order's saga to stop. It returns the order once the saga
// accepted the cancel; the saga then compensates every done step and ends
// the order cancelled. Cancelling a cancelled order returns it as it is.
// Errors: errs.NotFound; errs.Conflict once the order completed or failed,
// or is about to; errs.Unavailable when Temporal cannot be reached.
//
// The cancel is an update-with-start: an order whose saga never started
// (a crash after it was stored) gets a saga that starts cancelled.
func (f *Service) Cancel(ctx context.Context, id string) (*domain.Order, error) {
	o, err := f.store.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("cancelling order %s: %w", id, err)
	}
	if o.Status().Final() {
		return cancelOutcome(o)
	}
	start := f.temporal.NewWithStartWorkflowOperation(StartOptions(o), workflow.Name, workflow.InputOf(o))
	h, err := f.temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName:   workflow.UpdateCancel,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		return f.cancelRefused(ctx, id, err)
	}
	return f.store.Get(ctx, id)
}

// cancelRefused explains a cancel the saga did not accept.
func (f *Service) cancelRefused(ctx context.Context, id string, cause error) (*domain.Order, error) {
	// The saga may have ended meanwhile: the stored order then tells.
	if o, err := f.store.Get(ctx, id); err == nil && o.Status().Final() {
		return cancelOutcome(o)
	}
	if app, ok := errors.AsType[*temporal.ApplicationError](cause); ok && app.Type() == workflow.ErrTypeNotCancellable {
		return nil, errs.Wrap(errs.Conflict, cause, fmt.Sprintf("order %s can no longer be cancelled", id))
	}
	return nil, errs.Wrap(errs.Unavailable, cause, "the order's saga cannot be reached")
}

// cancelOutcome is the answer to cancelling a final order.
func cancelOutcome(o *domain.Order) (*domain.Order, error) {
	if o.Status() == domain.StatusCancelled {
		return o, nil
	}
	return nil, errs.E(errs.Conflict, "order %s is already %s", o.ID(), o.Status())
}
