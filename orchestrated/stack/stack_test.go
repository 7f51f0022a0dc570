package stack_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/ordersaga/ordersaga/orchestrated/intake"
	"github.com/ordersaga/ordersaga/orchestrated/stack"
	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// sqliteDatabases returns fresh SQLite files, one per role, for a test.
func sqliteDatabases(tb testing.TB) map[hosted.Role]string {
	return hosted.SQLiteDatabases(tb.TempDir())
}

// postgresDatabases returns fresh PostgreSQL databases, one per role.
func postgresDatabases(tb testing.TB) map[hosted.Role]string {
	dbs := map[hosted.Role]string{}
	for _, r := range hosted.AllRoles() {
		dbs[r] = sqltest.DSN(tb, sqldb.Postgres)
	}
	return dbs
}

func TestOrchestrated_HappyPath_CompletesChargesAndCommitsStock(t *testing.T) {
	for _, engine := range []struct {
		name string
		dbs  func(testing.TB) map[hosted.Role]string
	}{{"sqlite", sqliteDatabases}, {"postgres", postgresDatabases}} {
		t.Run(engine.name, func(t *testing.T) {
			p := startProcess(t, newNamespace(t), engine.dbs(t))
			a := p.api(t)
			a.putProduct("mug", 1250, 10)
			a.putCustomer("c-1", 10_000)

			code, o := a.place(order("o-1", "c-1", "mug", 2, "DE"), 15*time.Second)
			if code != http.StatusCreated || o.Status != "completed" {
				t.Fatalf("POST ?wait: %d %+v, want 201 completed", code, o)
			}
			if o.TotalCents == nil || *o.TotalCents != 2500 || o.TrackingNumber == "" || o.FailureReason != "" {
				t.Fatalf("completed order = %+v, want total 2500 and a tracking number", o)
			}
			if got := stepStatuses(o); got != "inventory:done payment:done shipping:done" {
				t.Fatalf("steps = %s", got)
			}
			if pr := a.product("mug"); pr.Available != 8 || pr.Reserved != 0 {
				t.Fatalf("mug = %+v, want 8 available, 0 reserved", pr)
			}
			if c := a.credit("c-1"); c != 7500 {
				t.Fatalf("credit = %d, want 7500", c)
			}

			// The saga is easy to read in the Temporal UI: readable
			// activity names, the customer in the memo, the status in a
			// search attribute.
			acts := activityAttempts(t, history(t, p.Client(), "o-1"))
			var names []string
			for _, a := range acts {
				names = append(names, strings.Split(a, "#")[0])
			}
			want := []string{"ReserveInventory", "RecordStep", "ChargePayment", "RecordStep", "CreateShipment", "RecordStep", "CommitInventory", "CompleteOrder", "NotifyCustomer"}
			if !slices.Equal(names, want) {
				t.Fatalf("activities = %v\nwant         %v", names, want)
			}
			d, err := p.Client().DescribeWorkflowExecution(context.Background(), workflow.WorkflowID("o-1"), "")
			if err != nil {
				t.Fatal(err)
			}
			var customer string
			if err := converter.GetDefaultDataConverter().FromPayload(d.GetWorkflowExecutionInfo().GetMemo().GetFields()[workflow.MemoCustomerID], &customer); err != nil || customer != "c-1" {
				t.Fatalf("memo customer = %q (%v), want c-1", customer, err)
			}
			var status string
			sa := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[workflow.SearchAttributeOrderStatus]
			if err := converter.GetDefaultDataConverter().FromPayload(sa, &status); err != nil || status != "completed" {
				t.Fatalf("OrderStatus search attribute = %q (%v), want completed", status, err)
			}
		})
	}
}

func TestOrchestrated_BusinessFailures_FailTheOrderAndRestoreStockAndCredit(t *testing.T) {
	p := startProcess(t, newNamespace(t), sqliteDatabases(t))
	a := p.api(t)
	a.putProduct("mug", 1250, 10)
	a.putCustomer("rich", 100_000)
	a.putCustomer("poor", 1000)

	cases := []struct {
		name      string
		req       placeJSON
		reason    string
		wantSteps string
	}{
		{"out_of_stock", order("oos", "rich", "mug", 11, "DE"), "out_of_stock",
			"inventory:failed payment:skipped shipping:skipped"},
		{"unknown_sku", order("nosku", "rich", "teapot", 1, "DE"), "out_of_stock",
			"inventory:failed payment:skipped shipping:skipped"},
		{"payment_declined", order("declined", "poor", "mug", 2, "DE"), "payment_declined",
			"inventory:compensated payment:failed shipping:skipped"},
		{"unknown_customer", order("nobody", "ghost", "mug", 1, "DE"), "payment_declined",
			"inventory:compensated payment:failed shipping:skipped"},
		{"shipping_unavailable", order("antarctica", "rich", "mug", 3, "AQ"), "shipping_unavailable",
			"inventory:compensated payment:compensated shipping:failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := p.api(t)
			code, o := a.place(c.req, 15*time.Second)
			if code != http.StatusCreated || o.Status != "failed" || o.FailureReason != c.reason {
				t.Fatalf("POST ?wait: %d %+v, want 201 failed %s", code, o, c.reason)
			}
			if got := stepStatuses(o); got != c.wantSteps {
				t.Fatalf("steps = %s\nwant    %s", got, c.wantSteps)
			}
			if o.TrackingNumber != "" {
				t.Fatalf("a failed order has tracking number %q", o.TrackingNumber)
			}
			// Stock and credit are fully restored.
			if pr := a.product("mug"); pr.Available != 10 || pr.Reserved != 0 {
				t.Fatalf("mug = %+v, want 10 available, 0 reserved", pr)
			}
			if cr := a.credit("rich"); cr != 100_000 {
				t.Fatalf("rich's credit = %d, want 100000", cr)
			}
			if cr := a.credit("poor"); cr != 1000 {
				t.Fatalf("poor's credit = %d, want 1000", cr)
			}
		})
	}
}

func TestOrchestrated_CancelWhilePaymentRuns_EndsCancelledWithEveryStepUndone(t *testing.T) {
	p := startProcess(t, newNamespace(t), sqliteDatabases(t))
	a := p.api(t)
	a.putProduct("mug", 1250, 10)
	a.putCustomer("c-1", 10_000)
	// Every payment call takes a while: the cancel lands while the charge
	// runs.
	if err := p.Hosted().Faults["payment"].Set(faults.Setting{Latency: 500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}

	if code, _ := a.place(order("o-1", "c-1", "mug", 2, "DE"), 0); code != http.StatusAccepted {
		t.Fatalf("POST: %d, want 202", code)
	}
	waitFor(t, 10*time.Second, "the saga to run the payment step", func() bool {
		return sagaState(t, p.Client(), "o-1").Running == domain.StepPayment
	})
	var cancelled orderJSON
	a.mustDo(http.MethodPost, "/v1/orders/o-1/cancel", nil, &cancelled, http.StatusAccepted)
	if cancelled.OrderID != "o-1" {
		t.Fatalf("cancel answered %+v", cancelled)
	}

	o := a.waitFinal("o-1")
	if o.Status != "cancelled" || o.FailureReason != "cancelled" {
		t.Fatalf("order = %+v, want cancelled", o)
	}
	// The charge was abandoned: its compensation either undid it or found
	// nothing to undo (and made the late charge a no-op).
	if got := stepStatuses(o); got != "inventory:compensated payment:compensated shipping:skipped" &&
		got != "inventory:compensated payment:skipped shipping:skipped" {
		t.Fatalf("steps = %s", got)
	}
	// Whichever came first, the abandoned charge or its refund, nothing is
	// left charged: a refund undoes a charge, and a charge after a refund
	// is a no-op.
	if pm, err := p.Hosted().Payment.Payment(context.Background(), "o-1"); err != nil || pm.Status != payment.Refunded {
		t.Fatalf("payment = %+v, %v; want refunded", pm, err)
	}
	if pr := a.product("mug"); pr.Available != 10 || pr.Reserved != 0 {
		t.Fatalf("mug = %+v, want 10 available, 0 reserved", pr)
	}
	if c := a.credit("c-1"); c != 10_000 {
		t.Fatalf("credit = %d, want 10000", c)
	}

	// Cancelling again is harmless; a completed order cannot be
	// cancelled; an unknown one is not found.
	a.mustDo(http.MethodPost, "/v1/orders/o-1/cancel", nil, nil, http.StatusAccepted)
	if err := p.Hosted().Faults["payment"].Set(faults.Setting{}); err != nil {
		t.Fatal(err)
	}
	if code, o := a.place(order("o-2", "c-1", "mug", 1, "DE"), 15*time.Second); o.Status != "completed" {
		t.Fatalf("second order: %d %+v", code, o)
	}
	a.mustDo(http.MethodPost, "/v1/orders/o-2/cancel", nil, nil, http.StatusConflict)
	a.mustDo(http.MethodPost, "/v1/orders/nope/cancel", nil, nil, http.StatusNotFound)
	if got := a.order("o-2").Status; got != "completed" {
		t.Fatalf("refused cancel changed the order to %s", got)
	}
}

func TestOrchestrated_CancelAFailedOrder_IsConflict(t *testing.T) {
	p := startProcess(t, newNamespace(t), sqliteDatabases(t))
	a := p.api(t)
	a.putProduct("mug", 1250, 1)
	a.putCustomer("c-1", 10_000)
	if _, o := a.place(order("big", "c-1", "mug", 5, "DE"), 15*time.Second); o.Status != "failed" {
		t.Fatalf("order = %+v, want failed", o)
	}
	a.mustDo(http.MethodPost, "/v1/orders/big/cancel", nil, nil, http.StatusConflict)
}

func TestOrchestrated_DuplicatePost_SameBodyOneOrderOneSaga_OtherBodyConflict(t *testing.T) {
	p := startProcess(t, newNamespace(t), sqliteDatabases(t))
	a := p.api(t)
	a.putProduct("mug", 1250, 10)
	a.putCustomer("c-1", 10_000)
	req := order("dup", "c-1", "mug", 2, "DE")

	// Several clients send the same request at once.
	const senders = 5
	codes := make([]int, senders)
	ids := make([]string, senders)
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			code, o := a.place(req, 0)
			codes[i], ids[i] = code, o.OrderID
		})
	}
	wg.Wait()
	slices.Sort(codes)
	if codes[0] != http.StatusOK || codes[senders-2] != http.StatusOK || codes[senders-1] != http.StatusAccepted {
		t.Fatalf("status codes = %v, want one 202 and the rest 200", codes)
	}
	for _, id := range ids {
		if id != "dup" {
			t.Fatalf("order ids = %v, want dup everywhere", ids)
		}
	}
	o := a.waitFinal("dup")
	if o.Status != "completed" {
		t.Fatalf("order = %+v, want completed", o)
	}
	// A repeat after the end returns the order and starts nothing.
	if code, again := a.place(req, 0); code != http.StatusOK || again.Status != "completed" {
		t.Fatalf("repeat after completion: %d %+v", code, again)
	}
	waitFor(t, 5*time.Second, "the saga to be listed", func() bool { return sagaRuns(t, p.Client(), "dup") > 0 })
	if n := sagaRuns(t, p.Client(), "dup"); n != 1 {
		t.Fatalf("%d sagas for one order, want 1", n)
	}
	if pr := a.product("mug"); pr.Available != 8 {
		t.Fatalf("mug available = %d, want 8 (charged once)", pr.Available)
	}
	if c := a.credit("c-1"); c != 7500 {
		t.Fatalf("credit = %d, want 7500 (charged once)", c)
	}

	other := order("dup", "c-1", "mug", 3, "DE")
	if code := a.do(http.MethodPost, "/v1/orders", other, nil); code != http.StatusConflict {
		t.Fatalf("same id, other body: %d, want 409", code)
	}
}

func TestOrchestrated_TransientFaults30Percent_EveryOrderEndsRight(t *testing.T) {
	// Its 20 orders are placed at once and retried slowly: admission
	// control (tested on its own in admission_test.go) must admit them all.
	p := startProcessWith(t, stack.Config{
		Namespace: newNamespace(t),
		Hosted:    hosted.Config{Databases: sqliteDatabases(t)},
		Auth:      authtest.Keys(t),
		Limits:    httpapi.Limits{MaxInFlight: 64},
	})
	a := p.api(t)
	const customers = 4
	a.putProduct("mug", 1000, 1000)
	for c := range customers {
		a.putCustomer(fmt.Sprintf("c-%d", c), 1_000_000)
	}
	a.putCustomer("poor", 500)
	a.setFaults(0.3, 0)

	type want struct {
		status, reason string
		customer       string
		country        string
		qty            int64
	}
	wants := map[string]want{}
	for i := range 20 {
		w := want{status: "completed", customer: fmt.Sprintf("c-%d", i%customers), country: "DE", qty: int64(i%3 + 1)}
		switch i % 10 {
		case 3:
			w.country, w.status, w.reason = "AQ", "failed", "shipping_unavailable"
		case 7:
			w.customer, w.status, w.reason = "poor", "failed", "payment_declined"
		}
		wants[fmt.Sprintf("o-%02d", i)] = w
	}
	var wg sync.WaitGroup
	for id, w := range wants {
		wg.Go(func() {
			if code, _ := a.place(order(id, w.customer, "mug", w.qty, w.country), 0); code != http.StatusAccepted {
				t.Errorf("POST %s: %d, want 202", id, code)
			}
		})
	}
	wg.Wait()

	spent := map[string]int64{}
	var sold int64
	for id, w := range wants {
		o := a.waitFinal(id)
		if o.Status != w.status || o.FailureReason != w.reason {
			t.Errorf("order %s = %s/%s, want %s/%s", id, o.Status, o.FailureReason, w.status, w.reason)
		}
		if o.Status == "completed" {
			spent[w.customer] += w.qty * 1000
			sold += w.qty
		}
	}
	a.setFaults(0, 0)
	if pr := a.product("mug"); pr.Available != 1000-sold || pr.Reserved != 0 {
		t.Fatalf("mug = %+v, want %d available and none reserved", pr, 1000-sold)
	}
	for c := range customers {
		id := fmt.Sprintf("c-%d", c)
		if got := a.credit(id); got != 1_000_000-spent[id] {
			t.Errorf("credit of %s = %d, want %d", id, got, 1_000_000-spent[id])
		}
	}
	if got := a.credit("poor"); got != 500 {
		t.Errorf("credit of poor = %d, want 500", got)
	}
	// The faults were real: some activity needed more than one attempt.
	retried := 0
	for id := range wants {
		for _, act := range activityAttempts(t, history(t, p.Client(), id)) {
			if !strings.HasSuffix(act, "#1") {
				retried++
			}
		}
	}
	if retried == 0 {
		t.Fatal("no activity was retried: the faults were not injected")
	}
}

func TestOrchestrated_PaymentWorkerRestartsMidCharge_OrderCompletesChargedOnce(t *testing.T) {
	ns := newNamespace(t)
	dbs := sqliteDatabases(t)
	// The order service, inventory, shipping and the notification service
	// run in one process, payment in another.
	main := startProcess(t, ns, dbs, hosted.RoleOrders, hosted.RoleInventory, hosted.RoleShipping, hosted.RoleNotifications)
	pay1 := startProcess(t, ns, dbs, hosted.RolePayment)
	a := main.api(t)
	a.putProduct("mug", 1250, 10)
	ctx := context.Background()
	if _, err := pay1.Hosted().Payment.SetCustomer(ctx, payment.CustomerInput{ID: "c-1", Name: "Ada", CreditCents: 10_000}); err != nil {
		t.Fatal(err)
	}
	// The charge hangs in the first payment process.
	if err := pay1.Hosted().Faults["payment"].Set(faults.Setting{Latency: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if code, _ := a.place(order("o-1", "c-1", "mug", 2, "DE"), 0); code != http.StatusAccepted {
		t.Fatalf("POST: %d, want 202", code)
	}
	waitFor(t, 10*time.Second, "the charge to start", func() bool {
		d, err := main.Client().DescribeWorkflowExecution(ctx, workflow.WorkflowID("o-1"), "")
		if err != nil {
			return false
		}
		for _, pa := range d.GetPendingActivities() {
			if pa.GetActivityType().GetName() == "ChargePayment" && pa.GetState() == enums.PENDING_ACTIVITY_STATE_STARTED {
				return true
			}
		}
		return false
	})

	// The payment process goes away mid-charge; another takes over. The
	// stopped process cannot report the cut attempt, so the new one picks
	// the charge up once the attempt's StartToClose timeout passed.
	pay1.stop()
	pay2 := startProcess(t, ns, dbs, hosted.RolePayment)

	o := a.waitFinal("o-1")
	if o.Status != "completed" || o.TrackingNumber == "" {
		t.Fatalf("order = %+v, want completed", o)
	}
	pm, err := pay2.Hosted().Payment.Payment(ctx, "o-1")
	if err != nil || pm.Status != payment.Charged || pm.AmountCents != 2500 {
		t.Fatalf("payment = %+v, %v; want charged 2500", pm, err)
	}
	c, err := pay2.Hosted().Payment.Customer(ctx, "c-1")
	if err != nil || c.CreditCents != 7500 {
		t.Fatalf("customer = %+v, %v; want 7500 left (charged once)", c, err)
	}
	acts := activityAttempts(t, history(t, main.Client(), "o-1"))
	if !slices.ContainsFunc(acts, func(s string) bool { return strings.HasPrefix(s, "ChargePayment#") && s != "ChargePayment#1" }) {
		t.Fatalf("activities = %v, want the charge retried after the restart", acts)
	}
	if n := strings.Count(strings.Join(acts, " "), "CompleteOrder"); n != 1 {
		t.Fatalf("activities = %v, want the order completed once", acts)
	}
}

// failingStarts is a Temporal client whose workflow starts fail, as if the
// process died between storing an order and starting its saga.
type failingStarts struct{ client.Client }

func (failingStarts) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, fmt.Errorf("connection lost")
}

func TestOrchestrated_CrashBetweenStoringAndStarting_SagaStillRuns(t *testing.T) {
	ns := newNamespace(t)
	dbs := sqliteDatabases(t)
	p := startProcess(t, ns, dbs)
	a := p.api(t)
	a.putProduct("mug", 1250, 10)
	a.putCustomer("c-1", 10_000)

	// Three orders are stored but their saga never starts.
	crashing := intake.New(failingStarts{p.Client()}, p.Hosted().Orders, testLogger(t))
	ctx := context.Background()
	for _, id := range []string{"healed-by-reconciler", "healed-by-retry", "healed-by-cancel"} {
		o, err := domain.NewOrder(domain.PlaceOrder{
			OrderID: id, CustomerID: "c-1", Items: []domain.Item{{SKU: "mug", Quantity: 1}},
			ShipTo: domain.Address{Name: "Ada", Line1: "1 Main St", City: "Somewhere", PostalCode: "12345", Country: "DE"},
		}, saga.Default().Names(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		stored, created, err := crashing.Place(ctx, o)
		if err != nil || !created || stored.Status() != domain.StatusPending {
			t.Fatalf("placing %s: %v %v %v", id, stored, created, err)
		}
		if sagaExists(t, p.Client(), id) {
			t.Fatalf("order %s has a saga although its start failed", id)
		}
	}

	// The client retries its POST: the saga starts.
	if code, _ := a.place(order("healed-by-retry", "c-1", "mug", 1, "DE"), 15*time.Second); code != http.StatusOK {
		t.Fatalf("repeated POST: %d, want 200", code)
	}
	if o := a.waitFinal("healed-by-retry"); o.Status != "completed" {
		t.Fatalf("healed-by-retry = %+v, want completed", o)
	}
	// The client cancels: the saga starts and compensates at once.
	a.mustDo(http.MethodPost, "/v1/orders/healed-by-cancel/cancel", nil, nil, http.StatusAccepted)
	if o := a.waitFinal("healed-by-cancel"); o.Status != "cancelled" {
		t.Fatalf("healed-by-cancel = %+v, want cancelled", o)
	}
	// Nobody asks about the last one: the reconciler of the next process
	// starts its saga.
	if got := a.order("healed-by-reconciler").Status; got != "pending" {
		t.Fatalf("healed-by-reconciler = %s before the restart, want pending", got)
	}
	p.stop()
	restarted := startProcess(t, ns, dbs)
	if o := restarted.api(t).waitFinal("healed-by-reconciler"); o.Status != "completed" {
		t.Fatalf("healed-by-reconciler = %+v, want completed", o)
	}
	if c := restarted.api(t).credit("c-1"); c != 10_000-2*1250 {
		t.Fatalf("credit = %d, want two orders charged", c)
	}
	rec := intake.NewReconciler(restarted.Intake(), nil)
	if started, err := rec.Reconcile(ctx, 0); err != nil || len(started) != 0 {
		t.Fatalf("a second reconciliation started %v (%v), want nothing", started, err)
	}
}

func TestOrchestrated_Readyz_ChecksDatabasesAndTemporal(t *testing.T) {
	p := startProcess(t, newNamespace(t), sqliteDatabases(t))
	var body struct {
		Status string `json:"status"`
		Checks []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"checks"`
	}
	p.api(t).mustDo(http.MethodGet, "/readyz", nil, &body, http.StatusOK)
	var names []string
	for _, c := range body.Checks {
		names = append(names, c.Name+":"+c.Status)
	}
	if got := strings.Join(names, " "); !strings.Contains(got, "database:ok") || !strings.Contains(got, "temporal:ok") {
		t.Fatalf("checks = %s, want database and temporal ok", got)
	}
}
