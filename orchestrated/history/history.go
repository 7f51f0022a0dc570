// Package history tells an order's timeline (shared/timeline) from its
// saga's Temporal workflow history: the workflow's start is the order
// placed; each step's action, scheduled then completed or failed, is the
// step started then done or failed; each compensation, scheduled then
// completed, is the compensation started then the step compensated; the
// completion (CommitInventory) is the inventory step's last start and
// done; the workflow's completion is the order final. Each entry's time is
// the history event's and its service is the service whose task queue ran
// the activity.
//
// The order-store updates, which the workflow runs as local activities
// (markers in the history), are left out: they record in the order store
// what the entries above already show.
package history

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/timeline"
)

// Temporal is the part of the Temporal client the reader uses;
// client.Client has it.
type Temporal interface {
	GetWorkflowHistory(ctx context.Context, workflowID, runID string, isLongPoll bool, filterType enumspb.HistoryEventFilterType) client.HistoryEventIterator
}

// Store is the order store as the reader uses it; *orders.Store has it.
type Store interface {
	// Get returns one order. Errors: errs.NotFound.
	Get(ctx context.Context, id string) (*domain.Order, error)
}

// Reader reads orders' timelines. It implements httpapi.Timeline.
type Reader struct {
	temporal Temporal
	store    Store
	saga     *saga.Saga
}

// New returns a reader of the histories in t of sagas g (saga.Default()
// when nil), for the orders of s.
func New(t Temporal, s Store, g *saga.Saga) *Reader {
	if g == nil {
		g = saga.Default()
	}
	return &Reader{temporal: t, store: s, saga: g}
}

// Timeline returns what happened to the order, sorted by time. An order
// whose saga has no history has what the order store tells: order_placed at
// its creation (its saga has not started yet, see flow.Reconciler), and,
// once the namespace no longer keeps a finished saga's history,
// order_final when it last changed. Errors: errs.NotFound for an unknown
// order; errs.Unavailable when the history cannot be read.
func (r *Reader) Timeline(ctx context.Context, orderID string) ([]timeline.Entry, error) {
	o, err := r.store.Get(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("reading the timeline of order %s: %w", orderID, err)
	}
	events, err := r.read(ctx, orderID)
	if _, ok := errors.AsType[*serviceerror.NotFound](err); ok {
		return withoutHistory(o), nil
	}
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "the order's saga history cannot be read")
	}
	entries := Entries(r.saga, orderID, events)
	final := false
	for i := range entries {
		if entries[i].Kind != timeline.KindOrderFinal {
			continue
		}
		final = true
		// A result this package could not decode: the store knows.
		if entries[i].Status == "" {
			entries[i].Status = o.Status()
		}
	}
	if s := o.State(); !final && s.Status.Final() {
		// The order is final and its saga still runs: it notifies the
		// customer once the final status is recorded, and waits while the
		// notification service is away. The store tells when it ended.
		entries = append(entries, timeline.Entry{At: s.UpdatedAt, Service: string(workflow.TaskQueueOrders), Kind: timeline.KindOrderFinal,
			Status: s.Status, Detail: string(s.FailureReason)})
		timeline.Sort(entries)
	}
	return entries, nil
}

// withoutHistory is the timeline of an order whose saga has no history:
// one not started yet, or one whose history the namespace no longer keeps.
// The order store tells when it was placed and, if final, when it ended.
func withoutHistory(o *domain.Order) []timeline.Entry {
	s := o.State()
	orders := string(workflow.TaskQueueOrders)
	if !s.Status.Final() {
		return []timeline.Entry{{At: s.CreatedAt, Service: orders, Kind: timeline.KindOrderPlaced,
			Detail: "stored; its saga has not started yet"}}
	}
	return []timeline.Entry{
		{At: s.CreatedAt, Service: orders, Kind: timeline.KindOrderPlaced, Detail: "its saga's history is no longer kept"},
		{At: s.UpdatedAt, Service: orders, Kind: timeline.KindOrderFinal, Status: s.Status, Detail: string(s.FailureReason)},
	}
}

// read returns every event of the order's saga history.
func (r *Reader) read(ctx context.Context, orderID string) ([]*historypb.HistoryEvent, error) {
	it := r.temporal.GetWorkflowHistory(ctx, workflow.WorkflowID(orderID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("reading the saga history of order %s: %w", orderID, err)
		}
		events = append(events, e)
	}
	return events, nil
}

// role is what an activity is to its step.
type role int

const (
	roleAction role = iota + 1
	roleCompensation
	roleCompletion
)

// activity is a scheduled activity of the saga, as later events refer to
// it.
type activity struct {
	name            string
	step            domain.StepName
	role            role
	service         string
	attempt         int32
	cancelRequested bool
}

// classify tells what the activity named name is to the saga; false for
// an activity that is no step's (the order-store updates).
func classify(g *saga.Saga, name string) (domain.StepName, role, bool) {
	s, ok := g.StepOfAction(saga.Action(name))
	switch {
	case !ok:
		return "", 0, false
	case name == workflow.ActivityName(s.Action):
		return s.Name, roleAction, true
	case name == workflow.ActivityName(s.Compensation):
		return s.Name, roleCompensation, true
	}
	return s.Name, roleCompletion, true
}

// Entries tells the timeline of the order from its saga's history events,
// sorted by time. The order's final status is decoded from the workflow's
// result; it is empty when the result cannot be decoded.
func Entries(g *saga.Saga, orderID string, events []*historypb.HistoryEvent) []timeline.Entry {
	dc := converter.GetDefaultDataConverter()
	orders := string(workflow.TaskQueueOrders)
	scheduled := map[int64]*activity{}
	var out []timeline.Entry
	for _, e := range events {
		at := e.GetEventTime().AsTime()
		switch {
		case e.GetWorkflowExecutionStartedEventAttributes() != nil:
			out = append(out, timeline.Entry{At: at, Service: orders, Kind: timeline.KindOrderPlaced,
				Detail: "saga " + workflow.WorkflowID(orderID) + " started"})

		case e.GetActivityTaskScheduledEventAttributes() != nil:
			a := e.GetActivityTaskScheduledEventAttributes()
			name := a.GetActivityType().GetName()
			step, rl, ok := classify(g, name)
			if !ok {
				continue
			}
			act := &activity{name: name, step: step, role: rl, service: serviceOf(g, name, a.GetTaskQueue().GetName())}
			scheduled[e.GetEventId()] = act
			kind := timeline.KindStepStarted
			if rl == roleCompensation {
				kind = timeline.KindCompensationStarted
			}
			out = append(out, timeline.Entry{At: at, Service: act.service, Kind: kind, Step: step, Detail: act.describe()})

		case e.GetActivityTaskStartedEventAttributes() != nil:
			a := e.GetActivityTaskStartedEventAttributes()
			if act := scheduled[a.GetScheduledEventId()]; act != nil {
				act.attempt = a.GetAttempt()
			}

		case e.GetActivityTaskCancelRequestedEventAttributes() != nil:
			if act := scheduled[e.GetActivityTaskCancelRequestedEventAttributes().GetScheduledEventId()]; act != nil {
				act.cancelRequested = true
			}

		case e.GetActivityTaskCompletedEventAttributes() != nil:
			a := e.GetActivityTaskCompletedEventAttributes()
			act := scheduled[a.GetScheduledEventId()]
			if act == nil {
				continue
			}
			entry := timeline.Entry{At: at, Service: act.service, Kind: timeline.KindStepDone, Step: act.step, Detail: act.describe()}
			if act.role == roleCompensation {
				entry.Kind = timeline.KindStepCompensated
				var c workflow.Compensation
				outcome := timeline.DetailUndone
				if err := dc.FromPayloads(a.GetResult(), &c); err == nil && c.Tombstone {
					outcome = timeline.DetailTombstone
				}
				entry.Detail = act.name + ": " + outcome
			} else if act.cancelRequested {
				entry.Detail += ", after the saga had abandoned it"
			}
			out = append(out, entry)

		case e.GetActivityTaskFailedEventAttributes() != nil:
			a := e.GetActivityTaskFailedEventAttributes()
			if act := scheduled[a.GetScheduledEventId()]; act != nil {
				out = append(out, act.failed(at, failureReason(g, act.step, a.GetFailure().GetApplicationFailureInfo().GetType())))
			}

		case e.GetActivityTaskTimedOutEventAttributes() != nil:
			if act := scheduled[e.GetActivityTaskTimedOutEventAttributes().GetScheduledEventId()]; act != nil {
				out = append(out, act.failed(at, workflow.ReasonGaveUp))
			}

		case e.GetActivityTaskCanceledEventAttributes() != nil:
			if act := scheduled[e.GetActivityTaskCanceledEventAttributes().GetScheduledEventId()]; act != nil {
				out = append(out, act.failed(at, domain.ReasonCancelled))
			}

		case e.GetWorkflowExecutionCompletedEventAttributes() != nil:
			var res workflow.Result
			if err := dc.FromPayloads(e.GetWorkflowExecutionCompletedEventAttributes().GetResult(), &res); err != nil {
				res = workflow.Result{}
			}
			out = append(out, timeline.Entry{At: at, Service: orders, Kind: timeline.KindOrderFinal,
				Status: res.Status, Detail: string(res.FailureReason)})
		}
	}
	timeline.Sort(out)
	return out
}

// serviceOf returns the service that runs an activity: its task queue's,
// or the saga's own choice when the history names no task queue.
func serviceOf(g *saga.Saga, name, taskQueue string) string {
	if taskQueue != "" {
		return taskQueue
	}
	return string(workflow.TaskQueueOfActivity(g, name))
}

// describe returns the activity's name, marked when it is the completion,
// with its attempts when it took more than one.
func (a *activity) describe() string {
	d := a.name
	if a.role == roleCompletion {
		d += " (completion)"
	}
	if a.attempt > 1 {
		d += fmt.Sprintf(", after %d attempts", a.attempt)
	}
	return d
}

// failed returns the entry of the activity's failure for a reason.
func (a *activity) failed(at time.Time, reason domain.FailureReason) timeline.Entry {
	return timeline.Entry{At: at, Service: a.service, Kind: timeline.KindStepFailed, Step: a.step,
		Detail: a.describe() + ": " + string(reason)}
}

// failureReason maps the error type of a failed action onto the order's
// failure reason: the step's refusal, cancelled for an action that came
// after its compensation, and otherwise the saga giving up.
func failureReason(g *saga.Saga, step domain.StepName, errType string) domain.FailureReason {
	if s, ok := g.Step(step); ok {
		if reason, ok := workflow.RefusalOf(s, errType); ok {
			return reason
		}
	}
	if errType == workflow.ErrTypeCompensated {
		return domain.ReasonCancelled
	}
	return workflow.ReasonGaveUp
}
