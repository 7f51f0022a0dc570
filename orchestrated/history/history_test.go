package history_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/ordersaga/ordersaga/orchestrated/history"
	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/timeline"
)

// recorded reads a history recorded from a real run of the saga (the
// workflow package's replay test data).
func recorded(t *testing.T, name string) []*historypb.HistoryEvent {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "workflow", "testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return h.GetEvents()
}

// lines shows entries as "service kind step status: detail", and fails
// the test unless they are sorted by time.
func lines(t *testing.T, es []timeline.Entry) []string {
	t.Helper()
	var out []string
	for i, e := range es {
		if i > 0 && e.At.Before(es[i-1].At) {
			t.Errorf("entry %d (%v) is before entry %d (%v)", i, e.At, i-1, es[i-1].At)
		}
		out = append(out, fmt.Sprintf("%s %s %s %s: %s", e.Service, e.Kind, e.Step, e.Status, e.Detail))
	}
	return out
}

func expectLines(t *testing.T, got []timeline.Entry, want []string) {
	t.Helper()
	if g := lines(t, got); !slices.Equal(g, want) {
		t.Fatalf("timeline:\n%s\nwant:\n%s", fmt.Sprint(g), fmt.Sprint(want))
	}
}

func TestEntries_CompletedSaga_ListsEachStepThenTheCompletion(t *testing.T) {
	expectLines(t, history.Entries(saga.Default(), "completed", recorded(t, "order-completed")), []string{
		"orders order_placed  : saga order-completed started",
		"inventory step_started inventory : ReserveInventory",
		"inventory step_done inventory : ReserveInventory",
		"payment step_started payment : ChargePayment",
		"payment step_done payment : ChargePayment",
		"shipping step_started shipping : CreateShipment",
		"shipping step_done shipping : CreateShipment",
		"inventory step_started inventory : CommitInventory (completion)",
		"inventory step_done inventory : CommitInventory (completion)",
		"orders order_final  completed: ",
	})
}

func TestEntries_RefusedStep_FailsItAndCompensatesTheStepsBefore(t *testing.T) {
	expectLines(t, history.Entries(saga.Default(), "payment-declined", recorded(t, "order-payment-declined")), []string{
		"orders order_placed  : saga order-payment-declined started",
		"inventory step_started inventory : ReserveInventory",
		"inventory step_done inventory : ReserveInventory",
		"payment step_started payment : ChargePayment",
		"payment step_failed payment : ChargePayment: payment_declined",
		"inventory compensation_started inventory : ReleaseInventory",
		"inventory step_compensated inventory : ReleaseInventory: undone",
		"orders order_final  failed: payment_declined",
	})
}

func TestEntries_CancelledSaga_ShowsTheAbandonedActionInTimeOrder(t *testing.T) {
	// The cancel abandoned ChargePayment; its compensation started at once,
	// and the late action's completion is listed when it happened.
	expectLines(t, history.Entries(saga.Default(), "cancelled", recorded(t, "order-cancelled")), []string{
		"orders order_placed  : saga order-cancelled started",
		"inventory step_started inventory : ReserveInventory",
		"inventory step_done inventory : ReserveInventory",
		"payment step_started payment : ChargePayment",
		"payment compensation_started payment : RefundPayment",
		"payment step_done payment : ChargePayment, after the saga had abandoned it",
		"payment step_compensated payment : RefundPayment: undone",
		"inventory compensation_started inventory : ReleaseInventory",
		"inventory step_compensated inventory : ReleaseInventory: undone",
		"orders order_final  cancelled: cancelled",
	})
}

// fakeTemporal serves one history, or fails every read.
type fakeTemporal struct {
	workflowID string
	events     []*historypb.HistoryEvent
	err        error
}

func (f *fakeTemporal) GetWorkflowHistory(_ context.Context, workflowID, _ string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	f.workflowID = workflowID
	return &iterator{events: f.events, err: f.err}
}

type iterator struct {
	events []*historypb.HistoryEvent
	err    error
}

func (it *iterator) HasNext() bool { return it.err != nil || len(it.events) > 0 }

func (it *iterator) Next() (*historypb.HistoryEvent, error) {
	if it.err != nil {
		return nil, it.err
	}
	e := it.events[0]
	it.events = it.events[1:]
	return e, nil
}

// fakeStore holds orders by id.
type fakeStore map[string]*domain.Order

func (s fakeStore) Get(_ context.Context, id string) (*domain.Order, error) {
	o, ok := s[id]
	if !ok {
		return nil, errs.E(errs.NotFound, "order %s not found", id)
	}
	return o, nil
}

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func storeWith(t *testing.T, id string) fakeStore {
	t.Helper()
	o, err := domain.NewOrder(domain.PlaceOrder{
		OrderID: id, CustomerID: "c-1", Items: []domain.Item{{SKU: "mug", Quantity: 1}},
		ShipTo: domain.Address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"},
	}, saga.Default().Names(), t0)
	if err != nil {
		t.Fatal(err)
	}
	return fakeStore{id: o}
}

func TestReader_ReadsTheOrdersWorkflowHistory(t *testing.T) {
	tp := &fakeTemporal{events: recorded(t, "order-completed")}
	es, err := history.New(tp, storeWith(t, "completed"), nil).Timeline(context.Background(), "completed")
	if err != nil {
		t.Fatal(err)
	}
	if tp.workflowID != "order-completed" {
		t.Errorf("read the history of workflow %q, want order-completed", tp.workflowID)
	}
	if len(es) != 10 || es[len(es)-1].Kind != timeline.KindOrderFinal || es[len(es)-1].Status != domain.StatusCompleted {
		t.Fatalf("timeline = %v", lines(t, es))
	}
}

func TestReader_FinalOrderWhoseSagaStillNotifies_EndsFinalFromTheStore(t *testing.T) {
	events := recorded(t, "order-payment-declined."+workflow.ChangeNotifyCustomer+"-1")
	var running []*historypb.HistoryEvent // up to the notification's activity
	for _, e := range events {
		running = append(running, e)
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == workflow.ActivityNotifyCustomer {
			break
		}
	}
	store := storeWith(t, "payment-declined")
	ended := running[len(running)-1].GetEventTime().AsTime()
	if err := store["payment-declined"].Fail(domain.ReasonPaymentDeclined, ended); err != nil {
		t.Fatal(err)
	}
	es, err := history.New(&fakeTemporal{events: running}, store, nil).Timeline(context.Background(), "payment-declined")
	if err != nil {
		t.Fatal(err)
	}
	last := es[len(es)-1]
	if last.Kind != timeline.KindOrderFinal || last.Status != domain.StatusFailed || last.Detail != "payment_declined" || !last.At.Equal(ended) {
		t.Fatalf("timeline = %v, want it to end with the stored final status", lines(t, es))
	}
	if n := len(expectedDeclined(t)); len(es) != n {
		t.Fatalf("timeline = %v, want the %d entries of the closed saga's", lines(t, es), n)
	}
}

// expectedDeclined is the timeline of the recorded payment-declined saga,
// closed.
func expectedDeclined(t *testing.T) []timeline.Entry {
	t.Helper()
	return history.Entries(saga.Default(), "payment-declined", recorded(t, "order-payment-declined."+workflow.ChangeNotifyCustomer+"-1"))
}

func TestReader_UnknownOrder_IsNotFound(t *testing.T) {
	_, err := history.New(&fakeTemporal{}, fakeStore{}, nil).Timeline(context.Background(), "nope")
	if !errs.Is(err, errs.NotFound) {
		t.Fatalf("err = %v, want not found", err)
	}
}

func TestReader_OrderWithoutSaga_HasOnlyItsPlacement(t *testing.T) {
	tp := &fakeTemporal{err: serviceerror.NewNotFound("workflow not found")}
	es, err := history.New(tp, storeWith(t, "o-1"), nil).Timeline(context.Background(), "o-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Kind != timeline.KindOrderPlaced || !es[0].At.Equal(t0) || es[0].Service != "orders" {
		t.Fatalf("timeline = %v, want order_placed at the order's creation", lines(t, es))
	}
}

func TestReader_FinalOrderWhoseHistoryIsGone_HasItsPlacementAndEndFromTheStore(t *testing.T) {
	store := storeWith(t, "o-1")
	if err := store["o-1"].Fail(domain.ReasonOutOfStock, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	tp := &fakeTemporal{err: serviceerror.NewNotFound("workflow not found")}
	es, err := history.New(tp, store, nil).Timeline(context.Background(), "o-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Kind != timeline.KindOrderPlaced || es[1].Kind != timeline.KindOrderFinal ||
		es[1].Status != domain.StatusFailed || !es[1].At.Equal(t0.Add(time.Minute)) || es[1].Detail != "out_of_stock" {
		t.Fatalf("timeline = %v, want order_placed then order_final failed a minute later", lines(t, es))
	}
}

func TestReader_TemporalUnreachable_IsUnavailable(t *testing.T) {
	tp := &fakeTemporal{err: errors.New("connection refused")}
	_, err := history.New(tp, storeWith(t, "o-1"), nil).Timeline(context.Background(), "o-1")
	if !errs.Is(err, errs.Unavailable) {
		t.Fatalf("err = %v, want unavailable", err)
	}
}
