package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/inventory"
)

func TestPutProduct_SetsAndAnswersProduct(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodPut, "/v1/products/mug.v2_L-1", `{"name": "Mug", "price_cents": 1250, "stock": 40}`)
	assertJSON(t, rec, http.StatusOK, `{"sku": "mug.v2_L-1", "name": "Mug", "price_cents": 1250, "available": 40, "reserved": 0}`)
	if p := h.w.products["mug.v2_L-1"]; p.PriceCents != 1250 || p.Available != 40 {
		t.Fatalf("stored %+v", p)
	}
}

func TestPutProduct_ZeroPriceAndStock_AreAccepted(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodPut, "/v1/products/free", `{"name": "Sticker", "price_cents": 0, "stock": 0}`)
	assertJSON(t, rec, http.StatusOK, `{"sku": "free", "name": "Sticker", "price_cents": 0, "available": 0, "reserved": 0}`)
}

func TestPutProduct_NoContentType_IsReadAsJSON(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodPut, "/v1/products/mug", `{"name": "Mug", "price_cents": 1, "stock": 1}`, "Content-Type", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	rec = h.do(http.MethodPut, "/v1/products/mug", `{"name": "Mug", "price_cents": 1, "stock": 1}`, "Content-Type", "application/json; charset=utf-8")
	if rec.Code != http.StatusOK {
		t.Fatalf("with charset: status %d: %s", rec.Code, rec.Body)
	}
}

func TestPutProduct_StockBelowReserved_Answers409(t *testing.T) {
	h := newHarness(t)
	h.w.products["mug"] = inventory.Product{SKU: "mug", Name: "Mug", PriceCents: 1, Available: 3, Reserved: 5}
	assertProblem(t, h.do(http.MethodPut, "/v1/products/mug", `{"name": "Mug", "price_cents": 1, "stock": 4}`), http.StatusConflict)
	if p := h.w.products["mug"]; p.Available != 3 {
		t.Fatalf("refused restock changed the product: %+v", p)
	}
}

func TestPutProduct_ServiceRefusesField_Answers400WithItsFields(t *testing.T) {
	h := newHarness(t)
	h.w.failWith = errs.InvalidFields([]errs.FieldError{{Field: "name", Message: "is taken"}})
	assertProblem(t, h.do(http.MethodPut, "/v1/products/mug", `{"name": "Mug", "price_cents": 1, "stock": 1}`), http.StatusBadRequest, "name")
}

func TestGetProduct_AnswersProduct(t *testing.T) {
	h := newHarness(t)
	h.w.products["mug"] = inventory.Product{SKU: "mug", Name: "Mug", PriceCents: 1250, Available: 38, Reserved: 2}
	assertJSON(t, h.do(http.MethodGet, "/v1/products/mug", ""), http.StatusOK,
		`{"sku": "mug", "name": "Mug", "price_cents": 1250, "available": 38, "reserved": 2}`)
}

func TestListProducts_AnswersAllOrEmptyArray(t *testing.T) {
	h := newHarness(t)
	assertJSON(t, h.do(http.MethodGet, "/v1/products", ""), http.StatusOK, `{"products": []}`)
	h.w.products["tea"] = inventory.Product{SKU: "tea", Name: "Tea", PriceCents: 400, Available: 1}
	h.w.products["mug"] = inventory.Product{SKU: "mug", Name: "Mug", PriceCents: 1250, Available: 2}
	assertJSON(t, h.do(http.MethodGet, "/v1/products", ""), http.StatusOK, `{"products": [
		{"sku": "mug", "name": "Mug", "price_cents": 1250, "available": 2, "reserved": 0},
		{"sku": "tea", "name": "Tea", "price_cents": 400, "available": 1, "reserved": 0}]}`)
}

func TestPutCustomer_SetsAndGetAnswersCustomer(t *testing.T) {
	h := newHarness(t)
	want := `{"id": "c-1", "name": "Ada", "credit_cents": 100000}`
	assertJSON(t, h.do(http.MethodPut, "/v1/customers/c-1", `{"name": "Ada", "credit_cents": 100000}`), http.StatusOK, want)
	assertJSON(t, h.do(http.MethodGet, "/v1/customers/c-1", ""), http.StatusOK, want)
}

func TestCatalogAndAccounts_Missing_Answer503(t *testing.T) {
	h := newHarness(t, func(d *httpapi.Deps) { d.Catalog, d.Accounts = nil, nil })
	assertProblem(t, h.do(http.MethodGet, "/v1/products", ""), http.StatusServiceUnavailable)
	assertProblem(t, h.do(http.MethodPut, "/v1/products/mug", `{"name": "Mug", "price_cents": 1, "stock": 1}`), http.StatusServiceUnavailable)
	assertProblem(t, h.do(http.MethodGet, "/v1/customers/c-1", ""), http.StatusServiceUnavailable)
	h.assertNoCalls()
}
