package scenario

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/domain"
)

// Credential is one way a request of the access check authenticates.
type Credential int

// The credentials CheckAccess sends to every endpoint, in the order it
// sends them.
const (
	// NoCredential sends no Authorization header.
	NoCredential Credential = iota
	// GarbledToken sends a bearer token that is not a token.
	GarbledToken
	// ForeignToken sends a token signed with a secret the stack does not
	// hold.
	ForeignToken
	// ExpiredToken sends a token signed with the stack's keys that has
	// expired.
	ExpiredToken
	// OtherCustomer sends a valid token of another customer than the one
	// whose order or account the request is about.
	OtherCustomer
	// OwnToken sends the customer's own valid token.
	OwnToken
	// OperatorToken sends a valid operator token.
	OperatorToken
)

// Credentials returns every credential, in the order CheckAccess sends
// them: the refused ones first, those that may write last.
func Credentials() []Credential {
	return []Credential{NoCredential, GarbledToken, ForeignToken, ExpiredToken, OtherCustomer, OwnToken, OperatorToken}
}

// String names the credential.
func (c Credential) String() string {
	switch c {
	case NoCredential:
		return "no credential"
	case GarbledToken:
		return "garbled token"
	case ForeignToken:
		return "token signed with another secret"
	case ExpiredToken:
		return "expired token"
	case OtherCustomer:
		return "another customer's token"
	case OwnToken:
		return "own token"
	case OperatorToken:
		return "operator token"
	}
	return fmt.Sprintf("credential %d", int(c))
}

// slug is the credential in an id.
func (c Credential) slug() string {
	return [...]string{"none", "garbled", "foreign", "expired", "other", "own", "operator"}[c]
}

// authenticates reports whether the credential is a valid token.
func (c Credential) authenticates() bool { return c >= OtherCustomer }

// accessCase is one endpoint of the access check and what each credential
// gets.
type accessCase struct {
	name   string // "METHOD /path/{param}"
	method string
	path   string
	body   func(c Credential) []byte // nil: no body
	// public: every credential gets the operator's status; the endpoint
	// does not look at credentials.
	public bool
	// operatorOnly: the endpoint is the operator's, so the invalid tokens
	// carry an operator principal (a stack that skipped verifying them
	// would let them through).
	operatorOnly bool
	// Statuses for another customer's token, the customer's own and an
	// operator's; every invalid credential gets 401.
	other, own, operator int
	// write: a request answered with anything but 2xx must change
	// nothing.
	write bool
	// check looks further at an answer to a valid token with the
	// expected status; nil: nothing more.
	check func(tb testing.TB, c Credential, r response)
}

// want returns the status the credential must get.
func (ac accessCase) want(c Credential) int {
	switch {
	case ac.public:
		return ac.operator
	case c == OtherCustomer:
		return ac.other
	case c == OwnToken:
		return ac.own
	case c == OperatorToken:
		return ac.operator
	}
	return http.StatusUnauthorized
}

// accessState is what the refused requests of the access check must leave
// as it was, read as the operator.
type accessState struct {
	Product    Product
	Owner      Customer
	Other      Customer
	OwnerOrder domain.Status
	OtherOrder domain.Status
	Orders     []string // ids of the newest orders of the run's customers or with its ids
	Faults     Faults
}

// accessRun is the access check's data on a stack.
type accessRun struct {
	e       *Env
	foreign *auth.Keys // keys the stack does not hold
	sku     string
	owner   string // the customer whose order and account the requests are about
	other   string // another customer
	// ownerOrder and otherOrder are completed orders of owner and other.
	ownerOrder, otherOrder string
	before                 accessState
}

// CheckAccess checks the access rules on a stack that runs with
// authentication (tg.Keys are its keys) and fault injection: every
// endpoint of the API, sent with no credential, a garbled token, a token
// signed with another secret, an expired token, another customer's token,
// the customer's own token and an operator token, each as a subtest.
//
//   - GET /healthz, /readyz, /metrics, /openapi.yaml, /v1/products and
//     /v1/products/{sku} answer 200 to every credential.
//   - Anywhere else, no credential, a garbled token, one signed with
//     another secret and an expired one get 401 problem+json with a
//     `WWW-Authenticate: Bearer` challenge, naming error="invalid_token"
//     when a token was sent; an expired token's problem says so.
//   - PUT /v1/products/{sku}, PUT /v1/customers/{id}, GET and PUT
//     /v1/admin/faults answer 403 problem+json to a customer, 200 to an
//     operator.
//   - GET /v1/customers/{id} and its notifications, GET /v1/orders/{id}
//     and its timeline answer
//     404 problem+json to another customer (as for an unknown id), 200 to
//     the customer and an operator; POST /v1/orders/{id}/cancel of a
//     completed order 404 to another customer, 409 to the customer and an
//     operator; POST /v1/orders for another customer 403, 202 for itself
//     or by an operator; GET /v1/orders lists a customer's own orders
//     only, every order to an operator.
//   - A refused write changes nothing (the product, both customers,
//     their orders and the fault settings are re-read after each), and
//     refused cancels of a running order leave it to complete.
//
// It then checks the invariants over the orders it placed. The rules are
// README's "Who may do what".
func CheckAccess(t *testing.T, tg Target) {
	t.Helper()
	a := newAccessRun(t, tg)
	for _, ac := range a.cases() {
		t.Run(ac.name, func(t *testing.T) {
			for _, c := range Credentials() {
				t.Run(c.String(), func(t *testing.T) { a.check(t, ac, c) })
			}
		})
	}
	a.checkRunningCancel(t)
	res := a.e.Finish()
	ExpectOrder(t, res, "owner_order", WantCompleted())
	ExpectOrder(t, res, "other_order", WantCompleted())
	for _, c := range []Credential{OwnToken, OperatorToken} {
		if _, ok := res.Orders["place_"+c.slug()]; ok {
			ExpectOrder(t, res, "place_"+c.slug(), wantOutOfStock)
		}
	}
	CheckInvariants(t, res)
}

// newAccessRun creates the check's product, two customers and a
// completed order of each, waits until the stack is quiet and reads the
// state the refused requests must not change.
func newAccessRun(tb testing.TB, tg Target) *accessRun {
	tb.Helper()
	tg = tg.withDefaults()
	if tg.Keys == nil {
		tb.Fatal("the access check needs the stack's keys (Target.Keys) to mint its tokens")
	}
	e := newEnv(tb, tg, "access")
	a := &accessRun{e: e, foreign: authtest.RandomKeys(tb), sku: e.Product("mug", 500, 50),
		owner: e.Customer("owner", 100_000), other: e.Customer("other", 100_000)}
	e.Place("owner_order", e.Request("owner_order", a.owner, "DE", Line{a.sku, 1}))
	e.Place("other_order", e.Request("other_order", a.other, "DE", Line{a.sku, 2}))
	a.ownerOrder, a.otherOrder = e.OrderID("owner_order"), e.OrderID("other_order")
	res := e.Finish()
	for _, n := range []string{"owner_order", "other_order"} {
		if o := res.Orders[n]; o.Status != domain.StatusCompleted {
			tb.Fatalf("order %s (%s) ended %q %q, want completed before the access check", n, o.ID, o.Status, o.FailureReason)
		}
	}
	tb.Cleanup(func() {
		// A fault setting wrongly accepted from a customer must not
		// outlive the check.
		ctx, cancel := e.ctx()
		defer cancel()
		tok, err := e.creds.operatorToken()
		if err != nil {
			tb.Error(err)
			return
		}
		r, err := e.c.doIdempotent(ctx, request{method: http.MethodPut, path: "/v1/admin/faults", body: jsonBody(noFaults()), token: tok})
		if err != nil || r.Status != http.StatusOK {
			tb.Errorf("turning faults off: %v %v", r, err)
		}
	})
	a.before = a.state(tb)
	return a
}

// token returns the Authorization header value of a credential ("" for
// none); invalid tokens carry an operator principal on operator
// endpoints, the owner's elsewhere.
func (a *accessRun) token(tb testing.TB, c Credential, operatorOnly bool) string {
	tb.Helper()
	p := auth.Principal{Role: auth.RoleCustomer, Subject: a.owner}
	if operatorOnly {
		p = auth.Principal{Role: auth.RoleOperator, Subject: OperatorSubject}
	}
	var tok string
	var err error
	switch c {
	case NoCredential:
		return ""
	case GarbledToken:
		return "Bearer not-a-token"
	case ForeignToken:
		tok, err = a.foreign.Issue(p, TokenTTL, time.Now())
	case ExpiredToken:
		tok, err = a.e.tg.Keys.Issue(p, time.Minute, time.Now().Add(-time.Hour))
	case OtherCustomer:
		tok, err = a.e.CustomerToken(a.other)
	case OwnToken:
		tok, err = a.e.CustomerToken(a.owner)
	case OperatorToken:
		tok, err = a.e.OperatorToken()
	}
	if err != nil {
		tb.Fatal(err)
	}
	return "Bearer " + tok
}

// send sends a request with the credential's Authorization header.
func (a *accessRun) send(tb testing.TB, c Credential, operatorOnly bool, method, path string, body []byte) response {
	tb.Helper()
	rq := request{method: method, path: path, body: body}
	if h := a.token(tb, c, operatorOnly); h != "" {
		rq.header = http.Header{"Authorization": {h}}
	}
	ctx, cancel := a.e.ctx()
	defer cancel()
	r, err := a.e.c.do(ctx, rq)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// check sends one endpoint's request with one credential and reports what
// is wrong with the answer, and any change a refused write made.
func (a *accessRun) check(tb testing.TB, ac accessCase, c Credential) {
	tb.Helper()
	var body []byte
	if ac.body != nil {
		body = ac.body(c)
	}
	placed := time.Now()
	r := a.send(tb, c, ac.operatorOnly, ac.method, ac.path, body)
	want := ac.want(c)
	what := fmt.Sprintf("%s %s with %s", ac.method, ac.path, c)
	switch {
	case r.Status != want:
		tb.Errorf("%s: status %d, want %d; answer %v", what, r.Status, want, r)
	case want == http.StatusUnauthorized:
		if msg := unauthorizedError(r, c); msg != "" {
			tb.Errorf("%s: %s", what, msg)
		}
	case want >= 400:
		expectProblem(tb, what, r, want)
	}
	if r.Status == want && c.authenticates() && ac.check != nil {
		ac.check(tb, c, r)
	}
	if ac.method == http.MethodPost && ac.path == "/v1/orders" && r.Status == http.StatusAccepted {
		a.e.Track("place_"+c.slug(), a.e.ID("place_"+c.slug()), placed)
	}
	if !ac.write {
		return
	}
	after := a.state(tb)
	if r.Status == want && want < 300 {
		a.before = after // a write the rules allow
		return
	}
	if !reflect.DeepEqual(a.before, after) {
		tb.Errorf("%s: the refused request changed the stack:\nbefore %+v\nafter  %+v", what, a.before, after)
	}
}

// unauthorizedError describes what is wrong with r as the 401 answer to
// the credential; "" when nothing is.
func unauthorizedError(r response, c Credential) string {
	if msg := problemError(r, http.StatusUnauthorized, nil); msg != "" {
		return msg
	}
	challenge := r.Header.Get("WWW-Authenticate")
	scheme, params, _ := strings.Cut(challenge, " ")
	switch {
	case !strings.EqualFold(scheme, "Bearer"):
		return fmt.Sprintf("WWW-Authenticate %q, want a Bearer challenge", challenge)
	case c == NoCredential && strings.Contains(params, "error="):
		return fmt.Sprintf("WWW-Authenticate %q names an error, though no token was sent", challenge)
	case c != NoCredential && !strings.Contains(params, `error="invalid_token"`):
		return fmt.Sprintf(`WWW-Authenticate %q, want error="invalid_token" for the token sent`, challenge)
	}
	if c == ExpiredToken {
		var p Problem
		if err := r.decode(&p); err != nil {
			return err.Error()
		}
		if !strings.Contains(strings.ToLower(p.Detail), "expired") {
			return fmt.Sprintf("the problem's detail %q does not say the token expired", p.Detail)
		}
	}
	return ""
}

// state reads the state the refused requests must not change.
func (a *accessRun) state(tb testing.TB) accessState {
	tb.Helper()
	ctx, cancel := a.e.ctx()
	defer cancel()
	var s accessState
	var err error
	if s.Product, err = a.e.product(ctx, a.sku); err != nil {
		tb.Fatal(err)
	}
	if s.Owner, err = a.e.customer(ctx, a.owner); err != nil {
		tb.Fatal(err)
	}
	if s.Other, err = a.e.customer(ctx, a.other); err != nil {
		tb.Fatal(err)
	}
	o, err := a.e.getOrder(ctx, a.ownerOrder)
	if err != nil {
		tb.Fatal(err)
	}
	s.OwnerOrder = o.Status
	if o, err = a.e.getOrder(ctx, a.otherOrder); err != nil {
		tb.Fatal(err)
	}
	s.OtherOrder = o.Status
	tok, err := a.e.OperatorToken()
	if err != nil {
		tb.Fatal(err)
	}
	r, err := a.e.c.doIdempotent(ctx, request{method: http.MethodGet, path: "/v1/orders?limit=200", token: tok})
	if err != nil || r.Status != http.StatusOK {
		tb.Fatalf("GET /v1/orders as the operator: %v %v, want 200", r, err)
	}
	var list orderList
	if err := r.decode(&list); err != nil {
		tb.Fatal(err)
	}
	for _, o := range list.Orders {
		if strings.HasPrefix(o.OrderID, a.e.prefix) || strings.HasPrefix(o.CustomerID, a.e.prefix) {
			s.Orders = append(s.Orders, o.OrderID)
		}
	}
	slices.Sort(s.Orders)
	if r, err = a.e.c.doIdempotent(ctx, request{method: http.MethodGet, path: "/v1/admin/faults", token: tok}); err != nil || r.Status != http.StatusOK {
		tb.Fatalf("GET /v1/admin/faults as the operator: %v %v, want 200 (the stack must run with fault injection enabled)", r, err)
	}
	if err := r.decode(&s.Faults); err != nil {
		tb.Fatal(err)
	}
	return s
}

// orderList is a page of GET /v1/orders.
type orderList struct {
	Orders     []Order `json:"orders"`
	NextCursor string  `json:"next_cursor"`
}

// cases returns the endpoints of the API with what each credential gets.
func (a *accessRun) cases() []accessCase {
	const ok = http.StatusOK
	public := func(path string) accessCase {
		return accessCase{name: "GET " + path, method: http.MethodGet, path: path, public: true, operator: ok}
	}
	sku, owner := url.PathEscape(a.sku), url.PathEscape(a.owner)
	order := url.PathEscape(a.ownerOrder)
	notFound := func(tb testing.TB, c Credential, r response) {
		tb.Helper()
		if c == OtherCustomer {
			a.sameAsUnknown(tb, r)
		}
	}
	return []accessCase{
		public("/healthz"),
		public("/readyz"),
		public("/metrics"),
		public("/openapi.yaml"),
		public("/v1/products"),
		{name: "GET /v1/products/{sku}", method: http.MethodGet, path: "/v1/products/" + sku, public: true, operator: ok,
			check: func(tb testing.TB, _ Credential, r response) { a.expectID(tb, r, "sku", a.sku) }},

		{name: "PUT /v1/products/{sku}", method: http.MethodPut, path: "/v1/products/" + sku, operatorOnly: true,
			other: http.StatusForbidden, own: http.StatusForbidden, operator: ok, write: true,
			body: func(c Credential) []byte {
				if c == OperatorToken { // the product as it is
					p := a.before.Product
					return jsonBody(map[string]any{"name": p.Name, "price_cents": p.PriceCents, "stock": p.Available + p.Reserved})
				}
				return jsonBody(map[string]any{"name": "Taken over", "price_cents": 1, "stock": 999})
			}},
		{name: "PUT /v1/customers/{id}", method: http.MethodPut, path: "/v1/customers/" + owner, operatorOnly: true,
			other: http.StatusForbidden, own: http.StatusForbidden, operator: ok, write: true,
			body: func(c Credential) []byte {
				if c == OperatorToken { // the customer as it is
					return jsonBody(map[string]any{"name": a.before.Owner.Name, "credit_cents": a.before.Owner.CreditCents})
				}
				return jsonBody(map[string]any{"name": "Taken over", "credit_cents": 999_999_999})
			}},
		{name: "GET /v1/customers/{id}", method: http.MethodGet, path: "/v1/customers/" + owner,
			other: http.StatusNotFound, own: ok, operator: ok,
			check: func(tb testing.TB, c Credential, r response) {
				if r.Status == ok {
					a.expectID(tb, r, "id", a.owner)
				}
			}},
		{name: "GET /v1/customers/{id}/notifications", method: http.MethodGet, path: "/v1/customers/" + owner + "/notifications",
			other: http.StatusNotFound, own: ok, operator: ok},

		{name: "POST /v1/orders", method: http.MethodPost, path: "/v1/orders",
			other: http.StatusForbidden, own: http.StatusAccepted, operator: http.StatusAccepted, write: true,
			body: func(c Credential) []byte {
				return jsonBody(a.e.Request("place_"+c.slug(), a.owner, "DE", Line{a.e.ID("no-such-sku"), 1}))
			},
			check: func(tb testing.TB, c Credential, r response) {
				if r.Status == http.StatusAccepted {
					a.expectID(tb, r, "order_id", a.e.ID("place_"+c.slug()))
					a.expectID(tb, r, "customer_id", a.owner)
				}
			}},
		{name: "GET /v1/orders", method: http.MethodGet, path: "/v1/orders?limit=200",
			other: ok, own: ok, operator: ok, check: a.checkList},
		{name: "GET /v1/orders/{id}", method: http.MethodGet, path: "/v1/orders/" + order,
			other: http.StatusNotFound, own: ok, operator: ok,
			check: func(tb testing.TB, c Credential, r response) {
				notFound(tb, c, r)
				if r.Status == ok {
					a.expectID(tb, r, "order_id", a.ownerOrder)
				}
			}},
		{name: "GET /v1/orders/{id}/timeline", method: http.MethodGet, path: "/v1/orders/" + order + "/timeline",
			other: http.StatusNotFound, own: ok, operator: ok,
			check: func(tb testing.TB, c Credential, r response) {
				notFound(tb, c, r)
				if r.Status == ok {
					a.expectID(tb, r, "order_id", a.ownerOrder)
				}
			}},
		{name: "POST /v1/orders/{id}/cancel", method: http.MethodPost, path: "/v1/orders/" + order + "/cancel",
			other: http.StatusNotFound, own: http.StatusConflict, operator: http.StatusConflict, write: true,
			check: notFound},

		{name: "GET /v1/admin/faults", method: http.MethodGet, path: "/v1/admin/faults", operatorOnly: true,
			other: http.StatusForbidden, own: http.StatusForbidden, operator: ok},
		{name: "PUT /v1/admin/faults", method: http.MethodPut, path: "/v1/admin/faults", operatorOnly: true,
			other: http.StatusForbidden, own: http.StatusForbidden, operator: ok, write: true,
			body: func(c Credential) []byte {
				if c == OperatorToken { // the settings as they are
					return jsonBody(a.before.Faults)
				}
				return jsonBody(Faults{"inventory": {ErrorRate: 1}, "payment": {ErrorRate: 1}, "shipping": {ErrorRate: 1}})
			}},
	}
}

// expectID reports through tb unless the JSON answer's field is want.
func (a *accessRun) expectID(tb testing.TB, r response, field, want string) {
	tb.Helper()
	var m map[string]any
	if err := r.decode(&m); err != nil {
		tb.Error(err)
		return
	}
	if got, _ := m[field].(string); got != want {
		tb.Errorf("answer's %s is %q, want %q: %v", field, got, want, r)
	}
}

// sameAsUnknown reports through tb unless r, another customer's 404,
// is the problem an unknown order answers, so ids do not leak.
func (a *accessRun) sameAsUnknown(tb testing.TB, r response) {
	tb.Helper()
	unknown := a.send(tb, OtherCustomer, false, http.MethodGet, "/v1/orders/"+url.PathEscape(a.e.ID("no-such-order")), nil)
	var got, want Problem
	if err := r.decode(&got); err != nil {
		tb.Fatal(err)
	}
	if err := unknown.decode(&want); err != nil {
		tb.Fatal(err)
	}
	if got.Status != want.Status || got.Type != want.Type || got.Title != want.Title {
		tb.Errorf("another customer's order answers %+v, an unknown order %+v: want the same status, type and title", got, want)
	}
}

// checkList checks a 200 answer to GET /v1/orders: a customer sees only
// its own orders, the operator every one.
func (a *accessRun) checkList(tb testing.TB, c Credential, r response) {
	tb.Helper()
	var list orderList
	if err := r.decode(&list); err != nil {
		tb.Fatal(err)
	}
	listed := map[string]bool{}
	for _, o := range list.Orders {
		listed[o.OrderID] = true
		if c == OwnToken && o.CustomerID != a.owner || c == OtherCustomer && o.CustomerID != a.other {
			tb.Errorf("GET /v1/orders with %s listed order %s of customer %q", c, o.OrderID, o.CustomerID)
		}
	}
	mine, theirs := a.ownerOrder, a.otherOrder
	if c == OtherCustomer {
		mine, theirs = theirs, mine
	}
	if !listed[mine] {
		tb.Errorf("GET /v1/orders with %s does not list order %s", c, mine)
	}
	if c == OperatorToken && !listed[theirs] {
		tb.Errorf("GET /v1/orders with %s does not list order %s", c, theirs)
	}
}

// checkRunningCancel places an order of the owner and at once sends its
// cancel with every credential that must be refused: each is refused
// (401, or 404 for another customer) and the order completes.
func (a *accessRun) checkRunningCancel(t *testing.T) {
	t.Helper()
	e := a.e
	e.Place("running", e.Request("running", a.owner, "DE", Line{a.sku, 1}))
	path := "/v1/orders/" + url.PathEscape(e.OrderID("running")) + "/cancel"
	for _, c := range Credentials() {
		if c.authenticates() && c != OtherCustomer {
			continue
		}
		r := a.send(t, c, false, http.MethodPost, path, nil)
		what := fmt.Sprintf("cancel of a running order with %s", c)
		if c == OtherCustomer {
			expectProblem(t, what, r, http.StatusNotFound)
			continue
		}
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401; answer %v", what, r.Status, r)
		} else if msg := unauthorizedError(r, c); msg != "" {
			t.Errorf("%s: %s", what, msg)
		}
	}
	if o := e.WaitFinal("running")["running"]; o.Status != domain.StatusCompleted {
		t.Errorf("order running ended %q %q after refused cancels, want completed", o.Status, o.FailureReason)
	}
}
