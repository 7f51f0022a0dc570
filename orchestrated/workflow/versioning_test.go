package workflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	sdkworkflow "go.temporal.io/sdk/workflow"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"

	"github.com/ordersaga/ordersaga/orchestrated/activities"
	"github.com/ordersaga/ordersaga/orchestrated/endings"
	"github.com/ordersaga/ordersaga/orchestrated/intake"
	"github.com/ordersaga/ordersaga/orchestrated/stack"
	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/notifications"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// The outcomes of the old/new worker test's orders: each order's id, its
// customer and country, and how it ends.
type outcome struct {
	id, customer, country string
	qty                   int64
	status                domain.Status
	reason                domain.FailureReason
}

// TestOrderSaga_OldWorkerThenNewWorker_EveryOrderEndsRight_ThoseEndingOnTheNewCodeAreNotified
// deploys the customer notification while sagas run, on a real Temporal
// server. The order service first runs the workflow as it was before the
// change (NewBeforeNotify); two orders end on it, without a notification.
// Four more are held while their payment runs; that worker stops and the
// order service of this code takes over the same task queues, one of the
// held orders is cancelled, and the payments are released. Every order
// ends as it should; the four that ended on the new code have one
// notification each, the two that ended before have none; no workflow
// task failed (no non-determinism). A rebuild from the histories then
// gives the four notifications as recorded and backfills the two.
func TestOrderSaga_OldWorkerThenNewWorker_EveryOrderEndsRight_ThoseEndingOnTheNewCodeAreNotified(t *testing.T) {
	ctx := context.Background()
	hostPort, ns := temporalServer(t)
	dbs := hosted.SQLiteDatabases(t.TempDir())
	steps := runStack(t, stack.Config{TemporalHostPort: hostPort, Namespace: ns,
		Hosted: hosted.Config{Roles: []hosted.Role{hosted.RoleInventory, hosted.RolePayment, hosted.RoleShipping}, Databases: dbs}})
	if _, err := steps.Hosted().Inventory.SetProduct(ctx, inventory.ProductInput{SKU: "mug", Name: "Mug", PriceCents: 1250, Stock: 100}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []payment.CustomerInput{{ID: "ada", Name: "Ada", CreditCents: 100_000}, {ID: "poor", Name: "Poor", CreditCents: 100}} {
		if _, err := steps.Hosted().Payment.SetCustomer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}

	old := startOldOrderService(t, hostPort, ns, dbs)
	before := []outcome{
		{"a-completed", "ada", "DE", 2, domain.StatusCompleted, ""},
		{"a-out-of-stock", "ada", "DE", 1000, domain.StatusFailed, domain.ReasonOutOfStock},
	}
	for _, o := range before {
		old.place(t, o)
	}
	for _, o := range before {
		waitClosed(t, old.client, o.id)
	}

	// The next orders are held while their payment runs.
	if err := steps.Hosted().Faults["payment"].Set(faults.Setting{Latency: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	held := []outcome{
		{"b-completed", "ada", "DE", 1, domain.StatusCompleted, ""},
		{"b-declined", "poor", "DE", 1, domain.StatusFailed, domain.ReasonPaymentDeclined},
		{"b-unshipped", "ada", "AQ", 1, domain.StatusFailed, domain.ReasonShippingUnavailable},
		{"b-cancelled", "ada", "DE", 1, domain.StatusCancelled, domain.ReasonCancelled},
	}
	for _, o := range held {
		old.place(t, o)
	}
	for _, o := range held {
		waitFor(t, 20*time.Second, o.id+"'s payment to run", func() bool { return pendingActivity(t, old.client, o.id) == "ChargePayment" })
	}

	// The new code takes over: the old worker stops, the order service of
	// this code (with the notification service) starts on the same task
	// queues.
	old.stop()
	cur := runStack(t, stack.Config{TemporalHostPort: hostPort, Namespace: ns, HTTPAddr: "127.0.0.1:0",
		Hosted: hosted.Config{Roles: []hosted.Role{hosted.RoleOrders, hosted.RoleNotifications}, Databases: dbs}})
	if _, err := cur.Intake().Cancel(ctx, "b-cancelled"); err != nil {
		t.Fatalf("cancelling b-cancelled on the new code: %v", err)
	}
	if err := steps.Hosted().Faults["payment"].Set(faults.Setting{}); err != nil {
		t.Fatal(err)
	}
	for _, o := range held {
		waitClosed(t, cur.Client(), o.id)
	}

	for _, o := range append(slices.Clone(before), held...) {
		got := orderState(t, cur, o.id)
		if got.Status != o.status || got.FailureReason != o.reason {
			t.Errorf("order %s ended %s (%q), want %s (%q)", o.id, got.Status, got.FailureReason, o.status, o.reason)
		}
		events := sagaHistory(t, cur.Client(), o.id)
		for _, e := range events {
			if f := e.GetWorkflowTaskFailedEventAttributes(); f != nil {
				t.Errorf("order %s: a workflow task failed (%s): %s", o.id, f.GetCause(), f.GetFailure().GetMessage())
			}
		}
		endedOnNewCode := slices.Contains(held, o)
		if notifies(events) != endedOnNewCode {
			t.Errorf("order %s: the history runs the notification: %v, want %v", o.id, notifies(events), endedOnNewCode)
		}
	}
	// The sagas that ended on the code before still answer on the new
	// code: a query on a closed saga replays its whole history there.
	for _, o := range before {
		v, err := cur.Client().QueryWorkflow(ctx, workflow.WorkflowID(o.id), "", workflow.QueryStatus)
		if err != nil {
			t.Fatalf("querying %s, ended on the code before, on the new code: %v", o.id, err)
		}
		var st workflow.State
		if err := v.Get(&st); err != nil || st.Phase != workflow.PhaseFinished || st.Status != o.status {
			t.Fatalf("%s's state on the new code: %+v, %v; want finished %s", o.id, st, err, o.status)
		}
	}
	// Visibility lists the sagas that ran the notification by the search
	// attribute GetVersion sets (TemporalChangeVersion, the SDK's).
	tagged := fmt.Sprintf("TemporalChangeVersion = '%s-%d'", workflow.ChangeNotifyCustomer, workflow.VersionNotifyCustomer)
	var ids []string
	waitFor(t, 10*time.Second, "visibility to list the sagas tagged with the change", func() bool {
		resp, err := cur.Client().ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: tagged})
		if err != nil {
			t.Fatalf("listing %s: %v", tagged, err)
		}
		ids = ids[:0]
		for _, x := range resp.GetExecutions() {
			ids = append(ids, x.GetExecution().GetWorkflowId())
		}
		return len(ids) >= len(held)
	})
	slices.Sort(ids)
	want := []string{workflow.WorkflowID("b-cancelled"), workflow.WorkflowID("b-completed"), workflow.WorkflowID("b-declined"), workflow.WorkflowID("b-unshipped")}
	if !slices.Equal(ids, want) {
		t.Errorf("%s lists %v, want %v", tagged, ids, want)
	}
	// Through the API, as the customers read them.
	listed := map[string]int{}
	for _, customer := range []string{"ada", "poor"} {
		for _, n := range customerNotifications(t, cur.Addr(), customer) {
			listed[n.OrderID]++
		}
	}
	for _, o := range before {
		if listed[o.id] != 0 {
			t.Errorf("order %s, ended on the code before the notification, has %d", o.id, listed[o.id])
		}
	}
	for _, o := range held {
		if listed[o.id] != 1 {
			t.Errorf("order %s, ended on the new code, has %d notifications, want 1", o.id, listed[o.id])
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// A rebuild gives the live notifications as recorded, and backfills
	// those of the orders that ended before the change.
	store := cur.Hosted().Notifications
	live := allNotifications(t, store)
	rep, err := (&endings.Rebuilder{Temporal: cur.Client(), Store: store}).Rebuild(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Before != len(held) || rep.FromNotice != len(held) || rep.Backfilled != len(before) || rep.After != len(held)+len(before) {
		t.Fatalf("report %+v, want %d from their notice and %d backfilled", rep, len(held), len(before))
	}
	rebuilt := map[string]notifications.Notification{}
	for _, n := range allNotifications(t, store) {
		n.RecordedAt = time.Time{}
		rebuilt[n.OrderID] = n
	}
	for _, n := range live {
		n.RecordedAt = time.Time{}
		if rebuilt[n.OrderID] != n {
			t.Errorf("order %s: rebuilt %+v\nwant the live %+v", n.OrderID, rebuilt[n.OrderID], n)
		}
	}
	for _, o := range before {
		stored := orderState(t, cur, o.id)
		var total domain.Cents
		if stored.TotalCents != nil {
			total = *stored.TotalCents
		}
		d, err := cur.Client().DescribeWorkflowExecution(ctx, workflow.WorkflowID(o.id), "")
		if err != nil {
			t.Fatal(err)
		}
		want, err := notifications.New(notifications.Ending{OrderID: o.id, CustomerID: o.customer, Status: stored.Status, Reason: stored.FailureReason,
			TrackingNumber: stored.TrackingNumber, TotalCents: total, EndedAt: d.GetWorkflowExecutionInfo().GetCloseTime().AsTime()})
		if err != nil {
			t.Fatal(err)
		}
		if got := rebuilt[o.id]; got != want {
			t.Errorf("order %s backfilled as %+v\nwant %+v", o.id, got, want)
		}
	}
}

// orderState returns the stored order.
func orderState(t *testing.T, s *stack.Stack, id string) domain.OrderState {
	t.Helper()
	o, err := s.Hosted().Orders.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o.State()
}

// temporalServer starts a Temporal server in the test's process and
// returns its frontend and the namespace the test uses.
func temporalServer(t *testing.T) (hostPort, namespace string) {
	t.Helper()
	srv := temporaltest.NewServer(temporaltest.WithT(t), temporaltest.WithBaseServerOptions(
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			// Search attributes usable as soon as they are declared.
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
			dynamicconfig.HistoryLongPollExpirationInterval.Key():       5 * time.Second,
		}),
		temporal.WithCustomMetricsHandler(metrics.NoopMetricsHandler),
	))
	return srv.GetFrontendHostPort(), srv.GetDefaultNamespace()
}

// runStack builds and runs a stack process on the test's databases (which
// it migrates), until the test ends.
func runStack(t *testing.T, cfg stack.Config) *stack.Stack {
	t.Helper()
	cfg.Hosted.Migrate = true
	cfg.Logger = testLogger(t)
	cfg.WorkerStopTimeout = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := stack.New(ctx, cfg)
	if err != nil {
		t.Fatalf("starting a stack process: %v", err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("running a stack process: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("closing a stack process: %v", err)
		}
	})
	return s
}

// oldOrderService is the order service running the workflow as it was
// before the customer notification: its worker on the orders task queue
// and its intake.
type oldOrderService struct {
	node   *hosted.Services
	client client.Client
	worker sdkworker.Worker
	intake *intake.Service
	stop   func()
}

func startOldOrderService(t *testing.T, hostPort, ns string, dbs map[hosted.Role]string) *oldOrderService {
	t.Helper()
	ctx := context.Background()
	node, err := hosted.Open(ctx, hosted.Config{Roles: []hosted.Role{hosted.RoleOrders}, Databases: dbs, Migrate: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: hostPort, Namespace: ns, Logger: sdklog.NewStructuredLogger(testLogger(t))})
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.EnsureSearchAttributes(ctx, c, ns); err != nil {
		t.Fatal(err)
	}
	w := sdkworker.New(c, string(workflow.TaskQueueOrders), sdkworker.Options{WorkerStopTimeout: 100 * time.Millisecond})
	w.RegisterWorkflowWithOptions(workflow.NewBeforeNotify(nil, saga.Policy{}).OrderSaga, sdkworkflow.RegisterOptions{Name: workflow.Name})
	w.RegisterActivity(&activities.OrderActivities{Store: node.Orders})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	o := &oldOrderService{node: node, client: c, worker: w, intake: intake.New(c, node.Orders, nil)}
	stopped := false
	o.stop = func() {
		if stopped {
			return
		}
		stopped = true
		w.Stop()
		c.Close()
		if err := node.Close(); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(o.stop)
	return o
}

// place places an order of o.qty mugs.
func (s *oldOrderService) place(t *testing.T, o outcome) {
	t.Helper()
	req := domain.PlaceOrder{OrderID: o.id, CustomerID: o.customer, Items: []domain.Item{{SKU: "mug", Quantity: o.qty}},
		ShipTo: domain.Address{Name: "Ada", Line1: "1 Main St", City: "Somewhere", PostalCode: "12345", Country: o.country}}
	order, err := domain.NewOrder(req, saga.Default().Names(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.intake.Place(context.Background(), order); err != nil {
		t.Fatalf("placing %s: %v", o.id, err)
	}
}

// pendingActivity returns the activity the order's saga runs now, if any.
func pendingActivity(t *testing.T, c client.Client, orderID string) string {
	t.Helper()
	d, err := c.DescribeWorkflowExecution(context.Background(), workflow.WorkflowID(orderID), "")
	if err != nil {
		return ""
	}
	for _, pa := range d.GetPendingActivities() {
		if pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
			return pa.GetActivityType().GetName()
		}
	}
	return ""
}

// waitClosed waits until the order's saga closed.
func waitClosed(t *testing.T, c client.Client, orderID string) {
	t.Helper()
	waitFor(t, 30*time.Second, "the saga of "+orderID+" to close", func() bool {
		d, err := c.DescribeWorkflowExecution(context.Background(), workflow.WorkflowID(orderID), "")
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	})
}

// sagaHistory returns every event of the order's saga.
func sagaHistory(t *testing.T, c client.Client, orderID string) []*historypb.HistoryEvent {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), workflow.WorkflowID(orderID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	return events
}

// customerNotifications lists a customer's notifications through the
// API of the process at addr (which runs without authentication).
func customerNotifications(t *testing.T, addr, customer string) []struct {
	OrderID string `json:"order_id"`
} {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/v1/customers/" + customer + "/notifications")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET the notifications of %s: %d", customer, resp.StatusCode)
	}
	var page struct {
		Notifications []struct {
			OrderID string `json:"order_id"`
		} `json:"notifications"`
		NextCursor string `json:"next_cursor"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if page.NextCursor != "" {
		t.Fatalf("the notifications of %s take more than a page", customer)
	}
	return page.Notifications
}

// allNotifications returns every notification of the store.
func allNotifications(t *testing.T, s *notifications.Store) []notifications.Notification {
	t.Helper()
	all, err := s.All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testLogger logs warnings and errors to the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
