package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/saga"
)

const pendingJSON = `{"order_id": "o-1", "customer_id": "c-1",
 "items": [{"sku": "mug", "quantity": 2, "price_cents": null}, {"sku": "tea", "quantity": 1, "price_cents": null}],
 "total_cents": null, "status": "pending",
 "steps": [{"step": "inventory", "status": "pending", "at": "2026-01-02T03:04:05Z"},
           {"step": "payment", "status": "pending", "at": "2026-01-02T03:04:05Z"},
           {"step": "shipping", "status": "pending", "at": "2026-01-02T03:04:05Z"}],
 "ship_to": {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"},
 "created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-02T03:04:05Z"}`

const completedJSON = `{"order_id": "o-1", "customer_id": "c-1",
 "items": [{"sku": "mug", "quantity": 2, "price_cents": 1250}, {"sku": "tea", "quantity": 1, "price_cents": 400}],
 "total_cents": 2900, "status": "completed",
 "steps": [{"step": "inventory", "status": "done", "at": "2026-01-02T04:04:05Z"},
           {"step": "payment", "status": "done", "at": "2026-01-02T04:04:05Z"},
           {"step": "shipping", "status": "done", "at": "2026-01-02T04:04:05Z"}],
 "tracking_number": "TRK-1",
 "ship_to": {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"},
 "created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-02T04:04:05Z"}`

const failedJSON = `{"order_id": "o-1", "customer_id": "c-1",
 "items": [{"sku": "mug", "quantity": 2, "price_cents": 1250}, {"sku": "tea", "quantity": 1, "price_cents": 400}],
 "total_cents": 2900, "status": "failed", "failure_reason": "payment_declined",
 "steps": [{"step": "inventory", "status": "compensated", "at": "2026-01-02T03:34:05Z"},
           {"step": "payment", "status": "failed", "at": "2026-01-02T03:34:05Z"},
           {"step": "shipping", "status": "skipped", "at": "2026-01-02T03:34:05Z"}],
 "ship_to": {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"},
 "created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-02T03:34:05Z"}`

func TestPlaceOrder_New_Answers202WithLocationAndPendingOrder(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodPost, "/v1/orders", placeRequest("o-1"))
	assertJSON(t, rec, http.StatusAccepted, pendingJSON)
	if loc := rec.Header().Get("Location"); loc != "/v1/orders/o-1" {
		t.Errorf("Location = %q, want /v1/orders/o-1", loc)
	}
	o, err := h.w.order("o-1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := o.State().Fingerprint, placeOrder("o-1").Fingerprint(); got != want {
		t.Errorf("placed fingerprint %s, want %s", got, want)
	}
}

func TestPlaceOrder_NoOrderID_UsesGeneratedID(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodPost, "/v1/orders", placeRequest(""))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	got := decodeBody[struct {
		OrderID string `json:"order_id"`
	}](t, rec)
	if got.OrderID != "gen-1" || rec.Header().Get("Location") != "/v1/orders/gen-1" {
		t.Fatalf("order id %q, Location %q; want the generated gen-1", got.OrderID, rec.Header().Get("Location"))
	}
	if _, err := h.w.order("gen-1"); err != nil {
		t.Fatal(err)
	}
}

func TestPlaceOrder_DefaultIDs_AreUUIDs(t *testing.T) {
	h := newHarness(t, func(d *httpapi.Deps) { d.NewID = nil })
	rec := h.do(http.MethodPost, "/v1/orders", `{"order_id": null, `+placeRequest("")[1:])
	got := decodeBody[struct {
		OrderID string `json:"order_id"`
	}](t, rec)
	if rec.Code != http.StatusAccepted || len(got.OrderID) != 36 || strings.Count(got.OrderID, "-") != 4 {
		t.Fatalf("status %d, order id %q; want 202 and a UUID", rec.Code, got.OrderID)
	}
}

func TestPlaceOrder_SameIDSameBody_Answers200WithExistingOrder(t *testing.T) {
	h := newHarness(t)
	first := h.do(http.MethodPost, "/v1/orders", placeRequest("o-1"))
	if first.Code != http.StatusAccepted {
		t.Fatalf("first status %d", first.Code)
	}
	// The same request with its items in another order is the same request.
	again := strings.Replace(placeRequest("o-1"), `{"sku": "mug", "quantity": 2}, {"sku": "tea", "quantity": 1}`,
		`{"sku": "tea", "quantity": 1}, {"sku": "mug", "quantity": 2}`, 1)
	rec := h.do(http.MethodPost, "/v1/orders", again)
	assertJSON(t, rec, http.StatusOK, pendingJSON)
	if rec.Header().Get("Location") != "" {
		t.Errorf("a repeat carries Location %q", rec.Header().Get("Location"))
	}
	if len(h.w.orders) != 1 {
		t.Fatalf("%d orders stored, want 1", len(h.w.orders))
	}
}

func TestPlaceOrder_SameIDOtherBody_Answers409(t *testing.T) {
	h := newHarness(t)
	h.do(http.MethodPost, "/v1/orders", placeRequest("o-1"))
	other := strings.Replace(placeRequest("o-1"), `"quantity": 2`, `"quantity": 3`, 1)
	assertProblem(t, h.do(http.MethodPost, "/v1/orders", other), http.StatusConflict)
	o, _ := h.w.order("o-1")
	if o.State().Items[0].Quantity != 2 {
		t.Fatal("the conflicting request changed the order")
	}
}

func TestPlaceOrder_WaitAndFinalInTime_Answers201WithFinalOrder(t *testing.T) {
	h := newHarness(t)
	var deadline time.Duration
	h.w.waitFinal = func(ctx context.Context, id string) (*domain.Order, error) {
		d, ok := ctx.Deadline()
		if !ok {
			return nil, errors.New("no deadline")
		}
		deadline = time.Until(d)
		return completedOrder(t, id), nil
	}
	rec := h.do(http.MethodPost, "/v1/orders?wait=5s", placeRequest("o-1"))
	assertJSON(t, rec, http.StatusCreated, completedJSON)
	if rec.Header().Get("Location") != "/v1/orders/o-1" {
		t.Errorf("Location = %q", rec.Header().Get("Location"))
	}
	if deadline <= 4*time.Second || deadline > 5*time.Second {
		t.Errorf("WaitFinal had %v left, want about 5s", deadline)
	}
}

func TestPlaceOrder_WaitExpires_Answers202WithPendingOrder(t *testing.T) {
	h := newHarness(t)
	start := time.Now()
	rec := h.do(http.MethodPost, "/v1/orders?wait=30ms", placeRequest("o-1"))
	assertJSON(t, rec, http.StatusAccepted, pendingJSON)
	if took := time.Since(start); took < 30*time.Millisecond {
		t.Errorf("answered after %v, before the wait was over", took)
	}
}

func TestPlaceOrder_WaitZero_DoesNotWait(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodPost, "/v1/orders?wait=0s", placeRequest("o-1"))
	assertJSON(t, rec, http.StatusAccepted, pendingJSON)
	for _, c := range h.w.Calls() {
		if c == "WaitFinal" {
			t.Fatal("wait=0s waited")
		}
	}
}

func TestPlaceOrder_WaitFails_StillAnswers202(t *testing.T) {
	h := newHarness(t)
	h.w.waitFinal = func(context.Context, string) (*domain.Order, error) { return nil, errors.New("store down") }
	rec := h.do(http.MethodPost, "/v1/orders?wait=1s", placeRequest("o-1"))
	assertJSON(t, rec, http.StatusAccepted, pendingJSON)
}

func TestPlaceOrder_RepeatWithWait_Answers200WithOrderAfterWaiting(t *testing.T) {
	h := newHarness(t)
	h.put(newOrder(t, "o-1"))
	h.w.waitFinal = func(_ context.Context, id string) (*domain.Order, error) { return completedOrder(t, id), nil }
	rec := h.do(http.MethodPost, "/v1/orders?wait=2s", placeRequest("o-1"))
	assertJSON(t, rec, http.StatusOK, completedJSON)
}

func TestPlaceOrder_RepeatWithWaitStillPending_Answers200(t *testing.T) {
	h := newHarness(t)
	h.put(newOrder(t, "o-1"))
	rec := h.do(http.MethodPost, "/v1/orders?wait=10ms", placeRequest("o-1"))
	assertJSON(t, rec, http.StatusOK, pendingJSON)
}

func TestPlaceOrder_FlowUnavailable_Answers503WithRetryAfter(t *testing.T) {
	h := newHarness(t)
	h.w.failWith = errs.E(errs.Unavailable, "the saga engine is unreachable")
	rec := h.do(http.MethodPost, "/v1/orders", placeRequest("o-1"))
	p := assertProblem(t, rec, http.StatusServiceUnavailable)
	if p.Detail != "the saga engine is unreachable" || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("detail %q, Retry-After %q", p.Detail, rec.Header().Get("Retry-After"))
	}
}

func TestPlaceOrder_InternalError_HidesCauseAndLogsIt(t *testing.T) {
	h := newHarness(t)
	h.w.failWith = errors.New("pq: password authentication failed for user secret")
	rec := h.do(http.MethodPost, "/v1/orders", placeRequest("o-1"))
	p := assertProblem(t, rec, http.StatusInternalServerError)
	if strings.Contains(rec.Body.String(), "secret") || p.Type != "https://ordersaga.dev/problems/internal" {
		t.Fatalf("internal problem leaks its cause or has the wrong type: %s", rec.Body)
	}
	if !strings.Contains(h.logs.String(), "password authentication failed") || !strings.Contains(h.logs.String(), `"order_id":"o-1"`) {
		t.Fatalf("the cause and order id were not logged: %s", h.logs)
	}
}

func TestGetOrder_AnswersEachStatusShape(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order func(testing.TB, string) *domain.Order
		want  string
	}{
		{"pending", newOrder, pendingJSON},
		{"completed", completedOrder, completedJSON},
		{"failed", failedOrder, failedJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.put(tc.order(t, "o-1"))
			assertJSON(t, h.do(http.MethodGet, "/v1/orders/o-1", ""), http.StatusOK, tc.want)
		})
	}
}

func TestGetOrder_Unknown_Answers404(t *testing.T) {
	h := newHarness(t)
	p := assertProblem(t, h.do(http.MethodGet, "/v1/orders/nope", ""), http.StatusNotFound)
	if p.Instance != "/v1/orders/nope" {
		t.Errorf("instance = %q", p.Instance)
	}
}

func TestListOrders_PagesNewestFirst(t *testing.T) {
	h := newHarness(t)
	for i, id := range []string{"a", "b", "c"} {
		o, err := domain.NewOrder(placeOrder(id), saga.Default().Names(), t0.Add(time.Duration(i)*time.Minute))
		must(t, err)
		h.put(o)
	}
	type page struct {
		Orders []struct {
			OrderID string `json:"order_id"`
		} `json:"orders"`
		NextCursor *string `json:"next_cursor"`
	}
	rec := h.do(http.MethodGet, "/v1/orders?limit=2", "")
	first := decodeBody[page](t, rec)
	if rec.Code != http.StatusOK || len(first.Orders) != 2 || first.Orders[0].OrderID != "c" || first.Orders[1].OrderID != "b" || first.NextCursor == nil {
		t.Fatalf("first page %d %s", rec.Code, rec.Body)
	}
	rec = h.do(http.MethodGet, "/v1/orders?limit=2&cursor="+*first.NextCursor, "")
	second := decodeBody[page](t, rec)
	if rec.Code != http.StatusOK || len(second.Orders) != 1 || second.Orders[0].OrderID != "a" || second.NextCursor != nil {
		t.Fatalf("second page %d %s", rec.Code, rec.Body)
	}
}

func TestListOrders_DefaultsAndStatusFilter(t *testing.T) {
	h := newHarness(t)
	h.put(newOrder(t, "p"), failedOrder(t, "f"))
	rec := h.do(http.MethodGet, "/v1/orders?status=failed", "")
	got := decodeBody[struct {
		Orders []struct {
			OrderID string `json:"order_id"`
			Status  string `json:"status"`
		} `json:"orders"`
	}](t, rec)
	if len(got.Orders) != 1 || got.Orders[0].OrderID != "f" || got.Orders[0].Status != "failed" {
		t.Fatalf("filtered list %s", rec.Body)
	}
	if h.w.lastList.Limit != 50 || h.w.lastList.Status != domain.StatusFailed {
		t.Fatalf("store filter %+v, want limit 50 and status failed", h.w.lastList)
	}
}

func TestListOrders_None_AnswersEmptyArray(t *testing.T) {
	h := newHarness(t)
	assertJSON(t, h.do(http.MethodGet, "/v1/orders", ""), http.StatusOK, `{"orders": []}`)
}

func TestCancelOrder_Pending_Answers202(t *testing.T) {
	h := newHarness(t)
	h.put(newOrder(t, "o-1"))
	rec := h.do(http.MethodPost, "/v1/orders/o-1/cancel", "")
	assertJSON(t, rec, http.StatusAccepted, pendingJSON)
	if o, _ := h.w.order("o-1"); !o.CancelRequested() {
		t.Fatal("the cancellation was not requested")
	}
}

func TestCancelOrder_AlreadyCancelled_Answers202(t *testing.T) {
	h := newHarness(t)
	o := newOrder(t, "o-1")
	must(t, o.Cancel(t0))
	h.put(o)
	rec := h.do(http.MethodPost, "/v1/orders/o-1/cancel", "")
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if got := decodeBody[struct {
		Status        string `json:"status"`
		FailureReason string `json:"failure_reason"`
	}](t, rec); got.Status != "cancelled" || got.FailureReason != "cancelled" {
		t.Fatalf("body %s", rec.Body)
	}
}

func TestCancelOrder_CompletedOrFailed_Answers409(t *testing.T) {
	for _, build := range []func(testing.TB, string) *domain.Order{completedOrder, failedOrder} {
		h := newHarness(t)
		h.put(build(t, "o-1"))
		assertProblem(t, h.do(http.MethodPost, "/v1/orders/o-1/cancel", ""), http.StatusConflict)
	}
}

func TestCancelOrder_Unknown_Answers404(t *testing.T) {
	h := newHarness(t)
	assertProblem(t, h.do(http.MethodPost, "/v1/orders/nope/cancel", ""), http.StatusNotFound)
}

func TestOrderEndpoints_WithoutStoreOrFlow_Answer503(t *testing.T) {
	for name, opt := range map[string]func(*httpapi.Deps){
		"no store": func(d *httpapi.Deps) { d.Orders = nil },
		"no flow":  func(d *httpapi.Deps) { d.Intake = nil },
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, opt)
			assertProblem(t, h.do(http.MethodPost, "/v1/orders", placeRequest("o-1")), http.StatusServiceUnavailable)
			assertProblem(t, h.do(http.MethodGet, "/v1/orders", ""), http.StatusServiceUnavailable)
			assertProblem(t, h.do(http.MethodGet, "/v1/orders/o-1", ""), http.StatusServiceUnavailable)
			assertProblem(t, h.do(http.MethodPost, "/v1/orders/o-1/cancel", ""), http.StatusServiceUnavailable)
			h.assertNoCalls()
		})
	}
}
