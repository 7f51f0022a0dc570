package endings_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ordersaga/ordersaga/orchestrated/endings"
	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/notifications"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// testdata are the histories the workflow's replay test replays, recorded
// from real runs before the customer notification (order-<id>.json) and
// after (order-<id>.notify-customer-1.json).
const testdata = "../workflow/testdata"

func readHistory(t *testing.T, name string) []*historypb.HistoryEvent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var h historypb.History
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.GetEvents()
}

// closeTime returns the time of the history's last event, the workflow's
// completion.
func closeTime(events []*historypb.HistoryEvent) time.Time {
	return events[len(events)-1].GetEventTime().AsTime()
}

// The recorded scenarios and how their orders ended (see
// orchestrated/stack/record_test.go): 2 mugs at 12.50 for c-1, the same
// for a customer whose credit does not cover them, 1 mug cancelled while
// its payment ran.
var scenarios = []struct {
	id     string
	status domain.Status
	reason domain.FailureReason
	total  domain.Cents // when completed
}{
	{"completed", domain.StatusCompleted, "", 2500},
	{"payment-declined", domain.StatusFailed, domain.ReasonPaymentDeclined, 0},
	{"cancelled", domain.StatusCancelled, domain.ReasonCancelled, 0},
}

func TestOf_AfterTheChange_TheNoticeAsScheduled(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.id, func(t *testing.T) {
			events := readHistory(t, "order-"+sc.id+"."+workflow.ChangeNotifyCustomer+"-1")
			e, src, err := endings.Of(saga.Default(), events)
			if err != nil || src != endings.FromNotice {
				t.Fatalf("Of: %s, %v; want from the notice", src, err)
			}
			if e.OrderID != sc.id || e.Status != sc.status || e.Reason != sc.reason || e.EndedAt.IsZero() || e.EndedAt.After(closeTime(events)) {
				t.Fatalf("ending %+v, want %s %s (%s) before the saga closed at %v", e, sc.id, sc.status, sc.reason, closeTime(events))
			}
			n, err := notifications.New(e)
			if err != nil {
				t.Fatal(err)
			}
			if n.TotalCents != sc.total || (sc.status == domain.StatusCompleted) != (n.TrackingNumber != "") {
				t.Fatalf("notification %+v, want total %d and a tracking number when completed", n, sc.total)
			}
		})
	}
}

func TestOf_BeforeTheChange_BackfillsFromTheInputResultAndCloseTime(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.id, func(t *testing.T) {
			events := readHistory(t, "order-"+sc.id)
			e, src, err := endings.Of(saga.Default(), events)
			if err != nil || src != endings.FromResult {
				t.Fatalf("Of: %s, %v; want from the result", src, err)
			}
			if e.OrderID != sc.id || e.CustomerID == "" || e.Status != sc.status || e.Reason != sc.reason || !e.EndedAt.Equal(closeTime(events)) {
				t.Fatalf("ending %+v, want %s %s (%s) at the close %v", e, sc.id, sc.status, sc.reason, closeTime(events))
			}
			n, err := notifications.New(e)
			if err != nil {
				t.Fatal(err)
			}
			if n.TotalCents != sc.total || (sc.status == domain.StatusCompleted) != (n.TrackingNumber != "") {
				t.Fatalf("notification %+v, want total %d and a tracking number when completed", n, sc.total)
			}
		})
	}
}

// TestOf_Backfill_TellsWhatTheNoticeTold derives the ending of the
// histories recorded after the change both ways: from the notice, and as
// a backfill would from the same history without it. They agree but for
// the time (the close comes a moment after the notice).
func TestOf_Backfill_TellsWhatTheNoticeTold(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.id, func(t *testing.T) {
			events := readHistory(t, "order-"+sc.id+"."+workflow.ChangeNotifyCustomer+"-1")
			fromNotice, _, err := endings.Of(saga.Default(), events)
			if err != nil {
				t.Fatal(err)
			}
			fromResult, src, err := endings.Of(saga.Default(), withoutNotice(events))
			if err != nil || src != endings.FromResult {
				t.Fatalf("without the notice: %s, %v", src, err)
			}
			if d := fromResult.EndedAt.Sub(fromNotice.EndedAt); d < 0 || d > 5*time.Second {
				t.Errorf("backfill ended at %v, %v after the notice's %v", fromResult.EndedAt, d, fromNotice.EndedAt)
			}
			fromResult.EndedAt = fromNotice.EndedAt
			if fromResult != fromNotice {
				t.Fatalf("backfill %+v\nnotice   %+v", fromResult, fromNotice)
			}
		})
	}
}

func TestOf_NoEndingYet(t *testing.T) {
	events := readHistory(t, "order-completed")
	// The history up to the first activity: the saga runs.
	var running []*historypb.HistoryEvent
	for _, e := range events {
		if e.GetActivityTaskScheduledEventAttributes() != nil {
			break
		}
		running = append(running, e)
	}
	if _, _, err := endings.Of(saga.Default(), running); !errors.Is(err, endings.ErrNotEnded) {
		t.Fatalf("a running saga: %v, want ErrNotEnded", err)
	}
}

// withoutNotice returns the history without the notification's events.
func withoutNotice(events []*historypb.HistoryEvent) []*historypb.HistoryEvent {
	var out []*historypb.HistoryEvent
	for _, e := range events {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == workflow.ActivityNotifyCustomer {
			continue
		}
		out = append(out, e)
	}
	return out
}
