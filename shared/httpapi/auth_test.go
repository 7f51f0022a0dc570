package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/timeline"
)

// The credentials a request of the tests can carry.
const (
	credNone     = "no credential"
	credGarbled  = "garbled token"
	credForeign  = "token signed with another secret"
	credExpired  = "expired token"
	credOther    = "another customer's token"
	credOwn      = "the customer's own token"
	credOperator = "operator token"
)

// credentials are every credential kind, in the order the tests try them.
func credentials() []string {
	return []string{credNone, credGarbled, credForeign, credExpired, credOther, credOwn, credOperator}
}

// authHeader returns the Authorization header (name, value) of a
// credential kind; c-1 is the customer concerned, c-2 another one.
func authHeader(tb testing.TB, cred string) []string {
	tb.Helper()
	keys := authtest.Keys(tb)
	own := auth.Principal{Role: auth.RoleCustomer, Subject: "c-1"}
	var tok string
	switch cred {
	case credNone:
		return nil
	case credGarbled:
		tok = "not-a.jwt.token"
	case credForeign:
		tok = authtest.TokenAt(tb, authtest.RandomKeys(tb), own, t0.Add(-time.Minute))
	case credExpired:
		tok = authtest.TokenAt(tb, keys, own, t0.Add(-authtest.TTL-time.Hour))
	case credOther:
		tok = authtest.TokenAt(tb, keys, auth.Principal{Role: auth.RoleCustomer, Subject: "c-2"}, t0.Add(-time.Minute))
	case credOwn:
		tok = authtest.TokenAt(tb, keys, own, t0.Add(-time.Minute))
	case credOperator:
		tok = authtest.TokenAt(tb, keys, auth.Principal{Role: auth.RoleOperator, Subject: "ops"}, t0.Add(-time.Minute))
	default:
		tb.Fatalf("unknown credential %q", cred)
	}
	return []string{"Authorization", "Bearer " + tok}
}

// orderOf returns a pending order of customer placed at at.
func orderOf(tb testing.TB, id, customer string, at time.Time) *domain.Order {
	tb.Helper()
	p := placeOrder(id)
	p.CustomerID = customer
	o, err := domain.NewOrder(p, saga.Default().Names(), at)
	if err != nil {
		tb.Fatal(err)
	}
	return o
}

// newAuthHarness is the API with authentication on (the clock at t0) over
// a product, customers c-1 and c-2, their orders o-1 and o-2 and the
// orders' timelines.
func newAuthHarness(tb testing.TB, opts ...func(*httpapi.Deps)) *harness {
	tb.Helper()
	placed := []timeline.Entry{{At: t0, Service: "orders", Kind: timeline.KindOrderPlaced}}
	tl := &timelines{entries: map[string][]timeline.Entry{"o-1": placed, "o-2": placed}}
	h := newHarness(tb, append([]func(*httpapi.Deps){func(d *httpapi.Deps) {
		d.Auth = authtest.Keys(tb)
		d.Timeline = tl
	}}, opts...)...)
	tl.world = h.w
	h.w.products["mug"] = inventory.Product{SKU: "mug", Name: "Mug", PriceCents: 1250, Available: 4}
	h.w.customers["c-1"] = payment.Customer{ID: "c-1", Name: "Ada", CreditCents: 5000}
	h.w.customers["c-2"] = payment.Customer{ID: "c-2", Name: "Bob", CreditCents: 7000}
	h.put(orderOf(tb, "o-1", "c-1", t0), orderOf(tb, "o-2", "c-2", t0.Add(time.Second)))
	return h
}

// snapshot returns everything the fakes and the fault injectors hold.
func (h *harness) snapshot() string {
	h.tb.Helper()
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	state := map[string]any{"products": h.w.products, "customers": h.w.customers}
	orderStates := map[string]domain.OrderState{}
	for id, o := range h.w.orders {
		orderStates[id] = o.State()
	}
	state["orders"] = orderStates
	fs := map[string]string{}
	for name, in := range h.faults {
		fs[name] = fmt.Sprintf("%+v", in.Get())
	}
	state["faults"] = fs
	b, err := json.Marshal(state)
	if err != nil {
		h.tb.Fatal(err)
	}
	return string(b)
}

// access is who may call a route.
type access int

const (
	public   access = iota // anyone, without a credential
	caller                 // a customer or an operator
	operator               // an operator only
)

// authRoute is one route of the API as the access table tries it: a
// request on the resources of customer c-1.
type authRoute struct {
	route  string // "METHOD /template", as gin lists it
	path   string
	body   string
	access access
	ok     int // the status of a request that is allowed
	// owned: the route concerns c-1's order or account, which another
	// customer is told does not exist.
	owned bool
	// forOther: another customer is refused with 403 (placing an order for
	// c-1).
	forOther bool
}

// want returns the status a request with cred gets.
func (r authRoute) want(cred string) int {
	switch {
	case r.access == public:
		return r.ok
	case cred == credNone || cred == credGarbled || cred == credForeign || cred == credExpired:
		return http.StatusUnauthorized
	case cred == credOperator:
		return r.ok
	case r.access == operator:
		return http.StatusForbidden
	case cred == credOwn:
		return r.ok
	case r.forOther:
		return http.StatusForbidden
	case r.owned:
		return http.StatusNotFound
	}
	return r.ok
}

// authRoutes is every route of the API with a request for it.
func authRoutes() []authRoute {
	return []authRoute{
		{route: "GET /healthz", path: "/healthz", access: public, ok: http.StatusOK},
		{route: "GET /readyz", path: "/readyz", access: public, ok: http.StatusOK},
		{route: "GET /metrics", path: "/metrics", access: public, ok: http.StatusOK},
		{route: "GET /openapi.yaml", path: "/openapi.yaml", access: public, ok: http.StatusOK},
		{route: "GET /v1/products", path: "/v1/products", access: public, ok: http.StatusOK},
		{route: "GET /v1/products/:sku", path: "/v1/products/mug", access: public, ok: http.StatusOK},
		{route: "PUT /v1/products/:sku", path: "/v1/products/mug", body: `{"name": "Mug", "price_cents": 1, "stock": 9}`,
			access: operator, ok: http.StatusOK},
		{route: "GET /v1/customers/:id", path: "/v1/customers/c-1", access: caller, ok: http.StatusOK, owned: true},
		{route: "GET /v1/customers/:id/notifications", path: "/v1/customers/c-1/notifications", access: caller, ok: http.StatusOK, owned: true},
		{route: "PUT /v1/customers/:id", path: "/v1/customers/c-1", body: `{"name": "Ada", "credit_cents": 999999}`,
			access: operator, ok: http.StatusOK},
		{route: "POST /v1/orders", path: "/v1/orders", body: placeRequest("o-new"), access: caller, ok: http.StatusAccepted, forOther: true},
		{route: "GET /v1/orders", path: "/v1/orders", access: caller, ok: http.StatusOK},
		{route: "GET /v1/orders/:order_id", path: "/v1/orders/o-1", access: caller, ok: http.StatusOK, owned: true},
		{route: "POST /v1/orders/:order_id/cancel", path: "/v1/orders/o-1/cancel", access: caller, ok: http.StatusAccepted, owned: true},
		{route: "GET /v1/orders/:order_id/timeline", path: "/v1/orders/o-1/timeline", access: caller, ok: http.StatusOK, owned: true},
		{route: "GET /v1/admin/faults", path: "/v1/admin/faults", access: operator, ok: http.StatusOK},
		{route: "PUT /v1/admin/faults", path: "/v1/admin/faults", body: `{"inventory": {"error_rate": 0.5}}`,
			access: operator, ok: http.StatusOK},
	}
}

// writeCalls are the fakes' calls that change something.
func writeCalls(calls []string) []string {
	var out []string
	for _, c := range calls {
		if c == "SetProduct" || c == "SetCustomer" || c == "Place" || c == "Cancel" {
			out = append(out, c)
		}
	}
	return out
}

// TestAuth_EveryRouteAndCredential_AnsweredAsDocumented: every route the
// API serves, tried with every kind of credential, answers the status of
// the access rules; each refusal is a problem document (401 with its
// WWW-Authenticate challenge, 403 naming what a customer may not do, 404
// as for an unknown resource), and a refused request changes nothing and
// calls nothing that writes (401 and 403 call nothing at all).
func TestAuth_EveryRouteAndCredential_AnsweredAsDocumented(t *testing.T) {
	routes := authRoutes()
	engine, ok := newAuthHarness(t).h.(*gin.Engine)
	if !ok {
		t.Fatal("the API is not a gin engine")
	}
	var served, tried []string
	for _, r := range engine.Routes() {
		served = append(served, r.Method+" "+r.Path)
	}
	for _, r := range routes {
		tried = append(tried, r.route)
	}
	slices.Sort(served)
	slices.Sort(tried)
	if !slices.Equal(served, tried) {
		t.Fatalf("the table tries\n%s\nthe API serves\n%s", strings.Join(tried, "\n"), strings.Join(served, "\n"))
	}

	for _, r := range routes {
		for _, cred := range credentials() {
			t.Run(r.route+"/"+cred, func(t *testing.T) {
				h := newAuthHarness(t)
				method, _, _ := strings.Cut(r.route, " ")
				before := h.snapshot()
				rec := h.do(method, r.path, r.body, authHeader(t, cred)...)
				want := r.want(cred)
				challenge := rec.Header().Get("WWW-Authenticate")
				if want < http.StatusBadRequest {
					if rec.Code != want {
						t.Fatalf("status = %d, want %d; body %s", rec.Code, want, rec.Body)
					}
					if challenge != "" {
						t.Errorf("WWW-Authenticate %q on an allowed request", challenge)
					}
					return
				}
				p := problemOf(t, rec, want)
				switch want {
				case http.StatusUnauthorized:
					assertChallenge(t, cred, challenge, p)
				case http.StatusForbidden:
					if challenge != "" {
						t.Errorf("WWW-Authenticate %q on a 403", challenge)
					}
					if p.Type != "https://ordersaga.dev/problems/forbidden" ||
						!strings.Contains(p.Detail, "a customer may not") && !strings.Contains(p.Detail, "only for itself") {
						t.Errorf("403 problem %+v does not say what a customer may not do", p)
					}
				case http.StatusNotFound:
					if p.Type != "https://ordersaga.dev/problems/not-found" || !strings.Contains(p.Detail, "c-1") && !strings.Contains(p.Detail, "o-1") {
						t.Errorf("404 problem %+v", p)
					}
				}
				if after := h.snapshot(); after != before {
					t.Errorf("a refused request changed the state:\nbefore %s\nafter  %s", before, after)
				}
				calls := h.w.Calls()
				if w := writeCalls(calls); len(w) > 0 {
					t.Errorf("a refused request called %q", w)
				}
				if want != http.StatusNotFound && len(calls) > 0 {
					t.Errorf("a request refused with %d called %q", want, calls)
				}
			})
		}
	}
}

// assertChallenge checks the WWW-Authenticate challenge and the detail of
// a 401 answering cred.
func assertChallenge(tb testing.TB, cred, challenge string, p problemDoc) {
	tb.Helper()
	if p.Type != "https://ordersaga.dev/problems/unauthorized" {
		tb.Errorf("401 problem type %q", p.Type)
	}
	const realm = `Bearer realm="ordersaga"`
	switch cred {
	case credNone:
		if challenge != realm || !strings.Contains(p.Detail, "needs a bearer token") {
			tb.Errorf("challenge %q, detail %q; want %q and a detail asking for a token", challenge, p.Detail, realm)
		}
	case credExpired:
		if !strings.HasPrefix(challenge, realm+`, error="invalid_token", error_description="`) ||
			!strings.Contains(challenge, "expired") || !strings.Contains(p.Detail, "expired") {
			tb.Errorf("challenge %q, detail %q; want invalid_token saying it expired", challenge, p.Detail)
		}
	default:
		if !strings.HasPrefix(challenge, realm+`, error="invalid_token", error_description="`) ||
			strings.Contains(challenge, "expired") || !strings.Contains(p.Detail, "not valid") {
			tb.Errorf("challenge %q, detail %q; want invalid_token, not valid", challenge, p.Detail)
		}
	}
}

// TestAuth_AnotherCustomersOrderOrAccount_AnsweredExactlyAsAnUnknownOne:
// a customer asking for another customer's order, its timeline, its
// cancellation or another customer's account gets the very answer an
// unknown id gets, so ids do not leak.
func TestAuth_AnotherCustomersOrderOrAccount_AnsweredExactlyAsAnUnknownOne(t *testing.T) {
	h := newAuthHarness(t)
	other := authHeader(t, credOther)
	for _, c := range []struct{ method, taken, unknown string }{
		{http.MethodGet, "/v1/orders/o-1", "/v1/orders/o-9"},
		{http.MethodGet, "/v1/orders/o-1/timeline", "/v1/orders/o-9/timeline"},
		{http.MethodPost, "/v1/orders/o-1/cancel", "/v1/orders/o-9/cancel"},
		{http.MethodGet, "/v1/customers/c-1", "/v1/customers/c-9"},
	} {
		taken := h.do(c.method, c.taken, "", other...)
		unknown := h.do(c.method, c.unknown, "", other...)
		normal := strings.NewReplacer("o-9", "o-1", "c-9", "c-1").Replace(unknown.Body.String())
		if taken.Code != http.StatusNotFound || unknown.Code != http.StatusNotFound || taken.Body.String() != normal ||
			!maps.EqualFunc(taken.Header(), unknown.Header(), slices.Equal) {
			t.Errorf("%s %s: %d %v %s\nunknown id: %d %v %s", c.method, c.taken, taken.Code, taken.Header(), taken.Body,
				unknown.Code, unknown.Header(), unknown.Body)
		}
	}
}

// TestAuth_CustomerList_ShowsOnlyItsOrdersThroughCursors: a customer's
// GET /v1/orders lists its own orders only, page after page, with a
// status filter too; an operator's lists everyone's.
func TestAuth_CustomerList_ShowsOnlyItsOrdersThroughCursors(t *testing.T) {
	h := newAuthHarness(t)
	for i := range 5 {
		h.put(orderOf(t, fmt.Sprintf("a-%d", i), "c-1", t0.Add(time.Duration(10+i)*time.Second)))
		h.put(orderOf(t, fmt.Sprintf("b-%d", i), "c-2", t0.Add(time.Duration(10+i)*time.Second)))
	}
	list := func(cred, query string) []string {
		var got []string
		cursor := ""
		for range 10 {
			rec := h.do(http.MethodGet, "/v1/orders?limit=2&cursor="+cursor+query, "", authHeader(t, cred)...)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			page := decodeBody[struct {
				Orders []struct {
					OrderID    string `json:"order_id"`
					CustomerID string `json:"customer_id"`
				} `json:"orders"`
				NextCursor string `json:"next_cursor"`
			}](t, rec)
			for _, o := range page.Orders {
				got = append(got, o.CustomerID+":"+o.OrderID)
			}
			if cursor = page.NextCursor; cursor == "" {
				return got
			}
		}
		t.Fatal("more than 10 pages")
		return nil
	}
	want := []string{"c-1:a-4", "c-1:a-3", "c-1:a-2", "c-1:a-1", "c-1:a-0", "c-1:o-1"}
	if got := list(credOwn, ""); !slices.Equal(got, want) {
		t.Errorf("c-1 lists %q, want %q", got, want)
	}
	if got := list(credOwn, "&status=pending"); !slices.Equal(got, want) {
		t.Errorf("c-1 lists %q of its pending orders, want %q", got, want)
	}
	if got := list(credOther, "&status=completed"); len(got) != 0 {
		t.Errorf("c-2 lists %q of its completed orders, want none", got)
	}
	got := list(credOther, "")
	if len(got) != 6 || slices.ContainsFunc(got, func(s string) bool { return !strings.HasPrefix(s, "c-2:") }) {
		t.Errorf("c-2 lists %q, want its 6 orders only", got)
	}
	if got := list(credOperator, ""); len(got) != 12 {
		t.Errorf("the operator lists %d orders, want all 12: %q", len(got), got)
	}
}

// TestAuth_PlaceForAnotherCustomer_Refused403NamingTheRule: a customer
// placing an order for another customer id gets 403 saying it may place
// orders only for itself, and nothing is placed; for itself it is placed.
func TestAuth_PlaceForAnotherCustomer_Refused403NamingTheRule(t *testing.T) {
	h := newAuthHarness(t)
	p := problemOf(t, h.do(http.MethodPost, "/v1/orders?wait=1s", placeRequest("o-new"), authHeader(t, credOther)...), http.StatusForbidden)
	if !strings.Contains(p.Detail, "may place orders only for itself") || !strings.Contains(p.Detail, `"c-2"`) {
		t.Errorf("detail %q", p.Detail)
	}
	if w := writeCalls(h.w.Calls()); len(w) > 0 {
		t.Errorf("called %q", w)
	}
	body := strings.Replace(placeRequest("o-new"), `"c-1"`, `"c-2"`, 1)
	if rec := h.do(http.MethodPost, "/v1/orders", body, authHeader(t, credOther)...); rec.Code != http.StatusAccepted {
		t.Fatalf("placing for itself: %d %s", rec.Code, rec.Body)
	}
}

// TestAuth_FaultInjection_OperatorOnlyEvenWhenOff: with fault injection
// off an operator gets 404, a customer still 403, no credential 401.
func TestAuth_FaultInjection_OperatorOnlyEvenWhenOff(t *testing.T) {
	h := newAuthHarness(t, func(d *httpapi.Deps) { d.Faults = nil })
	for _, method := range []string{http.MethodGet, http.MethodPut} {
		body := ""
		if method == http.MethodPut {
			body = `{"inventory": {"error_rate": 1}}`
		}
		problemOf(t, h.do(method, "/v1/admin/faults", body, authHeader(t, credOperator)...), http.StatusNotFound)
		p := problemOf(t, h.do(method, "/v1/admin/faults", body, authHeader(t, credOwn)...), http.StatusForbidden)
		if !strings.Contains(p.Detail, "a customer may not use the admin endpoints") {
			t.Errorf("403 detail %q", p.Detail)
		}
		problemOf(t, h.do(method, "/v1/admin/faults", body), http.StatusUnauthorized)
	}
}

// TestAuth_OtherSchemeOrBadHeader_401WithoutErrorCode: an Authorization
// header of another scheme is no bearer token: 401 with the bare realm
// challenge and a detail saying so.
func TestAuth_OtherSchemeOrBadHeader_401WithoutErrorCode(t *testing.T) {
	h := newAuthHarness(t)
	for _, v := range []string{"Basic b3BzOnNlY3JldA==", "Bearer", "Bearer  "} {
		rec := h.do(http.MethodGet, "/v1/orders", "", "Authorization", v)
		p := problemOf(t, rec, http.StatusUnauthorized)
		if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="ordersaga"` || !strings.Contains(p.Detail, "holds none") {
			t.Errorf("%q: challenge %q, detail %q", v, got, p.Detail)
		}
	}
	// The scheme is case-insensitive (RFC 9110).
	tok := strings.TrimPrefix(authHeader(t, credOwn)[1], "Bearer ")
	if rec := h.do(http.MethodGet, "/v1/orders/o-1", "", "Authorization", "bearer "+tok); rec.Code != http.StatusOK {
		t.Errorf("lower-case scheme: %d %s", rec.Code, rec.Body)
	}
}

// principalIntake is an Intake that records the principal of the requests
// placing orders.
type principalIntake struct {
	flow
	got chan auth.Principal
}

func (p *principalIntake) Place(ctx context.Context, o *domain.Order) (*domain.Order, bool, error) {
	who, ok := httpapi.PrincipalFrom(ctx)
	if !ok {
		who = auth.Principal{Subject: "none"}
	}
	p.got <- who
	return p.flow.Place(ctx, o)
}

// TestPrincipalFrom_TheRequestsPrincipalReachesTheDependencies: the
// principal a request was authenticated as is in the context the
// dependencies get; with authentication off, an operator.
func TestPrincipalFrom_TheRequestsPrincipalReachesTheDependencies(t *testing.T) {
	for _, c := range []struct {
		name   string
		keys   bool
		header []string
		want   auth.Principal
	}{
		{"authentication on", true, authHeader(t, credOwn), auth.Principal{Role: auth.RoleCustomer, Subject: "c-1"}},
		{"authentication off", false, nil, auth.Principal{Role: auth.RoleOperator, Subject: "anonymous"}},
	} {
		pi := &principalIntake{got: make(chan auth.Principal, 1)}
		h := newHarness(t, func(d *httpapi.Deps) {
			if c.keys {
				d.Auth = authtest.Keys(t)
			}
			d.Intake = pi
		})
		pi.flow = flow{h.w}
		if rec := h.do(http.MethodPost, "/v1/orders", placeRequest("o-new"), c.header...); rec.Code != http.StatusAccepted {
			t.Fatalf("%s: %d %s", c.name, rec.Code, rec.Body)
		}
		if p := <-pi.got; p != c.want {
			t.Errorf("%s: the intake saw %+v, want %+v", c.name, p, c.want)
		}
	}
	if _, ok := httpapi.PrincipalFrom(httptest.NewRequest(http.MethodGet, "/", nil).Context()); ok {
		t.Error("a context the API did not authenticate has a principal")
	}
}
