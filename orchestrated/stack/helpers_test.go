package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/ordersaga/ordersaga/orchestrated/stack"
	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/hosted"
)

// finalWithin bounds how long an order may take to become final in a test.
const finalWithin = 20 * time.Second

// process is one running process of the orchestrated stack.
type process struct {
	*stack.Stack
	url  string // "" without HTTP
	stop func()
}

// startProcess builds and runs a stack process hosting roles (all when
// none) on the databases dbs in namespace ns, verifying tokens with
// authtest.Keys; it stops with the test or when stop is called.
func startProcess(tb testing.TB, ns string, dbs map[hosted.Role]string, roles ...hosted.Role) *process {
	tb.Helper()
	return startProcessWith(tb, stack.Config{Namespace: ns, Hosted: hosted.Config{Roles: roles, Databases: dbs}, Auth: authtest.Keys(tb)})
}

// startProcessWith is startProcess with cfg as given: without cfg.Auth its
// API runs open.
func startProcessWith(tb testing.TB, cfg stack.Config) *process {
	tb.Helper()
	cfg.TemporalHostPort = temporalHostPort
	cfg.FaultInjection = true
	if cfg.Logger == nil {
		cfg.Logger = testLogger(tb)
	}
	if cfg.WorkerStopTimeout == 0 {
		cfg.WorkerStopTimeout = 100 * time.Millisecond
	}
	hostsOrders := len(cfg.Hosted.Roles) == 0
	for _, r := range cfg.Hosted.Roles {
		hostsOrders = hostsOrders || r == hosted.RoleOrders
	}
	if hostsOrders && cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	cfg.Hosted.Migrate = true // the test's databases are new
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := stack.New(ctx, cfg)
	if err != nil {
		tb.Fatalf("starting the orchestrated stack: %v", err)
	}
	runCtx, stopRun := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	p := &process{Stack: s}
	if s.Addr() != "" {
		p.url = "http://" + s.Addr()
	}
	stopped := false
	p.stop = func() {
		tb.Helper()
		if stopped {
			return
		}
		stopped = true
		stopRun()
		if err := <-done; err != nil {
			tb.Errorf("running the orchestrated stack: %v", err)
		}
		if err := s.Close(); err != nil {
			tb.Errorf("closing the orchestrated stack: %v", err)
		}
	}
	tb.Cleanup(p.stop)
	if p.url != "" {
		waitFor(tb, 10*time.Second, "the API to answer", func() bool {
			resp, err := http.Get(p.url + "/healthz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
	return p
}

// testLogger logs warnings and errors to the test's log.
func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// JSON shapes of API.md, as a client reads them.
type (
	orderJSON struct {
		OrderID        string     `json:"order_id"`
		CustomerID     string     `json:"customer_id"`
		Items          []itemJSON `json:"items"`
		TotalCents     *int64     `json:"total_cents"`
		Status         string     `json:"status"`
		FailureReason  string     `json:"failure_reason"`
		Steps          []stepJSON `json:"steps"`
		TrackingNumber string     `json:"tracking_number"`
	}
	itemJSON struct {
		SKU        string `json:"sku"`
		Quantity   int64  `json:"quantity"`
		PriceCents *int64 `json:"price_cents,omitempty"`
	}
	stepJSON struct {
		Step   string `json:"step"`
		Status string `json:"status"`
	}
	addressJSON struct {
		Name       string `json:"name"`
		Line1      string `json:"line1"`
		City       string `json:"city"`
		PostalCode string `json:"postal_code"`
		Country    string `json:"country"`
	}
	placeJSON struct {
		OrderID    string      `json:"order_id,omitempty"`
		CustomerID string      `json:"customer_id"`
		Items      []itemJSON  `json:"items"`
		ShipTo     addressJSON `json:"ship_to"`
	}
	productJSON struct {
		SKU       string `json:"sku"`
		Available int64  `json:"available"`
		Reserved  int64  `json:"reserved"`
	}
	customerJSON struct {
		ID          string `json:"id"`
		CreditCents int64  `json:"credit_cents"`
	}
	faultJSON struct {
		ErrorRate float64 `json:"error_rate"`
		LatencyMS int64   `json:"latency_ms"`
	}
)

// order returns a request for qty units of sku to country.
func order(id, customer, sku string, qty int64, country string) placeJSON {
	return placeJSON{
		OrderID:    id,
		CustomerID: customer,
		Items:      []itemJSON{{SKU: sku, Quantity: qty}},
		ShipTo:     addressJSON{Name: "Ada", Line1: "1 Main St", City: "Somewhere", PostalCode: "12345", Country: country},
	}
}

// api is an HTTP client of one stack's REST API. Its requests carry an
// operator token of authtest.Keys (which a stack run open ignores).
type api struct {
	tb  testing.TB
	url string
}

func (p *process) api(tb testing.TB) api { return api{tb: tb, url: p.url} }

// do sends a request and decodes a 2xx JSON answer into out; it returns
// the status code.
func (a api) do(method, path string, body, out any) int {
	a.tb.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.tb.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.url+path, r)
	if err != nil {
		a.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+authtest.Operator(a.tb, authtest.Keys(a.tb)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		a.tb.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 && out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			a.tb.Fatalf("%s %s: decoding %s: %v", method, path, raw, err)
		}
	}
	if resp.StatusCode >= 400 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		a.tb.Errorf("%s %s: %d answered as %q, want problem+json", method, path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode
}

func (a api) mustDo(method, path string, body, out any, want int) {
	a.tb.Helper()
	if got := a.do(method, path, body, out); got != want {
		a.tb.Fatalf("%s %s: status %d, want %d", method, path, got, want)
	}
}

func (a api) putProduct(sku string, priceCents, stock int64) {
	a.tb.Helper()
	a.mustDo(http.MethodPut, "/v1/products/"+sku, map[string]any{"name": sku, "price_cents": priceCents, "stock": stock}, nil, http.StatusOK)
}

func (a api) putCustomer(id string, creditCents int64) {
	a.tb.Helper()
	a.mustDo(http.MethodPut, "/v1/customers/"+id, map[string]any{"name": id, "credit_cents": creditCents}, nil, http.StatusOK)
}

func (a api) product(sku string) productJSON {
	a.tb.Helper()
	var p productJSON
	a.mustDo(http.MethodGet, "/v1/products/"+sku, nil, &p, http.StatusOK)
	return p
}

func (a api) credit(customer string) int64 {
	a.tb.Helper()
	var c customerJSON
	a.mustDo(http.MethodGet, "/v1/customers/"+customer, nil, &c, http.StatusOK)
	return c.CreditCents
}

func (a api) setFaults(rate float64, latency time.Duration) {
	a.tb.Helper()
	f := faultJSON{ErrorRate: rate, LatencyMS: latency.Milliseconds()}
	a.mustDo(http.MethodPut, "/v1/admin/faults", map[string]faultJSON{"inventory": f, "payment": f, "shipping": f}, nil, http.StatusOK)
}

// place posts an order, waiting up to wait for it to be final, and returns
// the status code and the order.
func (a api) place(req placeJSON, wait time.Duration) (int, orderJSON) {
	a.tb.Helper()
	path := "/v1/orders"
	if wait > 0 {
		path += "?wait=" + wait.String()
	}
	var o orderJSON
	code := a.do(http.MethodPost, path, req, &o)
	return code, o
}

func (a api) order(id string) orderJSON {
	a.tb.Helper()
	var o orderJSON
	a.mustDo(http.MethodGet, "/v1/orders/"+id, nil, &o, http.StatusOK)
	return o
}

// waitFinal polls the order until it is final.
func (a api) waitFinal(id string) orderJSON {
	a.tb.Helper()
	var o orderJSON
	waitFor(a.tb, finalWithin, "order "+id+" to be final", func() bool {
		o = a.order(id)
		return o.Status != "pending"
	})
	return o
}

// stepStatuses returns "step:status" for every step of the order.
func stepStatuses(o orderJSON) string {
	var parts []string
	for _, s := range o.Steps {
		parts = append(parts, s.Step+":"+s.Status)
	}
	return strings.Join(parts, " ")
}

// waitSagaClosed waits until the order's saga has closed.
func waitSagaClosed(tb testing.TB, c client.Client, orderID string) {
	tb.Helper()
	waitFor(tb, finalWithin, "the saga of order "+orderID+" to close", func() bool {
		d, err := c.DescribeWorkflowExecution(context.Background(), workflow.WorkflowID(orderID), "")
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	})
}

// history returns the closed saga's history of an order.
func history(tb testing.TB, c client.Client, orderID string) []*historypb.HistoryEvent {
	tb.Helper()
	waitSagaClosed(tb, c, orderID)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, workflow.WorkflowID(orderID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			tb.Fatalf("reading the history of order %s: %v", orderID, err)
		}
		events = append(events, e)
	}
	return events
}

// activityAttempts returns the activities the saga ran (local activities
// included), in order, each with the attempt that finally ran it:
// "ChargePayment#2".
func activityAttempts(tb testing.TB, events []*historypb.HistoryEvent) []string {
	tb.Helper()
	scheduled := map[int64]string{}
	var out []string
	for _, e := range events {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[e.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil {
			out = append(out, fmt.Sprintf("%s#%d", scheduled[a.GetScheduledEventId()], a.GetAttempt()))
		}
		if m := e.GetMarkerRecordedEventAttributes(); m != nil && m.GetMarkerName() == "LocalActivity" {
			var la struct {
				ActivityType string
				Attempt      int32
			}
			if err := converter.GetDefaultDataConverter().FromPayloads(m.GetDetails()["data"], &la); err != nil {
				tb.Fatalf("decoding a local activity marker: %v", err)
			}
			out = append(out, fmt.Sprintf("%s#%d", la.ActivityType, la.Attempt))
		}
	}
	return out
}

// sagaExists reports whether the order has a saga.
func sagaExists(tb testing.TB, c client.Client, orderID string) bool {
	tb.Helper()
	_, err := c.DescribeWorkflowExecution(context.Background(), workflow.WorkflowID(orderID), "")
	if _, ok := errors.AsType[*serviceerror.NotFound](err); ok {
		return false
	}
	if err != nil {
		tb.Fatalf("describing the saga of order %s: %v", orderID, err)
	}
	return true
}

// sagaRuns counts the saga executions of an order (visibility).
func sagaRuns(tb testing.TB, c client.Client, orderID string) int {
	tb.Helper()
	resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = '%s'", workflow.WorkflowID(orderID)),
	})
	if err != nil {
		tb.Fatalf("listing the sagas of order %s: %v", orderID, err)
	}
	return len(resp.GetExecutions())
}

// sagaState queries the saga's state.
func sagaState(tb testing.TB, c client.Client, orderID string) workflow.State {
	tb.Helper()
	v, err := c.QueryWorkflow(context.Background(), workflow.WorkflowID(orderID), "", workflow.QueryStatus)
	if err != nil {
		tb.Fatalf("querying the saga of order %s: %v", orderID, err)
	}
	var s workflow.State
	if err := v.Get(&s); err != nil {
		tb.Fatal(err)
	}
	return s
}
