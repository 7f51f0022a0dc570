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
	"github.com/ordersaga/ordersaga/shared/timeline"
)

// timelines is the world seen as a Timeline: the entries of each order,
// as the variant would give them (not necessarily sorted).
type timelines struct {
	*world
	entries map[string][]timeline.Entry
}

func (tl timelines) Timeline(_ context.Context, id string) ([]timeline.Entry, error) {
	if err := tl.record("Timeline"); err != nil {
		return nil, err
	}
	es, ok := tl.entries[id]
	if !ok {
		return nil, errs.E(errs.NotFound, "order %s not found", id)
	}
	return es, nil
}

// newTimelineHarness serves the given timelines.
func newTimelineHarness(t *testing.T, entries map[string][]timeline.Entry) *harness {
	t.Helper()
	tl := &timelines{entries: entries}
	h := newHarness(t, func(d *httpapi.Deps) { d.Timeline = tl })
	tl.world = h.w
	return h
}

func TestGetTimeline_AnswersEntriesSortedByTime(t *testing.T) {
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	h := newTimelineHarness(t, map[string][]timeline.Entry{"o-1": {
		// Given out of order; the two at ms(5) must keep their order.
		{At: ms(9), Service: "orders", Kind: timeline.KindOrderFinal, Status: domain.StatusFailed, Detail: "shipping_unavailable"},
		{At: ms(0), Service: "orders", Kind: timeline.KindOrderPlaced},
		{At: ms(5), Service: "shipping", Kind: timeline.KindStepFailed, Step: domain.StepShipping, Detail: "shipping_unavailable"},
		{At: ms(5), Service: "shipping", Kind: timeline.KindEventPublished, Event: "ShipmentFailed"},
		{At: ms(7).Add(123 * time.Microsecond), Service: "orders", Kind: timeline.KindEventConsumed, Event: "ShipmentFailed"},
	}})
	rec := h.do(http.MethodGet, "/v1/orders/o-1/timeline", "")
	assertJSON(t, rec, http.StatusOK, `{"order_id": "o-1", "variant": "test", "entries": [
		{"at": "2026-01-02T03:04:05.000000Z", "service": "orders", "kind": "order_placed"},
		{"at": "2026-01-02T03:04:05.005000Z", "service": "shipping", "kind": "step_failed", "step": "shipping", "detail": "shipping_unavailable"},
		{"at": "2026-01-02T03:04:05.005000Z", "service": "shipping", "kind": "event_published", "event": "ShipmentFailed"},
		{"at": "2026-01-02T03:04:05.007123Z", "service": "orders", "kind": "event_consumed", "event": "ShipmentFailed"},
		{"at": "2026-01-02T03:04:05.009000Z", "service": "orders", "kind": "order_final", "status": "failed", "detail": "shipping_unavailable"}]}`)
}

func TestGetTimeline_TimesInOtherZones_AnswersUTC(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	h := newTimelineHarness(t, map[string][]timeline.Entry{"o-1": {
		{At: t0.In(berlin), Service: "orders", Kind: timeline.KindOrderPlaced},
	}})
	rec := h.do(http.MethodGet, "/v1/orders/o-1/timeline", "")
	assertJSON(t, rec, http.StatusOK, `{"order_id": "o-1", "variant": "test", "entries": [
		{"at": "2026-01-02T03:04:05.000000Z", "service": "orders", "kind": "order_placed"}]}`)
}

func TestGetTimeline_NoEntries_AnswersAnEmptyList(t *testing.T) {
	h := newTimelineHarness(t, map[string][]timeline.Entry{"o-1": nil})
	rec := h.do(http.MethodGet, "/v1/orders/o-1/timeline", "")
	assertJSON(t, rec, http.StatusOK, `{"order_id": "o-1", "variant": "test", "entries": []}`)
}

func TestGetTimeline_Unknown_Answers404(t *testing.T) {
	h := newTimelineHarness(t, nil)
	p := assertProblem(t, h.do(http.MethodGet, "/v1/orders/nope/timeline", ""), http.StatusNotFound)
	if p.Instance != "/v1/orders/nope/timeline" || p.Type != "https://ordersaga.dev/problems/not-found" {
		t.Fatalf("problem = %+v", p)
	}
}

func TestGetTimeline_BadID_Answers400WithoutCallingTheTimeline(t *testing.T) {
	h := newTimelineHarness(t, nil)
	for _, id := range []string{"bad%20id", "a*b", strings.Repeat("x", 65)} {
		assertProblem(t, h.do(http.MethodGet, "/v1/orders/"+id+"/timeline", ""), http.StatusBadRequest, "order_id")
	}
	h.assertNoCalls()
}

func TestGetTimeline_WithoutTimeline_Answers503(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodGet, "/v1/orders/o-1/timeline", "")
	assertProblem(t, rec, http.StatusServiceUnavailable)
	if rec.Header().Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", rec.Header().Get("Retry-After"))
	}
	h.assertNoCalls()
}

func TestGetTimeline_RecordUnreachable_Answers503(t *testing.T) {
	h := newTimelineHarness(t, nil)
	h.w.failWith = errs.E(errs.Unavailable, "the order's saga history cannot be read")
	p := assertProblem(t, h.do(http.MethodGet, "/v1/orders/o-1/timeline", ""), http.StatusServiceUnavailable)
	if p.Detail != "the order's saga history cannot be read" {
		t.Fatalf("detail = %q", p.Detail)
	}
}

func TestGetTimeline_InternalError_HidesItsCause(t *testing.T) {
	h := newTimelineHarness(t, nil)
	h.w.failWith = errors.New("sql: secret table exploded")
	rec := h.do(http.MethodGet, "/v1/orders/o-1/timeline", "")
	assertProblem(t, rec, http.StatusInternalServerError)
	if strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("the cause leaked: %s", rec.Body)
	}
}

func TestGetTimeline_OtherMethod_Answers405(t *testing.T) {
	h := newTimelineHarness(t, nil)
	rec := h.do(http.MethodPost, "/v1/orders/o-1/timeline", "")
	assertProblem(t, rec, http.StatusMethodNotAllowed)
	if allow := rec.Header().Get("Allow"); !strings.Contains(allow, http.MethodGet) {
		t.Fatalf("Allow = %q, want GET", allow)
	}
}
