package httpapi_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"testing"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

// FuzzDecodePlaceOrder sends arbitrary bodies and wait values to POST
// /v1/orders. The API must never fail with 5xx or panic; a refused request
// must reach no dependency; an accepted one must hand the saga an order
// within the limits.
func FuzzDecodePlaceOrder(f *testing.F) {
	for _, seed := range []string{
		placeRequest("o-1"),
		placeRequest(""),
		`{"customer_id": "c-1", "items": [{"sku": "a", "quantity": 1000}], "ship_to": {"name": "A", "line1": "L", "line2": "", "city": "C", "postal_code": "1", "country": "AQ"}}`,
		`{"customer_id": "c-1", "items": [{"sku": "a", "quantity": 1}, {"sku": "a", "quantity": 1}]}`,
		`{"order_id": null, "items": null, "ship_to": null}`,
		`{"items": [{"quantity": 1e400}]}`,
		`{"items": [{"sku": "\u0000", "quantity": -0}]}`,
		`{"ship_to": {"country": "de"}} {}`,
		`[1, 2]`,
		`"x"`,
		``,
		`{"a":{"b":{"c":[[[[]]]]}}}`,
	} {
		f.Add([]byte(seed), "")
		f.Add([]byte(seed), "1ms")
	}
	h := newHarness(f, func(d *httpapi.Deps) { d.Logger = slog.New(slog.DiscardHandler) })
	h.w.waitFinal = func(_ context.Context, id string) (*domain.Order, error) { return h.w.order(id) }
	f.Fuzz(func(t *testing.T, body []byte, wait string) {
		h.tb = t
		h.w.mu.Lock()
		h.w.calls, h.w.orders = nil, map[string]*domain.Order{}
		h.w.mu.Unlock()

		target := "/v1/orders?wait=" + url.QueryEscape(wait)
		rec := h.doReader(http.MethodPost, target, bytes.NewReader(body), true)
		switch rec.Code {
		case http.StatusAccepted, http.StatusCreated:
			checkPlaced(t, h)
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			problemOf(t, rec, rec.Code)
			h.assertNoCalls()
		default:
			t.Fatalf("status %d for body %q wait %q: %s", rec.Code, body, wait, rec.Body)
		}
	})
}

// checkPlaced checks the one order the saga was handed.
func checkPlaced(t *testing.T, h *harness) {
	t.Helper()
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	if len(h.w.orders) != 1 {
		t.Fatalf("%d orders placed, want 1", len(h.w.orders))
	}
	for _, o := range h.w.orders {
		s := o.State()
		if !domain.ValidID(s.OrderID) || !domain.ValidID(s.CustomerID) || !domain.ValidCountry(s.ShipTo.Country) {
			t.Fatalf("accepted bad ids or country: %+v", s)
		}
		if len(s.Items) < 1 || len(s.Items) > domain.MaxItems {
			t.Fatalf("accepted %d items", len(s.Items))
		}
		seen := map[string]bool{}
		for _, it := range s.Items {
			if !domain.ValidID(it.SKU) || seen[it.SKU] || it.Quantity < 1 || it.Quantity > domain.MaxQuantity {
				t.Fatalf("accepted item %+v (items %+v)", it, s.Items)
			}
			seen[it.SKU] = true
		}
		if s.Status != domain.StatusPending {
			t.Fatalf("placed order is %s", s.Status)
		}
	}
}
