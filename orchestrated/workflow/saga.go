package workflow

import (
	"errors"
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// Saga is the OrderSaga workflow of one saga definition. Register its
// OrderSaga method under the name Name.
type Saga struct {
	def    *saga.Saga
	policy saga.Policy
	// beforeNotify runs the saga as it was before the customer
	// notification (ChangeNotifyCustomer): no GetVersion call and no
	// ActivityNotifyCustomer. Only tests set it, to run a worker of that
	// code (see export_test.go).
	beforeNotify bool
}

// New returns the workflow that runs saga g (saga.Default() when nil)
// under the failure model p (its zero fields the defaults).
func New(g *saga.Saga, p saga.Policy) *Saga {
	if g == nil {
		g = saga.Default()
	}
	return &Saga{def: g, policy: p.WithDefaults()}
}

// Definition returns the saga the workflow runs.
func (w *Saga) Definition() *saga.Saga { return w.def }

// OrderSaga runs the saga of one order: each step of the saga in turn, then
// the completion of every step that has one, recording progress in the
// order store as it goes.
//
// A step's compensation is registered right after the step succeeds. When
// a step refuses (a business failure), or a cancel arrives (the
// UpdateCancel update, or a cancellation of the workflow itself), the
// registered compensations run in reverse order in a disconnected context
// and the order ends failed or cancelled. A cancel that arrives while a
// step's action runs abandons the action and compensates that step too:
// compensations are safe before or without their action, which then becomes
// a no-op. Once every compensation ran, the order's final status is
// recorded, so a client that sees it final sees every effect undone.
//
// Once the order's final status is recorded, the customer is notified
// (ActivityNotifyCustomer on the notification service, retried until it
// is recorded) and the workflow completes. Sagas that ended before the
// notification existed replay without it (see notify).
func (w *Saga) OrderSaga(ctx workflow.Context, in saga.Input) (Result, error) {
	r := newRun(ctx, w.def, in)
	r.policy = w.policy
	r.beforeNotify = w.beforeNotify
	if err := r.registerHandlers(ctx); err != nil {
		return Result{}, err
	}
	return r.execute(ctx)
}

// run is the state of one saga execution. Only workflow code touches it.
type run struct {
	def    *saga.Saga
	policy saga.Policy
	in     saga.Input
	phase  Phase
	status domain.Status
	reason domain.FailureReason
	steps  []StepView
	// running is the step whose action runs now; cancelStep abandons it.
	running    domain.StepName
	cancelStep workflow.CancelFunc
	// cancelRequested: the client asked to cancel (or the workflow was
	// cancelled).
	cancelRequested bool
	// compensations holds the steps to undo, in the order they ran; they
	// are undone from the last.
	compensations []saga.Step
	// gaveUp is the step that kept failing past its deadline: it is
	// recorded failed, and its compensation (it may have taken effect)
	// leaves that record as it is.
	gaveUp   domain.StepName
	tracking string
	// beforeNotify: see Saga.
	beforeNotify bool
	// recorder runs the order-store updates. It is disconnected from the
	// workflow's context: the record of what happened must be written even
	// when the workflow is cancelled.
	recorder workflow.Context
}

func newRun(ctx workflow.Context, def *saga.Saga, in saga.Input) *run {
	r := &run{def: def, in: in, phase: PhaseRunning, status: domain.StatusPending}
	for _, name := range def.Names() {
		r.steps = append(r.steps, StepView{Step: name, Status: domain.StepPending})
	}
	r.recorder, _ = workflow.NewDisconnectedContext(ctx)
	return r
}

// registerHandlers sets the status query and the cancel update.
func (r *run) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (State, error) { return r.state(), nil }); err != nil {
		return fmt.Errorf("setting the %s query handler: %w", QueryStatus, err)
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancel, r.requestCancel,
		workflow.UpdateHandlerOptions{Validator: r.validateCancel, Description: "stop the order and undo every step done"})
	if err != nil {
		return fmt.Errorf("setting the %s update handler: %w", UpdateCancel, err)
	}
	return nil
}

// validateCancel accepts a cancel while the order can still be stopped (and
// a repeated one), and rejects it once the order is completing, completed,
// failing or failed.
func (r *run) validateCancel(workflow.Context) error {
	switch {
	case r.cancelRequested || r.status == domain.StatusCancelled:
		return nil
	case r.phase == PhaseCompleting || r.status == domain.StatusCompleted:
		return notCancellable(r.in.OrderID, "completing")
	case r.phase != PhaseRunning:
		return notCancellable(r.in.OrderID, "failing")
	}
	return nil
}

func notCancellable(orderID, why string) error {
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("order %s is %s and can no longer be cancelled", orderID, why),
		ErrTypeNotCancellable, temporal.ApplicationErrorOptions{NonRetryable: true, Category: temporal.ApplicationErrorCategoryBenign})
}

// requestCancel records the cancel and abandons the running action, if
// any; the main loop then compensates.
func (r *run) requestCancel(ctx workflow.Context) (State, error) {
	if !r.cancelRequested {
		r.cancelRequested = true
		workflow.GetLogger(ctx).Info("Cancel requested", "order_id", r.in.OrderID, "RunningStep", r.running)
		if r.cancelStep != nil {
			r.cancelStep()
		}
	}
	return r.state(), nil
}

// stopRequested reports whether the saga must stop: a cancel was accepted
// or the workflow itself was cancelled.
func (r *run) stopRequested(ctx workflow.Context) bool {
	if ctx.Err() != nil {
		r.cancelRequested = true
	}
	return r.cancelRequested
}

// execute runs the steps, then the completion or the compensations.
func (r *run) execute(ctx workflow.Context) (Result, error) {
	for _, step := range r.def.Steps() {
		if r.stopRequested(ctx) {
			return r.unwind(ctx, domain.StatusCancelled, domain.ReasonCancelled)
		}
		out, err := r.runAction(ctx, step)
		if err != nil {
			return r.stop(ctx, step, err)
		}
		// The step took effect: from now on its compensation is due if the
		// saga stops.
		r.compensations = append(r.compensations, step)
		if err := r.recordDone(step, out); err != nil {
			return Result{}, err
		}
	}
	if r.stopRequested(ctx) {
		return r.unwind(ctx, domain.StatusCancelled, domain.ReasonCancelled)
	}
	return r.complete(ctx)
}

// runAction runs a step's action on its service's task queue. A cancel
// abandons it (the action may still take effect; its compensation will
// undo it or make it a no-op).
func (r *run) runAction(ctx workflow.Context, step saga.Step) (saga.Outcome, error) {
	stepCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	r.running, r.cancelStep = step.Name, cancel
	defer func() { r.running, r.cancelStep = "", nil }()

	summary := fmt.Sprintf("order %s: %s step", r.in.OrderID, step.Name)
	var out saga.Outcome
	err := workflow.ExecuteActivity(actionOptions(stepCtx, TaskQueueOf(step.Name), r.policy.StepDeadline, summary), ActivityName(step.Action), r.in).Get(stepCtx, &out)
	return out, err
}

// recordDone keeps what the step found out and records the step done.
func (r *run) recordDone(step saga.Step, out saga.Outcome) error {
	rec := StepRecord{OrderID: r.in.OrderID, Step: step.Name, Status: domain.StepDone,
		Prices: out.Prices, TrackingNumber: out.TrackingNumber}
	r.in = out.Apply(r.in)
	if out.TrackingNumber != "" {
		r.tracking = out.TrackingNumber
	}
	return r.recordStep(rec)
}

// stop handles a step's action that did not succeed.
func (r *run) stop(ctx workflow.Context, step saga.Step, err error) (Result, error) {
	log := workflow.GetLogger(ctx)
	r.phase = PhaseCompensating
	switch {
	case temporal.IsCanceledError(err):
		// Abandoned by a cancel: the action may have taken effect.
		log.Info("Step abandoned by a cancel", "order_id", r.in.OrderID, "Step", step.Name)
		r.compensations = append(r.compensations, step)
		r.cancelRequested = true
		return r.unwind(ctx, domain.StatusCancelled, domain.ReasonCancelled)
	case refused(step, err) != "":
		// Refused: the step left nothing to undo.
		reason := refused(step, err)
		log.Info("Step refused", "order_id", r.in.OrderID, "Step", step.Name, "Reason", reason)
		if err := r.recordStep(StepRecord{OrderID: r.in.OrderID, Step: step.Name, Status: domain.StepFailed, Reason: reason}); err != nil {
			return Result{}, err
		}
		if r.cancelRequested {
			return r.unwind(ctx, domain.StatusCancelled, domain.ReasonCancelled)
		}
		return r.unwind(ctx, domain.StatusFailed, reason)
	case hasErrorType(err, ErrTypeCompensated):
		// The step's compensation already ran: the order was cancelled
		// meanwhile.
		r.compensations = append(r.compensations, step)
		r.cancelRequested = true
		return r.unwind(ctx, domain.StatusCancelled, domain.ReasonCancelled)
	default:
		// The step deadline passed. Whether the action took effect is
		// unknown: compensate it too.
		log.Error("Step gave up", "order_id", r.in.OrderID, "Step", step.Name, "Error", err)
		if err := r.recordStep(StepRecord{OrderID: r.in.OrderID, Step: step.Name, Status: domain.StepFailed, Reason: ReasonGaveUp}); err != nil {
			return Result{}, err
		}
		r.gaveUp = step.Name
		r.compensations = append(r.compensations, step)
		if r.cancelRequested {
			return r.unwind(ctx, domain.StatusCancelled, domain.ReasonCancelled)
		}
		return r.unwind(ctx, domain.StatusFailed, ReasonGaveUp)
	}
}

// refused returns the reason of the step's refusal err reports, or "".
func refused(step saga.Step, err error) domain.FailureReason {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return ""
	}
	reason, _ := RefusalOf(step, app.Type())
	return reason
}

// hasErrorType reports whether err carries an application error of type t.
func hasErrorType(err error, t string) bool {
	var app *temporal.ApplicationError
	return t != "" && errors.As(err, &app) && app.Type() == t
}

// unwind runs the registered compensations in reverse order, in a context
// disconnected from the workflow's, recording each step; then it records
// the order's final status.
func (r *run) unwind(ctx workflow.Context, status domain.Status, reason domain.FailureReason) (Result, error) {
	r.phase = PhaseCompensating
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	for i := len(r.compensations) - 1; i >= 0; i-- {
		step := r.compensations[i]
		summary := fmt.Sprintf("order %s: undo %s step", r.in.OrderID, step.Name)
		var c Compensation
		err := workflow.ExecuteActivity(untilDoneOptions(dctx, TaskQueueOf(step.Name), summary), ActivityName(step.Compensation), r.in.OrderID).Get(dctx, &c)
		if err != nil {
			return Result{}, fmt.Errorf("compensating the %s step of order %s: %w", step.Name, r.in.OrderID, err)
		}
		if step.Name == r.gaveUp {
			continue // recorded failed; its compensation only made sure
		}
		to := domain.StepCompensated
		if c.Tombstone {
			to = domain.StepSkipped
		}
		if err := r.recordStep(StepRecord{OrderID: r.in.OrderID, Step: step.Name, Status: to}); err != nil {
			return Result{}, err
		}
	}
	r.compensations = nil
	var err error
	if status == domain.StatusCancelled {
		err = r.record(ActivityCancelOrder, "cancelled", r.in.OrderID)
	} else {
		err = r.record(ActivityFailOrder, "failed: "+string(reason), Failure{OrderID: r.in.OrderID, Reason: reason})
	}
	if err != nil {
		return Result{}, err
	}
	return r.end(dctx, status, reason), nil
}

// complete runs the completion of every step that has one, in step
// order, and records the order completed. From here on the order can no
// longer be cancelled.
func (r *run) complete(ctx workflow.Context) (Result, error) {
	r.phase = PhaseCompleting
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	for _, step := range r.def.Completions() {
		summary := fmt.Sprintf("order %s: complete %s step", r.in.OrderID, step.Name)
		err := workflow.ExecuteActivity(untilDoneOptions(dctx, TaskQueueOf(step.Name), summary), ActivityName(step.Completion), r.in.OrderID).Get(dctx, nil)
		if err != nil {
			return Result{}, fmt.Errorf("completing the %s step of order %s: %w", step.Name, r.in.OrderID, err)
		}
	}
	if err := r.record(ActivityCompleteOrder, "completed", Completion{OrderID: r.in.OrderID, TrackingNumber: r.tracking}); err != nil {
		return Result{}, err
	}
	return r.end(dctx, domain.StatusCompleted, ""), nil
}

// end finishes the saga once the order's final status is recorded, then
// notifies the customer; ctx is disconnected from the workflow's, so a
// cancelled workflow notifies too.
func (r *run) end(ctx workflow.Context, status domain.Status, reason domain.FailureReason) Result {
	res := r.finish(ctx, status, reason)
	r.notify(ctx, res)
	return res
}

// notify has the notification service record the customer's notification
// of the order's ending (ActivityNotifyCustomer), retried until it is
// recorded; the ending's time is the workflow's, passed in the activity's
// input, so a rebuild from the history reproduces it exactly.
//
// The notification was added while sagas ran, so it is guarded by the
// version ChangeNotifyCustomer. A saga that reaches this point on this
// code records the version marker and notifies. A saga that ended on the
// code before (its history has no marker here) replays to
// workflow.DefaultVersion and completes as it did, without the activity
// its history does not have. A saga started on the code before and ending
// on this one reaches this point for the first time here, so it notifies.
//
// The notification cannot fail the order: it is already final. A
// notification the service refuses (its data cannot make one, which
// retrying cannot change) is logged and the saga completes.
func (r *run) notify(ctx workflow.Context, res Result) {
	if r.beforeNotify {
		return
	}
	if workflow.GetVersion(ctx, ChangeNotifyCustomer, workflow.DefaultVersion, VersionNotifyCustomer) == workflow.DefaultVersion {
		return
	}
	n := Notice{
		OrderID: r.in.OrderID, CustomerID: r.in.CustomerID, Status: res.Status, Reason: res.FailureReason,
		TrackingNumber: res.TrackingNumber, TotalCents: r.in.TotalCents, EndedAt: workflow.Now(ctx),
	}
	summary := fmt.Sprintf("order %s: notify customer %s (%s)", r.in.OrderID, r.in.CustomerID, res.Status)
	err := workflow.ExecuteActivity(untilDoneOptions(ctx, TaskQueueNotifications, summary), ActivityNotifyCustomer, n).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("The customer's notification was refused", "order_id", r.in.OrderID, "Error", err)
	}
}

// finish sets the final status and tags the workflow with it.
func (r *run) finish(ctx workflow.Context, status domain.Status, reason domain.FailureReason) Result {
	r.phase, r.status, r.reason = PhaseFinished, status, reason
	for i := range r.steps {
		if r.steps[i].Status == domain.StepPending {
			r.steps[i].Status = domain.StepSkipped
		}
	}
	// Tag only a workflow that was started with the attribute: the
	// namespace then declares it.
	if _, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(OrderStatusKey()); ok {
		if err := workflow.UpsertTypedSearchAttributes(ctx, OrderStatusKey().ValueSet(string(status))); err != nil {
			workflow.GetLogger(ctx).Warn("Tagging the workflow with its status", "order_id", r.in.OrderID, "Error", err)
		}
	}
	workflow.GetLogger(ctx).Info("Order finished", "order_id", r.in.OrderID, "Status", status, "Reason", reason)
	return Result{Status: status, FailureReason: reason, TrackingNumber: r.tracking}
}

// recordStep moves a step in the saga's view and in the order store.
func (r *run) recordStep(rec StepRecord) error {
	for i := range r.steps {
		if r.steps[i].Step == rec.Step {
			r.steps[i].Status = rec.Status
		}
	}
	return r.record(ActivityRecordStep, fmt.Sprintf("%s %s", rec.Step, rec.Status), rec)
}

// record runs an order-store update, a local activity of the order
// service, until it succeeds.
func (r *run) record(activity, what string, arg any) error {
	summary := fmt.Sprintf("order %s: record %s", r.in.OrderID, what)
	if err := workflow.ExecuteLocalActivity(recordOptions(r.recorder, summary), activity, arg).Get(r.recorder, nil); err != nil {
		return fmt.Errorf("recording %s for order %s: %w", what, r.in.OrderID, err)
	}
	return nil
}

// state returns a copy of the saga's state.
func (r *run) state() State {
	return State{
		OrderID:         r.in.OrderID,
		Phase:           r.phase,
		Status:          r.status,
		FailureReason:   r.reason,
		Steps:           slices.Clone(r.steps),
		Running:         r.running,
		CancelRequested: r.cancelRequested,
		TotalCents:      r.in.TotalCents,
		TrackingNumber:  r.tracking,
	}
}
