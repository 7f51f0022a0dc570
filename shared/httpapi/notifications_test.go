package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/shared/httpapi"
)

func TestListNotifications_ShowsTheCustomersEndedOrders(t *testing.T) {
	h := newHarness(t)
	done := orderOf(t, "o-1", "c-1", t0)
	if err := done.Cancel(t0); err != nil {
		t.Fatal(err)
	}
	h.put(done, orderOf(t, "o-2", "c-1", t0), orderOf(t, "o-3", "c-2", t0))
	rec := h.do(http.MethodGet, "/v1/customers/c-1/notifications", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	type note struct {
		OrderID string `json:"order_id"`
		Status  string `json:"status"`
		Message string `json:"message"`
		EndedAt string `json:"ended_at"`
	}
	got := decodeBody[struct {
		Notifications []note `json:"notifications"`
	}](t, rec)
	if len(got.Notifications) != 1 || got.Notifications[0].OrderID != "o-1" || got.Notifications[0].Status != "cancelled" ||
		got.Notifications[0].Message == "" || got.Notifications[0].EndedAt == "" {
		t.Errorf("notifications %+v, want o-1 cancelled only", got.Notifications)
	}
}

func TestListNotifications_BadParameters_FieldByField_AndNoStore_503(t *testing.T) {
	h := newHarness(t)
	assertProblem(t, h.do(http.MethodGet, "/v1/customers/c-1/notifications?limit=0&cursor="+strings.Repeat("x", 600), ""),
		http.StatusBadRequest, "limit", "cursor")
	assertProblem(t, h.do(http.MethodGet, "/v1/customers/bad%20id/notifications", ""), http.StatusBadRequest, "id")
	h.assertNoCalls()

	without := newHarness(t, func(d *httpapi.Deps) { d.Notifications = nil })
	assertProblem(t, without.do(http.MethodGet, "/v1/customers/c-1/notifications", ""), http.StatusServiceUnavailable)
}
