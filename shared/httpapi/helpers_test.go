package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// t0 is the fixed clock of the tests.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// harness is the API under test with its fakes.
type harness struct {
	tb     testing.TB
	w      *world
	h      http.Handler
	logs   *syncBuffer
	reg    *prometheus.Registry
	faults faults.Set
}

// newHarness builds the API over fresh fakes; opts adjust the Deps.
func newHarness(tb testing.TB, opts ...func(*httpapi.Deps)) *harness {
	tb.Helper()
	w := newWorld()
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	fs := faults.Set{
		"inventory": faults.New("inventory", 1),
		"payment":   faults.New("payment", 2),
		"shipping":  faults.New("shipping", 3),
	}
	var n atomic.Int64
	d := httpapi.Deps{
		Variant:       "test",
		Catalog:       catalog{w},
		Accounts:      accounts{w},
		Notifications: notes{w},
		Orders:        store{w},
		Intake:        flow{w},
		Faults:        fs,
		Registry:      reg,
		Logger:        slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:           func() time.Time { return t0 },
		NewID:         func() string { return fmt.Sprintf("gen-%d", n.Add(1)) },
	}
	for _, o := range opts {
		o(&d)
	}
	return &harness{tb: tb, w: w, h: httpapi.New(d), logs: logs, reg: reg, faults: fs}
}

// do sends a request. A non-empty body is sent as application/json unless
// header pairs (name, value, ...) say otherwise.
func (h *harness) do(method, target, body string, header ...string) *httptest.ResponseRecorder {
	h.tb.Helper()
	return h.doReader(method, target, strings.NewReader(body), body != "", header...)
}

func (h *harness) doReader(method, target string, body io.Reader, isJSON bool, header ...string) *httptest.ResponseRecorder {
	h.tb.Helper()
	req := httptest.NewRequest(method, target, body)
	if isJSON {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	return rec
}

// problemDoc is a problem+json body as a client reads it.
type problemDoc struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance"`
	Errors   []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
	Checks []struct {
		Name    string `json:"name"`
		Status  string `json:"status"`
		Message string `json:"message"`
	} `json:"checks"`
}

// assertProblem checks that rec is a problem document with the status and
// exactly the given fields in errors (in any order).
func assertProblem(tb testing.TB, rec *httptest.ResponseRecorder, status int, fields ...string) problemDoc {
	tb.Helper()
	p := problemOf(tb, rec, status)
	var got []string
	for _, e := range p.Errors {
		got = append(got, e.Field)
	}
	want := slices.Clone(fields)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		tb.Fatalf("error fields = %q, want %q; body %s", got, want, rec.Body)
	}
	return p
}

// problemOf checks that rec is a well-formed problem document with the
// status, every field error with a message, and returns it.
func problemOf(tb testing.TB, rec *httptest.ResponseRecorder, status int) problemDoc {
	tb.Helper()
	if rec.Code != status {
		tb.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		tb.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problemDoc
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		tb.Fatalf("decoding problem %s: %v", rec.Body, err)
	}
	if !strings.HasPrefix(p.Type, "https://ordersaga.dev/problems/") || p.Title == "" || p.Detail == "" || p.Status != status {
		tb.Fatalf("problem lacks type, title, detail or status: %+v", p)
	}
	for _, e := range p.Errors {
		if e.Message == "" {
			tb.Errorf("field error %q has no message", e.Field)
		}
	}
	return p
}

// assertJSON checks that rec answers status with a JSON body equal to want
// (same members, same values).
func assertJSON(tb testing.TB, rec *httptest.ResponseRecorder, status int, want string) {
	tb.Helper()
	if rec.Code != status {
		tb.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		tb.Fatalf("Content-Type = %q, want application/json", ct)
	}
	var got, exp any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		tb.Fatalf("decoding body %s: %v", rec.Body, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		tb.Fatalf("decoding wanted body: %v", err)
	}
	if !reflect.DeepEqual(got, exp) {
		tb.Fatalf("body =\n%s\nwant\n%s", rec.Body, want)
	}
}

// decodeBody decodes a JSON response body.
func decodeBody[T any](tb testing.TB, rec *httptest.ResponseRecorder) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		tb.Fatalf("decoding %s: %v", rec.Body, err)
	}
	return v
}

// assertNoCalls checks that the request reached no dependency.
func (h *harness) assertNoCalls() {
	h.tb.Helper()
	if calls := h.w.Calls(); len(calls) > 0 {
		h.tb.Fatalf("dependencies were called: %q", calls)
	}
}

// assertEmpty checks that the fakes, which start empty, hold nothing.
func (h *harness) assertEmpty() {
	h.tb.Helper()
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	if len(h.w.products)+len(h.w.customers)+len(h.w.orders) > 0 {
		h.tb.Fatalf("state changed: products %v, customers %v, orders %v", h.w.products, h.w.customers, h.w.orders)
	}
}

// placeRequest is a valid order request body.
func placeRequest(orderID string) string {
	idField := ""
	if orderID != "" {
		idField = fmt.Sprintf(`"order_id": %q, `, orderID)
	}
	return `{` + idField + `"customer_id": "c-1",
	 "items": [{"sku": "mug", "quantity": 2}, {"sku": "tea", "quantity": 1}],
	 "ship_to": {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}}`
}

// placeOrder is the domain request placeRequest stands for.
func placeOrder(orderID string) domain.PlaceOrder {
	return domain.PlaceOrder{
		OrderID:    orderID,
		CustomerID: "c-1",
		Items:      []domain.Item{{SKU: "mug", Quantity: 2}, {SKU: "tea", Quantity: 1}},
		ShipTo:     domain.Address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"},
	}
}

// newOrder returns a pending order created at t0.
func newOrder(tb testing.TB, id string) *domain.Order {
	tb.Helper()
	o, err := domain.NewOrder(placeOrder(id), saga.Default().Names(), t0)
	if err != nil {
		tb.Fatalf("new order: %v", err)
	}
	return o
}

// completedOrder returns an order priced, with every step done, completed
// an hour after t0.
func completedOrder(tb testing.TB, id string) *domain.Order {
	tb.Helper()
	o := newOrder(tb, id)
	at := t0.Add(time.Hour)
	must(tb, o.SetPrices([]domain.PricedItem{{SKU: "mug", Quantity: 2, PriceCents: 1250}, {SKU: "tea", Quantity: 1, PriceCents: 400}}, at))
	for _, s := range []domain.StepName{domain.StepInventory, domain.StepPayment, domain.StepShipping} {
		must(tb, o.MarkStep(s, domain.StepDone, at))
	}
	must(tb, o.Contribute(domain.Contribution{TrackingNumber: "TRK-1"}, at))
	must(tb, o.Complete(at))
	return o
}

// failedOrder returns an order that failed at payment, half an hour after t0.
func failedOrder(tb testing.TB, id string) *domain.Order {
	tb.Helper()
	o := newOrder(tb, id)
	at := t0.Add(30 * time.Minute)
	must(tb, o.SetPrices([]domain.PricedItem{{SKU: "mug", Quantity: 2, PriceCents: 1250}, {SKU: "tea", Quantity: 1, PriceCents: 400}}, at))
	must(tb, o.MarkStep(domain.StepInventory, domain.StepDone, at))
	must(tb, o.MarkStep(domain.StepPayment, domain.StepFailed, at))
	must(tb, o.Fail(domain.ReasonPaymentDeclined, at))
	must(tb, o.MarkStep(domain.StepInventory, domain.StepCompensated, at))
	return o
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// put stores orders in the world.
func (h *harness) put(os ...*domain.Order) {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	for _, o := range os {
		h.w.orders[o.ID()] = o
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
