package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

// endsStore is the fake store with what admission control needs: the
// orders pending at the start, and the followers of each order, which
// end calls as the store's watcher would.
type endsStore struct {
	store
	mu          sync.Mutex
	pending     []string
	pendingErr  error
	pendingRead int
	followers   map[string][]func()
}

func (s *endsStore) PendingIDs(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pendingRead++
	if s.pendingErr != nil {
		return nil, s.pendingErr
	}
	return append([]string(nil), s.pending...), nil
}

func (s *endsStore) Follow(id string, ended func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.followers[id] = append(s.followers[id], ended)
}

// reads returns how many times the pending orders were read.
func (s *endsStore) reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pendingRead
}

// followed reports whether someone follows the order.
func (s *endsStore) followed(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.followers[id]) > 0
}

// end completes the order in the world and tells its followers, once.
func (s *endsStore) end(tb testing.TB, id string) {
	tb.Helper()
	s.world.mu.Lock()
	s.world.orders[id] = completedOrder(tb, id)
	s.world.mu.Unlock()
	s.mu.Lock()
	fs := s.followers[id]
	delete(s.followers, id)
	s.mu.Unlock()
	if len(fs) == 0 {
		tb.Fatalf("order %s ended with nobody following it", id)
	}
	for _, f := range fs {
		f()
	}
}

// admissionHarness is the harness with an order store that tells when
// orders end, a bound of maxInFlight orders in flight, and pending orders
// in the store at the start.
func admissionHarness(tb testing.TB, maxInFlight int, pending []string, opts ...func(*httpapi.Deps)) (*harness, *endsStore) {
	tb.Helper()
	var es *endsStore
	h := newHarness(tb, append([]func(*httpapi.Deps){func(d *httpapi.Deps) {
		es = &endsStore{store: d.Orders.(store), pending: pending, followers: map[string][]func(){}}
		d.Orders = es
		d.Limits = httpapi.Limits{MaxInFlight: maxInFlight}
	}}, opts...)...)
	for _, id := range pending {
		h.put(newOrder(tb, id))
	}
	return h, es
}

// mustPlace places a new order and fails the test unless it was accepted.
func (h *harness) mustPlace(id string) {
	h.tb.Helper()
	if rec := h.do(http.MethodPost, "/v1/orders", placeRequest(id)); rec.Code != http.StatusAccepted {
		h.tb.Fatalf("POST order %s = %d, want 202; body %s", id, rec.Code, rec.Body)
	}
}

// assertRefused checks that rec refuses order id past a bound of limit
// orders in flight with the given Retry-After (seconds), and that the
// order was not placed.
func (h *harness) assertRefused(rec *httptest.ResponseRecorder, id string, limit int, retryAfter string) {
	h.tb.Helper()
	assertBusy(h.tb, rec, limit)
	if got := rec.Header().Get("Retry-After"); got != retryAfter {
		h.tb.Fatalf("Retry-After = %q, want %q", got, retryAfter)
	}
	if _, err := h.w.order(id); err == nil {
		h.tb.Fatalf("the refused order %s was placed", id)
	}
}

// metric returns the value of a metric of the harness's registry (summed
// over its series), and whether it exists.
func (h *harness) metric(name string) (float64, bool) {
	h.tb.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		sum := 0.0
		for _, m := range mf.GetMetric() {
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
		return sum, true
	}
	return 0, false
}

// assertMetric checks a metric's value.
func (h *harness) assertMetric(name string, want float64) {
	h.tb.Helper()
	if got, ok := h.metric(name); !ok || got != want {
		h.tb.Fatalf("%s = %v (present %v), want %v", name, got, ok, want)
	}
}

// Past MaxInFlight orders in flight, POST /v1/orders of a new order
// answers 503 problem+json with Retry-After and a detail naming the bound,
// and places nothing; the gauge shows the orders in flight and the
// counter the refusals.
func TestAdmission_PastMaxInFlight_503WithRetryAfter_NothingPlaced(t *testing.T) {
	const limit = 2
	h, _ := admissionHarness(t, limit, nil)
	h.mustPlace("o-1")
	h.mustPlace("o-2")
	h.assertMetric("ordersaga_orders_in_flight", 2)

	h.assertRefused(h.do(http.MethodPost, "/v1/orders", placeRequest("o-3")), "o-3", limit, "1")
	// Without an order_id of the client's, and with wait, the refusal is
	// the same.
	assertBusy(t, h.do(http.MethodPost, "/v1/orders?wait=5s", placeRequest("")), limit)
	if n := countCalls(h.w.Calls(), "Place"); n != limit {
		t.Fatalf("Place called %d times, want %d: a refused order reached the intake", n, limit)
	}
	h.assertMetric("ordersaga_orders_refused_total", 2)
	h.assertMetric("ordersaga_orders_in_flight", 2)
}

// At the bound, a repeat of an order in flight and of an order that ended
// answer as before (200 with the order, 409 for another request under the
// same id), and GET and cancel are served: only new orders are refused.
func TestAdmission_AtTheBound_RepeatsReadsAndCancelsServed(t *testing.T) {
	h, es := admissionHarness(t, 2, nil)
	h.mustPlace("old")
	es.end(t, "old")
	h.mustPlace("o-1")
	h.mustPlace("o-2")
	assertBusy(t, h.do(http.MethodPost, "/v1/orders", placeRequest("new")), 2)

	for _, id := range []string{"o-1", "old"} {
		if rec := h.do(http.MethodPost, "/v1/orders", placeRequest(id)); rec.Code != http.StatusOK {
			t.Fatalf("repeat of %s at the bound = %d, want 200; body %s", id, rec.Code, rec.Body)
		}
	}
	other := `{"order_id": "old", "customer_id": "c-1", "items": [{"sku": "cup", "quantity": 1}],
	 "ship_to": {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}}`
	assertProblem(t, h.do(http.MethodPost, "/v1/orders", other), http.StatusConflict)
	if rec := h.do(http.MethodGet, "/v1/orders/o-1", ""); rec.Code != http.StatusOK {
		t.Fatalf("GET at the bound = %d; body %s", rec.Code, rec.Body)
	}
	if rec := h.do(http.MethodGet, "/v1/orders", ""); rec.Code != http.StatusOK {
		t.Fatalf("GET /v1/orders at the bound = %d; body %s", rec.Code, rec.Body)
	}
	if rec := h.do(http.MethodPost, "/v1/orders/o-2/cancel", ""); rec.Code != http.StatusAccepted {
		t.Fatalf("cancel at the bound = %d; body %s", rec.Code, rec.Body)
	}
	h.assertMetric("ordersaga_orders_refused_total", 1)
	h.assertMetric("ordersaga_orders_in_flight", 2)
}

// The count falls as the store says orders ended: a freed place admits a
// new order again, and only one.
func TestAdmission_OrdersEnd_CountFalls_NewOrdersAdmitted(t *testing.T) {
	h, es := admissionHarness(t, 2, nil)
	h.mustPlace("o-1")
	h.mustPlace("o-2")
	for _, id := range []string{"o-1", "o-2"} {
		if !es.followed(id) {
			t.Fatalf("order %s is not followed: its end would not be seen", id)
		}
	}
	assertBusy(t, h.do(http.MethodPost, "/v1/orders", placeRequest("o-3")), 2)

	es.end(t, "o-1")
	h.assertMetric("ordersaga_orders_in_flight", 1)
	h.mustPlace("o-3")
	assertBusy(t, h.do(http.MethodPost, "/v1/orders", placeRequest("o-4")), 2)
	es.end(t, "o-2")
	es.end(t, "o-3")
	h.assertMetric("ordersaga_orders_in_flight", 0)
	h.mustPlace("o-4")
	h.mustPlace("o-5")
	h.assertMetric("ordersaga_orders_in_flight", 2)
}

// The orders pending in the store when the API starts count as in flight
// (read once, on the first order) until they end.
func TestAdmission_PendingAtStart_CountedUntilTheyEnd(t *testing.T) {
	h, es := admissionHarness(t, 3, []string{"p-1", "p-2"})
	h.mustPlace("o-1")
	assertBusy(t, h.do(http.MethodPost, "/v1/orders", placeRequest("o-2")), 3)
	h.assertMetric("ordersaga_orders_in_flight", 3)
	es.end(t, "p-1")
	h.mustPlace("o-2")
	assertBusy(t, h.do(http.MethodPost, "/v1/orders", placeRequest("o-3")), 3)
	if n := es.reads(); n != 1 {
		t.Fatalf("the pending orders were read %d times, want once", n)
	}
}

// A failed read of the pending orders is tried again with the next order,
// and orders are placed meanwhile; once read, the pending orders count.
func TestAdmission_PendingReadFails_TriedAgain(t *testing.T) {
	h, es := admissionHarness(t, 2, []string{"p-1", "p-2"})
	es.mu.Lock()
	es.pendingErr = errors.New("database down")
	es.mu.Unlock()
	h.mustPlace("o-1")
	es.mu.Lock()
	es.pendingErr = nil
	es.mu.Unlock()
	assertBusy(t, h.do(http.MethodPost, "/v1/orders", placeRequest("o-2")), 2)
	if n := es.reads(); n != 2 {
		t.Fatalf("the pending orders were read %d times, want twice (after a failure)", n)
	}
	h.assertMetric("ordersaga_orders_in_flight", 3)
}

// A place taken by an order whose placing failed is given back.
func TestAdmission_PlaceFails_PlaceGivenBack(t *testing.T) {
	h, _ := admissionHarness(t, 1, nil)
	h.w.mu.Lock()
	h.w.failWith = errors.New("intake down")
	h.w.mu.Unlock()
	if rec := h.do(http.MethodPost, "/v1/orders", placeRequest("o-1")); rec.Code != http.StatusInternalServerError {
		t.Fatalf("POST with a failing intake = %d, want 500; body %s", rec.Code, rec.Body)
	}
	h.w.mu.Lock()
	h.w.failWith = nil
	h.w.mu.Unlock()
	h.mustPlace("o-1")
}

// Concurrent new orders never take more places than the bound.
func TestAdmission_ConcurrentOrders_NeverPastTheBound(t *testing.T) {
	const (
		limit = 5
		n     = 40
	)
	h, _ := admissionHarness(t, limit, nil)
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { codes[i] = h.do(http.MethodPost, "/v1/orders", placeRequest(fmt.Sprintf("o-%d", i))).Code })
	}
	wg.Wait()
	accepted, refused := 0, 0
	for _, c := range codes {
		switch c {
		case http.StatusAccepted:
			accepted++
		case http.StatusServiceUnavailable:
			refused++
		default:
			t.Fatalf("status %d, want 202 or 503", c)
		}
	}
	if accepted != limit || refused != n-limit {
		t.Fatalf("%d accepted and %d refused, want %d and %d", accepted, refused, limit, n-limit)
	}
}

// Retry-After is the mean time in flight of the orders that ended in the
// last 10 s (by Little's law, the bound over their rate of ending), else
// the time the oldest order in flight has been in flight: in whole seconds
// from 1 to 10.
func TestAdmission_RetryAfter_FromRecentTimesInFlight(t *testing.T) {
	var mu sync.Mutex
	now := t0
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(d)
	}
	h, es := admissionHarness(t, 4, nil, func(d *httpapi.Deps) { d.Now = clock })
	expect := func(what, want string) {
		t.Helper()
		rec := h.do(http.MethodPost, "/v1/orders", placeRequest("refused"))
		assertBusy(t, rec, 4)
		if got := rec.Header().Get("Retry-After"); got != want {
			t.Fatalf("Retry-After %s = %s, want %s", what, got, want)
		}
	}
	place := func(prefix string, n int) {
		for i := range n {
			h.mustPlace(fmt.Sprintf("%s-%d", prefix, i))
		}
	}
	place("a", 4)
	expect("with orders just placed and none ended", "1")
	advance(3500 * time.Millisecond)
	expect("with the oldest order 3.5 s in flight", "4")
	advance(8 * time.Second)
	expect("with the oldest order 11.5 s in flight", "10")
	for i := range 4 {
		es.end(t, fmt.Sprintf("a-%d", i))
	}
	place("b", 4)
	expect("after ends of 11.5 s in flight", "10")

	advance(10 * time.Second) // those ends leave the window
	for i := range 4 {
		es.end(t, fmt.Sprintf("b-%d", i)) // 10 s in flight
	}
	advance(10 * time.Second)
	place("c", 4)
	expect("with no end in the last 10 s and new orders", "1")
	advance(2200 * time.Millisecond)
	es.end(t, "c-0")
	es.end(t, "c-1")
	place("d", 2)
	expect("after two ends of 2.2 s in flight", "3")
	advance(300 * time.Millisecond)
	es.end(t, "c-2") // 2.5 s: a mean of 2.3 s
	place("e", 1)
	expect("after ends of 2.2, 2.2 and 2.5 s in flight", "3")
}

// Without an order store that tells when orders end (see OrderEnds),
// orders in flight are not bounded.
func TestAdmission_StoreCannotTellEnds_NotBounded(t *testing.T) {
	h := newHarness(t, func(d *httpapi.Deps) { d.Limits = httpapi.Limits{MaxInFlight: 1} })
	for i := range 5 {
		h.mustPlace(fmt.Sprintf("o-%d", i))
	}
	if _, ok := h.metric("ordersaga_orders_in_flight"); ok {
		t.Fatal("the in-flight gauge is exported by an API that does not count")
	}
}

// The bound of a zero MaxInFlight is the variant's default.
func TestInFlightBound_ZeroTakesTheVariantsDefault(t *testing.T) {
	for _, tc := range []struct {
		variant string
		l       httpapi.Limits
		want    int
	}{
		{"orchestrated", httpapi.Limits{}, httpapi.DefaultMaxInFlightOrchestrated},
		{"choreographed", httpapi.DefaultLimits(), httpapi.DefaultMaxInFlightChoreographed},
		{"test", httpapi.Limits{}, httpapi.DefaultMaxInFlightOther},
		{"orchestrated", httpapi.Limits{MaxInFlight: 7}, 7},
	} {
		if got := tc.l.InFlightBound(tc.variant); got != tc.want {
			t.Errorf("%s with MaxInFlight %d: bound %d, want %d", tc.variant, tc.l.MaxInFlight, got, tc.want)
		}
	}
	if httpapi.DefaultMaxInFlightOrchestrated >= httpapi.DefaultMaxInFlightChoreographed {
		t.Error("the orchestrated variant's default bound is not below the choreographed one's, though its peak throughput is")
	}
}

// The in-flight gauge is there, at 0, before the first order.
func TestAdmission_Gauge_ExportedFromTheStart(t *testing.T) {
	h, _ := admissionHarness(t, 2, nil)
	h.assertMetric("ordersaga_orders_in_flight", 0)
	h.assertMetric("ordersaga_orders_refused_total", 0)
}

// A refusal by admission control is logged at info level, not as a
// warning: expected under load, it would flood the log when the process
// is busiest. Other 503s stay warnings.
func TestAdmission_Refusal_LoggedAtInfo(t *testing.T) {
	h, _ := admissionHarness(t, 1, nil)
	h.mustPlace("o-1")
	assertBusy(t, h.do(http.MethodPost, "/v1/orders", placeRequest("refused")), 1)
	var refusal, other string
	for line := range strings.SplitSeq(h.logs.String(), "\n") {
		if strings.Contains(line, `"order_id":"refused"`) && strings.Contains(line, `"status":503`) {
			refusal = line
		}
	}
	h.w.mu.Lock()
	h.w.failWith = errs.E(errs.Unavailable, "down")
	h.w.mu.Unlock()
	assertProblem(t, h.do(http.MethodGet, "/v1/orders/o-1", ""), http.StatusServiceUnavailable)
	for line := range strings.SplitSeq(h.logs.String(), "\n") {
		if strings.Contains(line, `"path":"/v1/orders/o-1"`) && strings.Contains(line, `"status":503`) {
			other = line
		}
	}
	if !strings.Contains(refusal, `"level":"INFO"`) {
		t.Errorf("the refusal's log line %q, want level INFO", refusal)
	}
	if !strings.Contains(other, `"level":"WARN"`) {
		t.Errorf("another 503's log line %q, want level WARN", other)
	}
}
