package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/shared/inventory"
)

// GET /v1/products pages like GET /v1/orders: limit products by sku and a
// next_cursor, absent on the last page; empty parameters count as absent
// and ask for 50.
func TestListProducts_Pages(t *testing.T) {
	h := newHarness(t)
	for _, sku := range []string{"tea", "mug", "cap"} {
		h.w.products[sku] = inventory.Product{SKU: sku, Name: strings.ToUpper(sku), PriceCents: 100, Available: 1}
	}
	type page struct {
		Products []struct {
			SKU string `json:"sku"`
		} `json:"products"`
		NextCursor *string `json:"next_cursor"`
	}
	rec := h.do(http.MethodGet, "/v1/products?limit=2", "")
	first := decodeBody[page](t, rec)
	if rec.Code != http.StatusOK || len(first.Products) != 2 || first.Products[0].SKU != "cap" || first.Products[1].SKU != "mug" || first.NextCursor == nil {
		t.Fatalf("first page = %d %s", rec.Code, rec.Body)
	}
	rec = h.do(http.MethodGet, "/v1/products?limit=2&cursor="+url.QueryEscape(*first.NextCursor), "")
	second := decodeBody[page](t, rec)
	if rec.Code != http.StatusOK || len(second.Products) != 1 || second.Products[0].SKU != "tea" || second.NextCursor != nil {
		t.Fatalf("second page = %d %s", rec.Code, rec.Body)
	}

	if rec := h.do(http.MethodGet, "/v1/products?limit=&cursor=", ""); rec.Code != http.StatusOK {
		t.Fatalf("empty parameters = %d %s", rec.Code, rec.Body)
	}
	h.w.mu.Lock()
	got := h.w.lastProducts
	h.w.mu.Unlock()
	if got != (inventory.ProductFilter{Limit: 50}) {
		t.Fatalf("empty parameters asked the catalog for %+v, want limit 50 and no cursor", got)
	}
	if rec := h.do(http.MethodGet, "/v1/products?limit=200", ""); rec.Code != http.StatusOK {
		t.Fatalf("limit=200 = %d %s", rec.Code, rec.Body)
	}
}

// A limit out of 1..200 or a cursor the server did not issue answers 400
// naming the field; the catalog is not asked for a bad limit or an
// oversized cursor.
func TestListProducts_BadLimitOrCursor_Answers400(t *testing.T) {
	h := newHarness(t)
	for _, q := range []string{"limit=0", "limit=201", "limit=x", "limit=-1", "limit=1.5"} {
		assertProblem(t, h.do(http.MethodGet, "/v1/products?"+q, ""), http.StatusBadRequest, "limit")
	}
	assertProblem(t, h.do(http.MethodGet, "/v1/products?cursor="+strings.Repeat("a", 513), ""), http.StatusBadRequest, "cursor")
	assertProblem(t, h.do(http.MethodGet, "/v1/products?limit=0&cursor="+strings.Repeat("a", 513), ""), http.StatusBadRequest, "limit", "cursor")
	h.assertNoCalls()
	assertProblem(t, h.do(http.MethodGet, "/v1/products?cursor=forged", ""), http.StatusBadRequest, "cursor")
}
