// Package endings tells how orders ended from their sagas' Temporal
// workflow histories, and rebuilds the notification service's projection
// (shared/notifications) from them.
//
// A saga that ran the customer notification (workflow.ChangeNotifyCustomer)
// has the NotifyCustomer activity's scheduled input in its history: the
// notice the notification service recorded, its end time included, so the
// rebuilt notification is the recorded one. A saga that ended before the
// notification existed has none: its ending is read from the workflow's
// input (order, customer), the outcomes of its steps' actions (the priced
// total), its result (status, reason, tracking number) and its close time;
// the rebuild then backfills a notification its customer never had.
//
// Histories are kept for the namespace's retention period after a saga
// closes: what closed before it is no longer listed, and a rebuild cannot
// bring it back.
package endings

import (
	"errors"
	"fmt"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"

	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/notifications"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// Source says where an ending was read in a history.
type Source string

// The sources of an ending.
const (
	// FromNotice: the NotifyCustomer activity's scheduled input.
	FromNotice Source = "notice"
	// FromResult: the workflow's input, its steps' outcomes, its result
	// and its close time, for a saga that ended without the notification.
	FromResult Source = "result"
)

// ErrNotEnded says a history tells no ending: the saga runs and has not
// reached its notification yet, or it closed without a result (it was
// terminated, or timed out).
var ErrNotEnded = errors.New("the saga's history tells no ending")

// Of returns how the order of a saga's history ended, and where it was
// read. Errors: ErrNotEnded; an error for a payload that does not decode.
func Of(g *saga.Saga, events []*historypb.HistoryEvent) (notifications.Ending, Source, error) {
	h, err := read(g, events)
	if err != nil {
		return notifications.Ending{}, "", err
	}
	if h.notice != nil {
		return h.notice.Ending(), FromNotice, nil
	}
	if h.result == nil {
		return notifications.Ending{}, "", fmt.Errorf("order %s: %w", h.in.OrderID, ErrNotEnded)
	}
	return h.fromResult(), FromResult, nil
}

// history is what a saga's history tells of its order's ending.
type history struct {
	// in is the workflow's input, with what the steps' outcomes added
	// (the priced total), as the saga had it at its end.
	in saga.Input
	// notice is the NotifyCustomer activity's input, when scheduled.
	notice *workflow.Notice
	// result and closed are the workflow's result and close time, once it
	// completed.
	result *workflow.Result
	closed time.Time
}

// read decodes what the history tells of the order's ending.
func read(g *saga.Saga, events []*historypb.HistoryEvent) (history, error) {
	dc := converter.GetDefaultDataConverter()
	var h history
	actions := map[int64]bool{} // scheduled event ids of the steps' actions
	for _, e := range events {
		switch {
		case e.GetWorkflowExecutionStartedEventAttributes() != nil:
			if err := dc.FromPayloads(e.GetWorkflowExecutionStartedEventAttributes().GetInput(), &h.in); err != nil {
				return history{}, fmt.Errorf("decoding the input of a saga: %w", err)
			}

		case e.GetActivityTaskScheduledEventAttributes() != nil:
			a := e.GetActivityTaskScheduledEventAttributes()
			name := a.GetActivityType().GetName()
			if name == workflow.ActivityNotifyCustomer {
				var n workflow.Notice
				if err := dc.FromPayloads(a.GetInput(), &n); err != nil {
					return history{}, fmt.Errorf("decoding the notice of order %s: %w", h.in.OrderID, err)
				}
				h.notice = &n
				continue
			}
			if s, ok := g.StepOfAction(saga.Action(name)); ok && name == workflow.ActivityName(s.Action) {
				actions[e.GetEventId()] = true
			}

		case e.GetActivityTaskCompletedEventAttributes() != nil:
			a := e.GetActivityTaskCompletedEventAttributes()
			if !actions[a.GetScheduledEventId()] {
				continue
			}
			var out saga.Outcome
			if err := dc.FromPayloads(a.GetResult(), &out); err != nil {
				return history{}, fmt.Errorf("decoding a step's outcome for order %s: %w", h.in.OrderID, err)
			}
			h.in = out.Apply(h.in)

		case e.GetWorkflowExecutionCompletedEventAttributes() != nil:
			var res workflow.Result
			if err := dc.FromPayloads(e.GetWorkflowExecutionCompletedEventAttributes().GetResult(), &res); err != nil {
				return history{}, fmt.Errorf("decoding the result of order %s's saga: %w", h.in.OrderID, err)
			}
			h.result, h.closed = &res, e.GetEventTime().AsTime()
		}
	}
	return h, nil
}

// fromResult is the ending of a completed saga read from its input, its
// steps' outcomes, its result and its close time: what the saga would have
// notified had it run the notification (the time aside: the close of the
// workflow, a moment after the notice's).
func (h history) fromResult() notifications.Ending {
	return notifications.Ending{
		OrderID: h.in.OrderID, CustomerID: h.in.CustomerID, Status: h.result.Status, Reason: h.result.FailureReason,
		TrackingNumber: h.result.TrackingNumber, TotalCents: h.in.TotalCents, EndedAt: h.closed,
	}
}
