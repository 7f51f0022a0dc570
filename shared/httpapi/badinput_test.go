package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/faults"
)

// orderBody is placeRequest("o-1") changed by edit.
func orderBody(tb testing.TB, edit func(m map[string]any)) string {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(placeRequest("o-1")), &m); err != nil {
		tb.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func items(n int, quantity any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"sku": fmt.Sprintf("sku-%d", i), "quantity": quantity}
	}
	return out
}

// unsized hides a body's length, as a chunked request does.
type unsized struct{ io.Reader }

type badInput struct {
	name   string
	method string
	target string
	body   string
	header []string // name, value pairs
	status int
	fields []string // the fields errors must name, exactly
	// reaches: the request may reach a dependency, because only the
	// dependency can tell (an unknown id, a cursor); it must still change
	// nothing.
	reaches bool
}

func badInputs(tb testing.TB) []badInput {
	long := strings.Repeat("x", 65)
	valid := placeRequest("o-1")
	post := func(name, body string, status int, fields ...string) badInput {
		return badInput{name: "POST /v1/orders " + name, method: http.MethodPost, target: "/v1/orders", body: body, status: status, fields: fields}
	}
	edit := func(f func(m map[string]any)) string { return orderBody(tb, f) }
	shipTo := func(key string, v any) string {
		return edit(func(m map[string]any) { m["ship_to"].(map[string]any)[key] = v })
	}
	cases := []badInput{
		post("invalid JSON", `{"customer_id": "c-1",`, 400),
		post("not JSON at all", `customer_id=c-1`, 400),
		post("empty body", ``, 400),
		post("array body", `[]`, 400),
		post("null body", `null`, 400),
		post("trailing data", valid+` {}`, 400),
		post("trailing garbage", valid+`x`, 400),
		post("unknown field", edit(func(m map[string]any) { m["coupon"] = "FREE" }), 400, "coupon"),
		post("unknown field in ship_to", shipTo("zip", "10115"), 400, "ship_to.zip"),
		post("unknown field in an item", edit(func(m map[string]any) {
			m["items"].([]any)[1].(map[string]any)["price_cents"] = 1
		}), 400, "items[1].price_cents"),
		post("field name in another case", edit(func(m map[string]any) { m["Customer_ID"] = m["customer_id"]; delete(m, "customer_id") }), 400, "Customer_ID"),
		post("several unknown fields", edit(func(m map[string]any) { m["a"] = 1; m["b"] = 2 }), 400, "a", "b"),
		post("quantity as a string", edit(func(m map[string]any) { m["items"] = items(1, "2") }), 400, "items[0].quantity"),
		post("customer_id as a number", edit(func(m map[string]any) { m["customer_id"] = 7 }), 400, "customer_id"),
		post("order_id as a number", edit(func(m map[string]any) { m["order_id"] = 7 }), 400, "order_id"),
		post("items as a string", edit(func(m map[string]any) { m["items"] = "mug" }), 400, "items"),
		post("ship_to as an array", edit(func(m map[string]any) { m["ship_to"] = []any{} }), 400, "ship_to"),
		post("fractional quantity", edit(func(m map[string]any) { m["items"] = items(1, 1.5) }), 400, "items[0].quantity"),
		post("huge quantity", `{"customer_id": "c-1", "items": [{"sku": "mug", "quantity": 1e30}]}`, 400, "items[0].quantity"),
		post("quantity beyond int64", `{"customer_id": "c-1", "items": [{"sku": "mug", "quantity": 9223372036854775808}]}`, 400, "items[0].quantity"),
		post("zero quantity", edit(func(m map[string]any) { m["items"] = items(1, 0) }), 400, "items[0].quantity"),
		post("negative quantity", edit(func(m map[string]any) { m["items"] = items(1, -3) }), 400, "items[0].quantity"),
		post("quantity over 1000", edit(func(m map[string]any) { m["items"] = items(2, 1001) }), 400, "items[0].quantity", "items[1].quantity"),
		post("51 items", edit(func(m map[string]any) { m["items"] = items(51, 1) }), 400, "items"),
		post("no items", edit(func(m map[string]any) { m["items"] = []any{} }), 400, "items"),
		post("duplicate skus", edit(func(m map[string]any) {
			m["items"] = []any{map[string]any{"sku": "mug", "quantity": 1}, map[string]any{"sku": "mug", "quantity": 2}}
		}), 400, "items[1].sku"),
		post("bad sku", edit(func(m map[string]any) {
			m["items"] = []any{map[string]any{"sku": "a/b", "quantity": 1}}
		}), 400, "items[0].sku"),
		post("order_id with a space", edit(func(m map[string]any) { m["order_id"] = "o 1" }), 400, "order_id"),
		post("order_id too long", edit(func(m map[string]any) { m["order_id"] = long }), 400, "order_id"),
		post("empty order_id", edit(func(m map[string]any) { m["order_id"] = "" }), 400, "order_id"),
		post("bad customer_id", edit(func(m map[string]any) { m["customer_id"] = "c?1" }), 400, "customer_id"),
		post("unknown country", shipTo("country", "XX"), 400, "ship_to.country"),
		post("lower-case country", shipTo("country", "de"), 400, "ship_to.country"),
		post("blank name", shipTo("name", "  "), 400, "ship_to.name"),
		post("no ship_to", edit(func(m map[string]any) { delete(m, "ship_to") }), 400,
			"ship_to.name", "ship_to.line1", "ship_to.city", "ship_to.postal_code", "ship_to.country"),
		post("empty object", `{}`, 400, "customer_id", "items",
			"ship_to.name", "ship_to.line1", "ship_to.city", "ship_to.postal_code", "ship_to.country"),
		post("oversized body", `{"customer_id": "`+strings.Repeat("a", 1<<20)+`"}`, 413),
		{name: "POST /v1/orders oversized chunked body", method: http.MethodPost, target: "/v1/orders",
			body: valid + strings.Repeat(" ", 1<<20), header: []string{"X-Unsized", "1"}, status: 413},
		{name: "POST /v1/orders text/plain", method: http.MethodPost, target: "/v1/orders", body: valid,
			header: []string{"Content-Type", "text/plain"}, status: 415},
		{name: "POST /v1/orders form", method: http.MethodPost, target: "/v1/orders", body: valid,
			header: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 415},
	}
	for _, wait := range []string{"forever", "31s", "-1s", "5", "1h", "1e3s"} {
		cases = append(cases, badInput{name: "POST /v1/orders wait=" + wait, method: http.MethodPost,
			target: "/v1/orders?wait=" + wait, body: valid, status: 400, fields: []string{"wait"}})
	}
	cases = append(cases,
		badInput{name: "POST /v1/orders bad wait and bad body", method: http.MethodPost, target: "/v1/orders?wait=soon",
			body: edit(func(m map[string]any) { m["items"] = items(1, 0) }), status: 400, fields: []string{"wait", "items[0].quantity"}},
		badInput{name: "POST /v1/orders bad wait and unknown field", method: http.MethodPost, target: "/v1/orders?wait=soon",
			body: edit(func(m map[string]any) { m["x"] = 1 }), status: 400, fields: []string{"wait", "x"}},

		badInput{name: "GET order bad id", method: http.MethodGet, target: "/v1/orders/o%201", status: 400, fields: []string{"order_id"}},
		badInput{name: "GET order id too long", method: http.MethodGet, target: "/v1/orders/" + long, status: 400, fields: []string{"order_id"}},
		badInput{name: "GET unknown order", method: http.MethodGet, target: "/v1/orders/o-404", status: 404, reaches: true},
		badInput{name: "cancel bad id", method: http.MethodPost, target: "/v1/orders/o%3F1/cancel", status: 400, fields: []string{"order_id"}},
		badInput{name: "cancel unknown order", method: http.MethodPost, target: "/v1/orders/o-404/cancel", status: 404, reaches: true},
		badInput{name: "list bad status", method: http.MethodGet, target: "/v1/orders?status=shipped", status: 400, fields: []string{"status"}},
		badInput{name: "list limit 0", method: http.MethodGet, target: "/v1/orders?limit=0", status: 400, fields: []string{"limit"}},
		badInput{name: "list limit 201", method: http.MethodGet, target: "/v1/orders?limit=201", status: 400, fields: []string{"limit"}},
		badInput{name: "list limit not a number", method: http.MethodGet, target: "/v1/orders?limit=ten", status: 400, fields: []string{"limit"}},
		badInput{name: "list bad status and limit", method: http.MethodGet, target: "/v1/orders?status=x&limit=-1", status: 400, fields: []string{"status", "limit"}},
		badInput{name: "list cursor too long", method: http.MethodGet, target: "/v1/orders?cursor=" + strings.Repeat("p", 513), status: 400, fields: []string{"cursor"}},
		badInput{name: "list cursor the store refuses", method: http.MethodGet, target: "/v1/orders?cursor=bogus", status: 400, fields: []string{"cursor"}, reaches: true},

		badInput{name: "PUT product bad sku", method: http.MethodPut, target: "/v1/products/a%20b", body: `{"name": "Mug", "price_cents": 1, "stock": 1}`, status: 400, fields: []string{"sku"}},
		badInput{name: "PUT product sku too long", method: http.MethodPut, target: "/v1/products/" + long, body: `{"name": "Mug", "price_cents": 1, "stock": 1}`, status: 400, fields: []string{"sku"}},
		badInput{name: "PUT product missing fields", method: http.MethodPut, target: "/v1/products/mug", body: `{}`, status: 400, fields: []string{"name", "price_cents", "stock"}},
		badInput{name: "PUT product negative values", method: http.MethodPut, target: "/v1/products/mug", body: `{"name": "Mug", "price_cents": -1, "stock": -5}`, status: 400, fields: []string{"price_cents", "stock"}},
		badInput{name: "PUT product blank name", method: http.MethodPut, target: "/v1/products/mug", body: `{"name": " ", "price_cents": 1, "stock": 1}`, status: 400, fields: []string{"name"}},
		badInput{name: "PUT product long name", method: http.MethodPut, target: "/v1/products/mug", body: `{"name": "` + strings.Repeat("é", 201) + `", "price_cents": 1, "stock": 1}`, status: 400, fields: []string{"name"}},
		badInput{name: "PUT product wrong types", method: http.MethodPut, target: "/v1/products/mug", body: `{"name": 1, "price_cents": "1", "stock": 1.5}`, status: 400, fields: []string{"name", "price_cents", "stock"}},
		badInput{name: "PUT product unknown field and bad sku", method: http.MethodPut, target: "/v1/products/a%20b", body: `{"name": "Mug", "price_cents": 1, "stock": 1, "color": "red"}`, status: 400, fields: []string{"sku", "color"}},
		badInput{name: "PUT product invalid JSON", method: http.MethodPut, target: "/v1/products/mug", body: `{"name": "Mug"`, status: 400},
		badInput{name: "PUT product text/plain", method: http.MethodPut, target: "/v1/products/mug", body: `{"name": "Mug", "price_cents": 1, "stock": 1}`, header: []string{"Content-Type", "text/plain"}, status: 415},
		badInput{name: "PUT product oversized", method: http.MethodPut, target: "/v1/products/mug", body: `{"name": "` + strings.Repeat("a", 1<<20) + `"}`, status: 413},
		badInput{name: "GET product bad sku", method: http.MethodGet, target: "/v1/products/a%2Cb", status: 400, fields: []string{"sku"}},
		badInput{name: "GET unknown product", method: http.MethodGet, target: "/v1/products/nope", status: 404, reaches: true},

		badInput{name: "PUT customer bad id", method: http.MethodPut, target: "/v1/customers/c%201", body: `{"name": "Ada", "credit_cents": 1}`, status: 400, fields: []string{"id"}},
		badInput{name: "PUT customer missing fields", method: http.MethodPut, target: "/v1/customers/c-1", body: `{}`, status: 400, fields: []string{"name", "credit_cents"}},
		badInput{name: "PUT customer negative credit", method: http.MethodPut, target: "/v1/customers/c-1", body: `{"name": "Ada", "credit_cents": -1}`, status: 400, fields: []string{"credit_cents"}},
		badInput{name: "PUT customer credit beyond int64", method: http.MethodPut, target: "/v1/customers/c-1", body: `{"name": "Ada", "credit_cents": 1e19}`, status: 400, fields: []string{"credit_cents"}},
		badInput{name: "PUT customer unknown field", method: http.MethodPut, target: "/v1/customers/c-1", body: `{"name": "Ada", "credit_cents": 1, "id": "c-1"}`, status: 400, fields: []string{"id"}},
		badInput{name: "GET customer bad id", method: http.MethodGet, target: "/v1/customers/" + long, status: 400, fields: []string{"id"}},
		badInput{name: "GET unknown customer", method: http.MethodGet, target: "/v1/customers/nope", status: 404, reaches: true},

		badInput{name: "PUT faults unknown service", method: http.MethodPut, target: "/v1/admin/faults", body: `{"billing": {"error_rate": 0.1}, "payment": {"error_rate": 0.5}}`, status: 400, fields: []string{"billing"}},
		badInput{name: "PUT faults out of range", method: http.MethodPut, target: "/v1/admin/faults", body: `{"inventory": {"error_rate": 1.5, "latency_ms": 10001}, "shipping": {"error_rate": -0.1, "latency_ms": -1}}`, status: 400,
			fields: []string{"inventory.error_rate", "inventory.latency_ms", "shipping.error_rate", "shipping.latency_ms"}},
		badInput{name: "PUT faults wrong types", method: http.MethodPut, target: "/v1/admin/faults", body: `{"inventory": {"error_rate": "high", "latency_ms": 1.5}, "payment": 3}`, status: 400,
			fields: []string{"inventory.error_rate", "inventory.latency_ms", "payment"}},
		badInput{name: "PUT faults unknown setting", method: http.MethodPut, target: "/v1/admin/faults", body: `{"inventory": {"jitter_ms": 5}}`, status: 400, fields: []string{"inventory.jitter_ms"}},
		badInput{name: "PUT faults invalid JSON", method: http.MethodPut, target: "/v1/admin/faults", body: `{"inventory": `, status: 400},
	)
	return cases
}

// TestBadInput_IsRefusedAndChangesNothing sends each malformed or invalid
// request and checks its problem document, the fields it names, and that no
// dependency was asked to change anything.
func TestBadInput_IsRefusedAndChangesNothing(t *testing.T) {
	for _, tc := range badInputs(t) {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			must(t, h.faults["payment"].Set(faults.Setting{ErrorRate: 0.25, Latency: 5 * time.Millisecond}))
			var body io.Reader = strings.NewReader(tc.body)
			header := tc.header
			if len(header) == 2 && header[0] == "X-Unsized" {
				body, header = unsized{body}, nil
			}
			rec := h.doReader(tc.method, tc.target, body, tc.body != "", header...)
			assertProblem(t, rec, tc.status, tc.fields...)
			if !tc.reaches {
				h.assertNoCalls()
			}
			h.assertEmpty()
			for name, in := range h.faults {
				want := faults.Setting{}
				if name == "payment" {
					want = faults.Setting{ErrorRate: 0.25, Latency: 5 * time.Millisecond}
				}
				if got := in.Get(); got != want {
					t.Errorf("%s faults changed to %+v", name, got)
				}
			}
		})
	}
}
