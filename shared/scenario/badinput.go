package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// BadInput is one malformed or hostile request and the answer the contract
// requires: a 4xx problem+json with the status and, when Fields is not nil,
// errors naming exactly those fields.
type BadInput struct {
	Name        string
	Method      string
	Path        string // with the query
	Body        []byte // nil: no body
	ContentType string // "": application/json when there is a body
	Unsized     bool   // send the body without a Content-Length (chunked)
	Status      int
	Fields      []string
}

// oversized is a body larger than the contract's 1 MiB limit.
const oversized = 1<<20 + 1024

// BadInputs returns the table of bad requests for a stack where the
// product sku, the customer id and order (an order id that does not exist)
// are the suite's own. valid is a valid order request for them.
func BadInputs(sku, customer, order string) []BadInput {
	valid := OrderRequest{OrderID: order, CustomerID: customer, Items: []Line{{sku, 1}},
		ShipTo: Address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"}}
	// edit returns the valid request as a JSON object changed by f.
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(jsonBody(valid), &m); err != nil {
			panic(fmt.Sprintf("decoding the suite's own request: %v", err))
		}
		f(m)
		return jsonBody(m)
	}
	items := func(n int, quantity any) func(m map[string]any) {
		return func(m map[string]any) {
			list := make([]any, n)
			for i := range list {
				list[i] = map[string]any{"sku": fmt.Sprintf("%s-%d", sku, i), "quantity": quantity}
			}
			m["items"] = list
		}
	}
	shipTo := func(key string, v any) func(m map[string]any) {
		return func(m map[string]any) { m["ship_to"].(map[string]any)[key] = v }
	}
	set := func(key string, v any) func(m map[string]any) { return func(m map[string]any) { m[key] = v } }
	rawItems := func(raw string) []byte {
		return []byte(fmt.Sprintf(`{"order_id": %q, "customer_id": %q, "items": [{"sku": %q, "quantity": %s}], "ship_to": {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}}`,
			order, customer, sku, raw))
	}
	long := strings.Repeat("x", 65)
	validBody := jsonBody(valid)

	post := func(name string, body []byte, status int, fields ...string) BadInput {
		return BadInput{Name: "POST /v1/orders " + name, Method: http.MethodPost, Path: "/v1/orders", Body: body, Status: status, Fields: fields}
	}
	cases := []BadInput{
		post("invalid JSON", []byte(`{"customer_id": "x",`), 400),
		post("not JSON", []byte(`customer_id=x&sku=y`), 400),
		post("empty body", []byte{}, 400),
		post("JSON array", []byte(`[]`), 400),
		post("JSON null", []byte(`null`), 400),
		post("trailing data", append(slices.Clone(validBody), []byte(` {}`)...), 400),
		post("unknown field", edit(set("coupon", "FREE")), 400, "coupon"),
		post("unknown field in ship_to", edit(shipTo("zip", "10115")), 400, "ship_to.zip"),
		post("unknown field in an item", edit(func(m map[string]any) {
			m["items"].([]any)[0].(map[string]any)["price_cents"] = 1
		}), 400, "items[0].price_cents"),
		post("quantity as a string", edit(items(1, "2")), 400, "items[0].quantity"),
		post("fractional quantity", edit(items(1, 1.5)), 400, "items[0].quantity"),
		post("customer_id as a number", edit(set("customer_id", 7)), 400, "customer_id"),
		post("order_id as an object", edit(set("order_id", map[string]any{})), 400, "order_id"),
		post("items as a string", edit(set("items", "mug")), 400, "items"),
		post("ship_to as an array", edit(set("ship_to", []any{})), 400, "ship_to"),
		post("zero quantity", edit(items(1, 0)), 400, "items[0].quantity"),
		post("negative quantity", edit(items(1, -3)), 400, "items[0].quantity"),
		post("quantity over 1000", edit(items(1, 1001)), 400, "items[0].quantity"),
		post("huge quantity", rawItems("1e30"), 400, "items[0].quantity"),
		post("quantity beyond int64", rawItems("9223372036854775808"), 400, "items[0].quantity"),
		post("51 items", edit(items(51, 1)), 400, "items"),
		post("no items", edit(set("items", []any{})), 400, "items"),
		post("duplicate skus", edit(set("items", []any{
			map[string]any{"sku": sku, "quantity": 1}, map[string]any{"sku": sku, "quantity": 2},
		})), 400, "items[1].sku"),
		post("bad sku", edit(set("items", []any{map[string]any{"sku": sku + "/x", "quantity": 1}})), 400, "items[0].sku"),
		post("order_id with a space", edit(set("order_id", order+" x")), 400, "order_id"),
		post("order_id too long", edit(set("order_id", long)), 400, "order_id"),
		post("empty order_id", edit(set("order_id", "")), 400, "order_id"),
		post("bad customer_id", edit(set("customer_id", customer+"?")), 400, "customer_id"),
		post("unknown country", edit(shipTo("country", "XX")), 400, "ship_to.country"),
		post("lower-case country", edit(shipTo("country", "de")), 400, "ship_to.country"),
		post("no ship_to", edit(func(m map[string]any) { delete(m, "ship_to") }), 400,
			"ship_to.name", "ship_to.line1", "ship_to.city", "ship_to.postal_code", "ship_to.country"),
		post("oversized body", []byte(`{"customer_id": "`+strings.Repeat("a", oversized)+`"}`), 413),
		{Name: "POST /v1/orders oversized chunked body", Method: http.MethodPost, Path: "/v1/orders",
			Body: append(slices.Clone(validBody), []byte(strings.Repeat(" ", oversized))...), Unsized: true, Status: 413},
		{Name: "POST /v1/orders text/plain", Method: http.MethodPost, Path: "/v1/orders", Body: validBody,
			ContentType: "text/plain", Status: 415},
	}
	for _, wait := range []string{"forever", "31s", "-1s", "1h", "5"} {
		cases = append(cases, BadInput{Name: "POST /v1/orders wait=" + wait, Method: http.MethodPost,
			Path: "/v1/orders?wait=" + url.QueryEscape(wait), Body: validBody, Status: 400, Fields: []string{"wait"}})
	}
	product := `{"name": "Mug", "price_cents": 1, "stock": 1}`
	customerBody := `{"name": "Ada", "credit_cents": 1}`
	put := func(name, path, body string, status int, fields ...string) BadInput {
		return BadInput{Name: name, Method: http.MethodPut, Path: path, Body: []byte(body), Status: status, Fields: fields}
	}
	get := func(name, path string, status int, fields ...string) BadInput {
		return BadInput{Name: name, Method: http.MethodGet, Path: path, Status: status, Fields: fields}
	}
	cases = append(cases,
		get("GET order with a bad id", "/v1/orders/"+order+"%20x", 400, "order_id"),
		get("GET order with an id too long", "/v1/orders/"+long, 400, "order_id"),
		get("GET unknown order", "/v1/orders/"+order, 404),
		BadInput{Name: "cancel with a bad id", Method: http.MethodPost, Path: "/v1/orders/" + order + "%3Fx/cancel", Status: 400, Fields: []string{"order_id"}},
		BadInput{Name: "cancel unknown order", Method: http.MethodPost, Path: "/v1/orders/" + order + "/cancel", Status: 404},
		get("list with a bad status", "/v1/orders?status=shipped", 400, "status"),
		get("list with limit 0", "/v1/orders?limit=0", 400, "limit"),
		get("list with limit 201", "/v1/orders?limit=201", 400, "limit"),
		get("list with a limit not a number", "/v1/orders?limit=ten", 400, "limit"),
		get("list with a bad cursor", "/v1/orders?cursor="+url.QueryEscape("!!not a cursor!!"), 400, "cursor"),

		put("PUT product with a bad sku", "/v1/products/"+sku+"%20x", product, 400, "sku"),
		put("PUT product with a sku too long", "/v1/products/"+long, product, 400, "sku"),
		put("PUT product without fields", "/v1/products/"+sku, `{}`, 400, "name", "price_cents", "stock"),
		put("PUT product with negative values", "/v1/products/"+sku, `{"name": "Mug", "price_cents": -1, "stock": -5}`, 400, "price_cents", "stock"),
		put("PUT product with a price too large for any total", "/v1/products/"+sku, `{"name": "Huge", "price_cents": 4611686018427387904, "stock": 5}`, 400, "price_cents"),
		put("PUT product with more stock than the limit", "/v1/products/"+sku, `{"name": "Mug", "price_cents": 1, "stock": 1000000001}`, 400, "stock"),
		put("PUT product with a blank name", "/v1/products/"+sku, `{"name": " ", "price_cents": 1, "stock": 1}`, 400, "name"),
		put("PUT product with wrong types", "/v1/products/"+sku, `{"name": 1, "price_cents": "1", "stock": 1.5}`, 400, "name", "price_cents", "stock"),
		put("PUT product with an unknown field", "/v1/products/"+sku, `{"name": "Mug", "price_cents": 1, "stock": 1, "color": "red"}`, 400, "color"),
		put("PUT product with invalid JSON", "/v1/products/"+sku, `{"name": "Mug"`, 400),
		put("PUT product oversized", "/v1/products/"+sku, `{"name": "`+strings.Repeat("a", oversized)+`"}`, 413),
		get("GET product with a bad sku", "/v1/products/"+sku+"%2Cx", 400, "sku"),
		get("list products with limit 0", "/v1/products?limit=0", 400, "limit"),
		get("list products with limit 201", "/v1/products?limit=201", 400, "limit"),
		get("list products with a limit not a number", "/v1/products?limit=ten", 400, "limit"),
		get("list products with a bad cursor", "/v1/products?cursor="+url.QueryEscape("!!not a cursor!!"), 400, "cursor"),
		get("GET unknown product", "/v1/products/"+sku+"-none", 404),

		put("PUT customer with a bad id", "/v1/customers/"+customer+"%20x", customerBody, 400, "id"),
		put("PUT customer without fields", "/v1/customers/"+customer, `{}`, 400, "name", "credit_cents"),
		put("PUT customer with more credit than the limit", "/v1/customers/"+customer, `{"name": "Ada", "credit_cents": 1000000000000000001}`, 400, "credit_cents"),
		put("PUT customer with negative credit", "/v1/customers/"+customer, `{"name": "Ada", "credit_cents": -1}`, 400, "credit_cents"),
		put("PUT customer with credit beyond int64", "/v1/customers/"+customer, `{"name": "Ada", "credit_cents": 1e19}`, 400, "credit_cents"),
		put("PUT customer with an unknown field", "/v1/customers/"+customer, `{"name": "Ada", "credit_cents": 1, "email": "a@b.c"}`, 400, "email"),
		put("PUT customer with invalid JSON", "/v1/customers/"+customer, `{"name": `, 400),
		get("GET customer with a bad id", "/v1/customers/"+long, 400, "id"),
		get("GET unknown customer", "/v1/customers/"+customer+"-none", 404),

		put("PUT faults of an unknown service", "/v1/admin/faults", `{"billing": {"error_rate": 0.1}, "payment": {"error_rate": 0.5}}`, 400, "billing"),
		put("PUT faults out of range", "/v1/admin/faults", `{"inventory": {"error_rate": 1.5, "latency_ms": 10001}, "shipping": {"error_rate": -0.1, "latency_ms": -1}}`, 400,
			"inventory.error_rate", "inventory.latency_ms", "shipping.error_rate", "shipping.latency_ms"),
		put("PUT faults with wrong types", "/v1/admin/faults", `{"inventory": {"error_rate": "high"}, "payment": 3}`, 400, "inventory.error_rate", "payment"),
		put("PUT faults with an unknown setting", "/v1/admin/faults", `{"inventory": {"jitter_ms": 5}}`, 400, "inventory.jitter_ms"),
		put("PUT faults with invalid JSON", "/v1/admin/faults", `{"inventory": `, 400),

		get("unknown route", "/v1/nothing-here", 404),
		BadInput{Name: "DELETE an order", Method: http.MethodDelete, Path: "/v1/orders/" + order, Status: 405},
	)
	return cases
}

// state is what a refused request must leave as it was.
type state struct {
	Product  Product
	Customer Customer
	Order    int      // status of GET /v1/orders/{the suite's order id}: 404
	Products []string // skus of the suite's products
	Orders   []string // ids of the newest orders that are the suite's or its customer's
	Faults   Faults
}

// readState reads the state the bad requests must not change, as the
// operator.
func (e *Env) readState(ctx context.Context, sku, customer, order string) (state, error) {
	var s state
	tok, err := e.creds.operatorToken()
	if err != nil {
		return s, err
	}
	if s.Product, err = e.product(ctx, sku); err != nil {
		return s, err
	}
	if s.Customer, err = e.customer(ctx, customer); err != nil {
		return s, err
	}
	r, err := e.c.doIdempotent(ctx, request{method: http.MethodGet, path: "/v1/orders/" + order, token: tok})
	if err != nil {
		return s, err
	}
	s.Order = r.Status

	for path := "/v1/products?limit=200"; path != ""; { // every page
		if r, err = e.c.doIdempotent(ctx, request{method: http.MethodGet, path: path, token: tok}); err != nil || r.Status != http.StatusOK {
			return s, fmt.Errorf("GET %s: %v %w", path, r, err)
		}
		var ps struct {
			Products   []Product `json:"products"`
			NextCursor string    `json:"next_cursor"`
		}
		if err := r.decode(&ps); err != nil {
			return s, err
		}
		for _, p := range ps.Products {
			if strings.HasPrefix(p.SKU, e.prefix) {
				s.Products = append(s.Products, p.SKU)
			}
		}
		path = ""
		if ps.NextCursor != "" {
			path = "/v1/products?limit=200&cursor=" + url.QueryEscape(ps.NextCursor)
		}
	}
	slices.Sort(s.Products)

	if r, err = e.c.doIdempotent(ctx, request{method: http.MethodGet, path: "/v1/orders?limit=200", token: tok}); err != nil || r.Status != http.StatusOK {
		return s, fmt.Errorf("GET /v1/orders: %v %w", r, err)
	}
	var os struct {
		Orders []Order `json:"orders"`
	}
	if err := r.decode(&os); err != nil {
		return s, err
	}
	for _, o := range os.Orders {
		if strings.HasPrefix(o.OrderID, e.prefix) || strings.HasPrefix(o.CustomerID, e.prefix) {
			s.Orders = append(s.Orders, o.OrderID)
		}
	}
	slices.Sort(s.Orders)

	if r, err = e.c.doIdempotent(ctx, request{method: http.MethodGet, path: "/v1/admin/faults", token: tok}); err != nil || r.Status != http.StatusOK {
		return s, fmt.Errorf("GET /v1/admin/faults: %v %w (the stack must run with fault injection enabled)", r, err)
	}
	return s, r.decode(&s.Faults)
}

// RunBadInput sends every request of BadInputs to tg as a subtest, with
// the operator's token (which passes every access rule, so each answer is
// the request's own fault; see CheckAccess for the rules), and checks
// each answer (status, Content-Type application/problem+json, the
// problem's type, title, status and detail, and the fields its errors
// name) and that the request changed nothing: the suite's product,
// customer and fault settings are as they were, and no order or product
// appeared. Nothing else should write to the stack meanwhile.
func RunBadInput(t *testing.T, tg Target) {
	t.Helper()
	b := newBadInputRun(t, tg)
	for _, bc := range b.cases() {
		t.Run(bc.Name, func(t *testing.T) { b.check(t, bc) })
	}
}

// badInputRun is the suite's data for the bad requests and the state
// they must leave as it was.
type badInputRun struct {
	e                    *Env
	sku, customer, order string
	before               state
}

// newBadInputRun creates the suite's product and customer on tg and reads
// the state the bad requests must not change.
func newBadInputRun(tb testing.TB, tg Target) *badInputRun {
	tb.Helper()
	tg = tg.withDefaults()
	e := newEnv(tb, tg, "bad_input")
	b := &badInputRun{e: e, sku: e.Product("mug", 100, 5), customer: e.Customer("ada", 1000), order: e.ID("order")}
	ctx, cancel := context.WithTimeout(context.Background(), tg.FinalWithin)
	defer cancel()
	var err error
	if b.before, err = e.readState(ctx, b.sku, b.customer, b.order); err != nil {
		tb.Fatal(err)
	}
	if b.before.Order != http.StatusNotFound {
		tb.Fatalf("order %s exists before any request placed it: %d", b.order, b.before.Order)
	}
	return b
}

func (b *badInputRun) cases() []BadInput { return BadInputs(b.sku, b.customer, b.order) }

// check sends one bad request and reports through tb what is wrong with
// the answer, and any change it made.
func (b *badInputRun) check(tb testing.TB, bc BadInput) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), b.e.tg.FinalWithin)
	defer cancel()
	tok, err := b.e.creds.operatorToken()
	if err != nil {
		tb.Fatal(err)
	}
	rq := request{method: bc.Method, path: bc.Path, body: bc.Body, unsized: bc.Unsized, token: tok}
	if bc.ContentType != "" {
		rq.header = http.Header{"Content-Type": {bc.ContentType}}
	}
	r, err := b.e.c.do(ctx, rq)
	if err != nil {
		tb.Fatal(err)
	}
	if msg := problemError(r, bc.Status, bc.Fields); msg != "" {
		tb.Errorf("%s %s: %s", bc.Method, bc.Path, msg)
	}
	after, err := b.e.readState(ctx, b.sku, b.customer, b.order)
	if err != nil {
		tb.Fatal(err)
	}
	if !reflect.DeepEqual(b.before, after) {
		tb.Errorf("%s %s: the refused request changed the stack:\nbefore %+v\nafter  %+v", bc.Method, bc.Path, b.before, after)
	}
}
