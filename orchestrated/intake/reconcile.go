package intake

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/orders"
)

// Reconciler starts the saga of every pending order that has none: the
// orders stored by a process that stopped before it started their saga.
type Reconciler struct {
	intake *Service
	now    func() time.Time
	// retrying is how many pending orders, at the last pass, had a step
	// whose activity had failed and was being retried.
	retrying atomic.Int64
}

// NewReconciler returns a reconciler over the intake's store and Temporal;
// now is the clock (time.Now when nil).
func NewReconciler(f *Service, now func() time.Time) *Reconciler {
	if now == nil {
		now = time.Now
	}
	return &Reconciler{intake: f, now: now}
}

// Reconcile looks at every pending order created at least minAge ago and
// starts its saga when it has none. It returns the ids of the orders whose
// saga it started. A pending order whose saga has ended (terminated by an
// operator, say) is logged: it needs a person.
func (r *Reconciler) Reconcile(ctx context.Context, minAge time.Duration) ([]string, error) {
	cutoff := r.now().Add(-minAge)
	var started []string
	var errList []error
	var retrying int64
	filter := orders.Filter{Status: domain.StatusPending, Limit: orders.MaxListLimit}
	for {
		page, err := r.intake.store.List(ctx, filter)
		if err != nil {
			return started, fmt.Errorf("listing pending orders: %w", err)
		}
		for _, o := range page.Orders {
			if o.State().CreatedAt.After(cutoff) {
				continue
			}
			ok, retries, err := r.reconcile(ctx, o)
			if err != nil {
				errList = append(errList, err)
			}
			if retries {
				retrying++
			}
			if ok {
				started = append(started, o.ID())
			}
		}
		if page.NextCursor == "" || ctx.Err() != nil {
			break
		}
		filter.Cursor = page.NextCursor
	}
	r.retrying.Store(retrying)
	return started, errors.Join(errList...)
}

// Retrying returns how many pending orders, at the last pass (orders at
// least its minimum age old), had a step whose activity had failed and was
// being retried: the orchestrated variant's ordersaga_orders_retrying.
func (r *Reconciler) Retrying() int64 { return r.retrying.Load() }

// reconcile starts one pending order's saga if it has none, and reports
// whether it started it and whether a running saga retries an activity
// that failed.
func (r *Reconciler) reconcile(ctx context.Context, o *domain.Order) (started, retrying bool, err error) {
	d, err := r.intake.temporal.DescribeWorkflowExecution(ctx, workflow.WorkflowID(o.ID()), "")
	if err == nil {
		if st := d.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			r.warnEnded(ctx, o.ID(), st)
		}
		for _, pa := range d.GetPendingActivities() {
			retrying = retrying || pa.GetAttempt() > 1
		}
		return false, retrying, nil
	}
	if _, ok := errors.AsType[*serviceerror.NotFound](err); !ok {
		return false, false, fmt.Errorf("looking up the saga of order %s: %w", o.ID(), err)
	}
	if err := r.intake.Start(ctx, o); err != nil {
		if errors.Is(err, ErrSagaEnded) {
			return false, false, nil
		}
		return false, false, err
	}
	r.intake.log.InfoContext(ctx, "started the saga of a pending order that had none", "order_id", o.ID())
	return true, false, nil
}

// warnEnded logs a pending order whose saga has ended without finishing
// it: it needs a person. The saga may have finished the order between the
// listing and the look-up, so the order is read again first and only a
// still pending one is reported.
func (r *Reconciler) warnEnded(ctx context.Context, orderID string, st enumspb.WorkflowExecutionStatus) {
	o, err := r.intake.store.Get(ctx, orderID)
	if err == nil && o.Status().Final() {
		return
	}
	r.intake.log.WarnContext(ctx, "a pending order's saga has ended without finishing the order",
		"order_id", orderID, "workflow_id", workflow.WorkflowID(orderID), "workflow_status", st.String())
}

// Run reconciles once at once (every pending order), then every interval
// (orders pending for at least minAge), until ctx ends. Failures are
// logged and retried at the next round.
func (r *Reconciler) Run(ctx context.Context, interval, minAge time.Duration) {
	age := time.Duration(0)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := r.Reconcile(ctx, age); err != nil && ctx.Err() == nil {
			r.intake.log.WarnContext(ctx, "reconciling pending orders", "error", err)
		}
		age = minAge
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
