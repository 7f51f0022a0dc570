package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/payment"
)

// upstream is another process of a split deployment in a test: the API
// over its own fakes, recording every request it gets.
type upstream struct {
	h   *harness
	srv *httptest.Server

	mu   sync.Mutex
	reqs []*http.Request // clones, bodies not kept
}

func newUpstream(t *testing.T, opts ...func(*httpapi.Deps)) *upstream {
	t.Helper()
	u := &upstream{h: newHarness(t, opts...)}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.reqs = append(u.reqs, r.Clone(context.Background()))
		u.mu.Unlock()
		u.h.h.ServeHTTP(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) url(t *testing.T) *url.URL {
	t.Helper()
	parsed, err := url.Parse(u.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return parsed
}

// requests returns "METHOD path" of every request the upstream got.
func (u *upstream) requests() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, r := range u.reqs {
		out = append(out, r.Method+" "+r.URL.RequestURI())
	}
	return out
}

func (u *upstream) last(t *testing.T) *http.Request {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		t.Fatal("the upstream got no request")
	}
	return u.reqs[len(u.reqs)-1]
}

// orderProcess is the API of a process hosting only the order service,
// forwarding to the given upstreams by service.
func orderProcess(t *testing.T, services map[string]*url.URL, opts ...func(*httpapi.Deps)) *harness {
	t.Helper()
	return newHarness(t, append([]func(*httpapi.Deps){func(d *httpapi.Deps) {
		d.Catalog, d.Accounts, d.Notifications = nil, nil, nil
		d.Faults = faults.Set{}
		d.Upstreams = httpapi.Upstreams{Services: services}
	}}, opts...)...)
}

func TestUpstreams_CatalogAndCustomers_AnsweredByTheOwningProcessWithCredentialAndTraceContext(t *testing.T) {
	inv, pay := newUpstream(t), newUpstream(t)
	h := orderProcess(t, map[string]*url.URL{"inventory": inv.url(t), "payment": pay.url(t)})
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	put := h.do(http.MethodPut, "/v1/products/mug?x=1", `{"name": "Mug", "price_cents": 1250, "stock": 4}`,
		"Authorization", "Bearer s3cret", "Traceparent", tp, "Tracestate", "vendor=1")
	assertJSON(t, put, http.StatusOK, `{"sku": "mug", "name": "Mug", "price_cents": 1250, "available": 4, "reserved": 0}`)
	r := inv.last(t)
	if r.Method != http.MethodPut || r.URL.RequestURI() != "/v1/products/mug?x=1" {
		t.Errorf("inventory got %s %s", r.Method, r.URL.RequestURI())
	}
	if r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("Traceparent") != tp || r.Header.Get("Tracestate") != "vendor=1" {
		t.Errorf("inventory got headers %v, want the caller's Authorization, traceparent and tracestate", r.Header)
	}
	if r.ContentLength != int64(len(`{"name": "Mug", "price_cents": 1250, "stock": 4}`)) {
		t.Errorf("forwarded body length %d", r.ContentLength)
	}
	assertJSON(t, h.do(http.MethodGet, "/v1/products", ""), http.StatusOK,
		`{"products": [{"sku": "mug", "name": "Mug", "price_cents": 1250, "available": 4, "reserved": 0}]}`)

	// The owning process's refusals come back as they are.
	p := assertProblem(t, h.do(http.MethodPut, "/v1/customers/ada", `{"name": "Ada", "credit_cents": -1}`), http.StatusBadRequest, "credit_cents")
	if p.Instance != "/v1/customers/ada" {
		t.Errorf("instance %q", p.Instance)
	}
	assertProblem(t, h.do(http.MethodGet, "/v1/customers/nobody", ""), http.StatusNotFound)
	if got := pay.requests(); !slices.Equal(got, []string{"PUT /v1/customers/ada", "GET /v1/customers/nobody"}) {
		t.Errorf("payment got %q", got)
	}
	// Orders stay with the order process.
	if rec := h.do(http.MethodGet, "/v1/orders", ""); rec.Code != http.StatusOK {
		t.Errorf("GET /v1/orders: %d", rec.Code)
	}
	if n := len(inv.requests()) + len(pay.requests()); n != 4 {
		t.Errorf("the upstreams got %d requests, want 4: %q %q", n, inv.requests(), pay.requests())
	}
}

func TestUpstreams_EveryCatalogCustomerAndNotificationRoute_GoesToItsOwner(t *testing.T) {
	inv, pay, notes := newUpstream(t), newUpstream(t), newUpstream(t)
	h := orderProcess(t, map[string]*url.URL{"inventory": inv.url(t), "payment": pay.url(t), "notifications": notes.url(t)})
	engine, ok := h.h.(*gin.Engine)
	if !ok {
		t.Fatalf("the API is a %T", h.h)
	}
	var want = map[*upstream][]string{}
	for _, r := range engine.Routes() {
		var owner *upstream
		switch {
		case strings.HasPrefix(r.Path, "/v1/products"):
			owner = inv
		case strings.HasSuffix(r.Path, "/notifications"):
			owner = notes
		case strings.HasPrefix(r.Path, "/v1/customers"):
			owner = pay
		default:
			continue
		}
		path := strings.NewReplacer(":sku", "mug", ":id", "ada").Replace(r.Path)
		body := ""
		if r.Method == http.MethodPut {
			body = `{}`
		}
		h.do(r.Method, path, body)
		want[owner] = append(want[owner], r.Method+" "+path)
	}
	for u, name := range map[*upstream]string{inv: "inventory", pay: "payment", notes: "notifications"} {
		got, w := u.requests(), want[u]
		slices.Sort(got)
		slices.Sort(w)
		if len(w) == 0 || !slices.Equal(got, w) {
			t.Errorf("%s got %q, want %q", name, got, w)
		}
	}
}

func TestUpstreams_TracingOn_TheOwnersSpanIsAChildOfTheOrderProcesssSpan(t *testing.T) {
	inv := newUpstream(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	h := orderProcess(t, map[string]*url.URL{"inventory": inv.url(t)}, func(d *httpapi.Deps) { d.TracerProvider = tp })
	const caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	h.do(http.MethodGet, "/v1/products", "", "Traceparent", caller)
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	sc := spans[0].SpanContext()
	want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
	if got := inv.last(t).Header.Get("Traceparent"); got != want || sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("inventory got traceparent %q, want %q (the order process's span, in the caller's trace)", got, want)
	}
}

func TestUpstreams_OversizedBody_RefusedWithoutForwarding(t *testing.T) {
	inv := newUpstream(t)
	h := orderProcess(t, map[string]*url.URL{"inventory": inv.url(t)})
	big := `{"name": "` + strings.Repeat("a", 1<<20) + `"}`
	assertProblem(t, h.do(http.MethodPut, "/v1/products/mug", big), http.StatusRequestEntityTooLarge)
	chunked := h.doReader(http.MethodPut, "/v1/products/mug", strings.NewReader(big), true)
	assertProblem(t, chunked, http.StatusRequestEntityTooLarge)
	if got := inv.requests(); len(got) != 0 {
		t.Fatalf("inventory got %q", got)
	}
}

func TestUpstreams_OwnerDownOrSlow_Answers503NamingTheService(t *testing.T) {
	down := newUpstream(t)
	downURL := down.url(t)
	down.srv.Close()
	stop := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(func() {
		close(stop)
		slow.Close()
	})
	slowURL, _ := url.Parse(slow.URL)
	h := orderProcess(t, map[string]*url.URL{"inventory": downURL, "payment": slowURL},
		func(d *httpapi.Deps) { d.Upstreams.Timeout = 200 * time.Millisecond })

	rec := h.do(http.MethodGet, "/v1/products/mug", "")
	p := assertProblem(t, rec, http.StatusServiceUnavailable)
	if !strings.Contains(p.Detail, "inventory service does not answer") || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("problem %+v, Retry-After %q", p, rec.Header().Get("Retry-After"))
	}
	start := time.Now()
	p = assertProblem(t, h.do(http.MethodPut, "/v1/customers/ada", `{"name": "Ada", "credit_cents": 1}`), http.StatusServiceUnavailable)
	if !strings.Contains(p.Detail, "payment service did not answer within 200ms") || time.Since(start) > 3*time.Second {
		t.Errorf("problem %+v after %v", p, time.Since(start))
	}
	if strings.Contains(p.Detail, "127.0.0.1") {
		t.Errorf("the detail shows the upstream's address: %q", p.Detail)
	}
}

func TestUpstreams_Faults_MergesEveryProcessAndSendsEachOnlyItsPart(t *testing.T) {
	inv, rest := newUpstream(t), newUpstream(t)
	must(t, inv.h.faults["inventory"].Set(faults.Setting{ErrorRate: 0.1}))
	must(t, rest.h.faults["shipping"].Set(faults.Setting{Latency: 30 * time.Millisecond}))
	must(t, rest.h.faults["inventory"].Set(faults.Setting{ErrorRate: 0.9})) // not the inventory service of the deployment
	h := orderProcess(t, map[string]*url.URL{"inventory": inv.url(t), "payment": rest.url(t), "shipping": rest.url(t)})

	assertJSON(t, h.do(http.MethodGet, "/v1/admin/faults", "", "Authorization", "Bearer s3cret"), http.StatusOK, `{
		"inventory": {"error_rate": 0.1, "latency_ms": 0},
		"payment": {"error_rate": 0, "latency_ms": 0},
		"shipping": {"error_rate": 0, "latency_ms": 30}}`)
	if got := rest.last(t).Header.Get("Authorization"); got != "Bearer s3cret" {
		t.Errorf("the peer got Authorization %q", got)
	}

	rec := h.do(http.MethodPut, "/v1/admin/faults", `{"shipping": {"error_rate": 0.5}}`)
	assertJSON(t, rec, http.StatusOK, `{
		"inventory": {"error_rate": 0.1, "latency_ms": 0},
		"payment": {"error_rate": 0, "latency_ms": 0},
		"shipping": {"error_rate": 0.5, "latency_ms": 0}}`)
	if got := rest.h.faults["shipping"].Get(); got != (faults.Setting{ErrorRate: 0.5}) {
		t.Errorf("shipping holds %+v", got)
	}
	if got := rest.requests(); got[len(got)-1] != "PUT /v1/admin/faults" {
		t.Errorf("the shipping process got %q", got)
	}
	if got := inv.requests(); slices.Contains(got, "PUT /v1/admin/faults") {
		t.Errorf("the inventory process got a PUT it was not named in: %q", got)
	}

	// Refused as a whole before any process is asked.
	before := len(inv.requests()) + len(rest.requests())
	assertProblem(t, h.do(http.MethodPut, "/v1/admin/faults", `{"billing": {"error_rate": 0.1}, "payment": {"error_rate": 0.5}}`), http.StatusBadRequest, "billing")
	assertProblem(t, h.do(http.MethodPut, "/v1/admin/faults", `{"inventory": {"error_rate": 1.5}, "shipping": {"latency_ms": -1}}`),
		http.StatusBadRequest, "inventory.error_rate", "shipping.latency_ms")
	if after := len(inv.requests()) + len(rest.requests()); after != before {
		t.Errorf("refused requests reached the processes: %q %q", inv.requests(), rest.requests())
	}
	if rest.h.faults["payment"].Get() != (faults.Setting{}) {
		t.Errorf("payment changed: %+v", rest.h.faults["payment"].Get())
	}
}

// TestUpstreams_Faults_TheNotificationProcessIsNeverAsked: the notification
// service has no fault injector, so /v1/admin/faults neither asks its
// process (which may well run without fault injection) nor takes a
// setting for it.
func TestUpstreams_Faults_TheNotificationProcessIsNeverAsked(t *testing.T) {
	steps := newUpstream(t)
	notes := newUpstream(t, func(d *httpapi.Deps) { d.Faults = nil })
	h := orderProcess(t, map[string]*url.URL{"inventory": steps.url(t), "payment": steps.url(t), "shipping": steps.url(t), "notifications": notes.url(t)})

	assertJSON(t, h.do(http.MethodGet, "/v1/admin/faults", ""), http.StatusOK, `{
		"inventory": {"error_rate": 0, "latency_ms": 0},
		"payment": {"error_rate": 0, "latency_ms": 0},
		"shipping": {"error_rate": 0, "latency_ms": 0}}`)
	assertJSON(t, h.do(http.MethodPut, "/v1/admin/faults", `{"shipping": {"error_rate": 0.5}}`), http.StatusOK, `{
		"inventory": {"error_rate": 0, "latency_ms": 0},
		"payment": {"error_rate": 0, "latency_ms": 0},
		"shipping": {"error_rate": 0.5, "latency_ms": 0}}`)
	assertProblem(t, h.do(http.MethodPut, "/v1/admin/faults", `{"notifications": {"error_rate": 0.5}}`), http.StatusBadRequest, "notifications")
	if got := notes.requests(); len(got) != 0 {
		t.Errorf("the notification process was asked %q", got)
	}
	// Its endpoint is still forwarded there.
	h.do(http.MethodGet, "/v1/customers/ada/notifications", "")
	if got := notes.requests(); !slices.Equal(got, []string{"GET /v1/customers/ada/notifications"}) {
		t.Errorf("the notification process got %q, want the forwarded list", got)
	}
}

func TestUpstreams_Faults_AFailingProcess_Answers503Or502NamingIt(t *testing.T) {
	inv := newUpstream(t)
	down := newUpstream(t)
	downURL := down.url(t)
	down.srv.Close()
	disabled := newUpstream(t, func(d *httpapi.Deps) { d.Faults = nil })

	h := orderProcess(t, map[string]*url.URL{"inventory": inv.url(t), "payment": downURL, "shipping": inv.url(t)})
	p := assertProblem(t, h.do(http.MethodGet, "/v1/admin/faults", ""), http.StatusServiceUnavailable)
	if !strings.Contains(p.Detail, "payment service does not answer") {
		t.Errorf("detail %q", p.Detail)
	}
	// Nothing local changes when a process named in a PUT fails.
	loyalty := faults.New("loyalty", 9)
	h = orderProcess(t, map[string]*url.URL{"inventory": inv.url(t), "payment": disabled.url(t), "shipping": inv.url(t)},
		func(d *httpapi.Deps) { d.Faults = faults.Set{"loyalty": loyalty} })
	p = assertProblem(t, h.do(http.MethodPut, "/v1/admin/faults", `{"payment": {"error_rate": 0.2}, "loyalty": {"error_rate": 0.3}}`), http.StatusBadGateway)
	if p.Type != "https://ordersaga.dev/problems/bad-gateway" || !strings.Contains(p.Detail, "payment service answered PUT /v1/admin/faults with 404") {
		t.Errorf("problem %+v", p)
	}
	if got := loyalty.Get(); got != (faults.Setting{}) {
		t.Errorf("the hosted loyalty service changed although the payment process refused: %+v", got)
	}
}

// TestUpstreams_AuthenticationOn_OwnersGetAndVerifyTheCredential: with
// authentication on, the order process refuses what the caller may not do
// before forwarding anything, and forwards the rest with the caller's
// Authorization header, which the owning process verifies in turn.
func TestUpstreams_AuthenticationOn_OwnersGetAndVerifyTheCredential(t *testing.T) {
	withAuth := func(d *httpapi.Deps) { d.Auth = authtest.Keys(t) }
	inv, pay := newUpstream(t, withAuth), newUpstream(t, withAuth)
	pay.h.w.customers["c-1"] = payment.Customer{ID: "c-1", Name: "Ada", CreditCents: 5000}
	h := orderProcess(t, map[string]*url.URL{"inventory": inv.url(t), "payment": pay.url(t), "shipping": pay.url(t)}, withAuth)
	own, other, op := authHeader(t, credOwn), authHeader(t, credOther), authHeader(t, credOperator)

	assertJSON(t, h.do(http.MethodGet, "/v1/customers/c-1", "", own...), http.StatusOK, `{"id": "c-1", "name": "Ada", "credit_cents": 5000}`)
	if got := pay.last(t).Header.Get("Authorization"); got != own[1] {
		t.Errorf("the payment process got Authorization %q, want the caller's", got)
	}
	rec := h.do(http.MethodPut, "/v1/products/mug", `{"name": "Mug", "price_cents": 1250, "stock": 4}`, op...)
	assertJSON(t, rec, http.StatusOK, `{"sku": "mug", "name": "Mug", "price_cents": 1250, "available": 4, "reserved": 0}`)
	if got := inv.last(t).Header.Get("Authorization"); got != op[1] {
		t.Errorf("the inventory process got Authorization %q, want the caller's", got)
	}
	assertJSON(t, h.do(http.MethodGet, "/v1/admin/faults", "", op...), http.StatusOK, `{
		"inventory": {"error_rate": 0, "latency_ms": 0},
		"payment": {"error_rate": 0, "latency_ms": 0},
		"shipping": {"error_rate": 0, "latency_ms": 0}}`)
	if got := pay.last(t).Header.Get("Authorization"); got != op[1] {
		t.Errorf("the payment process got Authorization %q on /v1/admin/faults, want the caller's", got)
	}

	// Refused here, before any forwarding.
	invBefore, payBefore := len(inv.requests()), len(pay.requests())
	problemOf(t, h.do(http.MethodGet, "/v1/customers/c-1", "", other...), http.StatusNotFound)
	problemOf(t, h.do(http.MethodPut, "/v1/products/mug", `{"name": "Mug", "price_cents": 1, "stock": 1}`, own...), http.StatusForbidden)
	problemOf(t, h.do(http.MethodPut, "/v1/customers/c-1", `{"name": "Ada", "credit_cents": 1}`), http.StatusUnauthorized)
	problemOf(t, h.do(http.MethodPut, "/v1/admin/faults", `{"payment": {"error_rate": 1}}`, own...), http.StatusForbidden)
	if len(inv.requests()) != invBefore || len(pay.requests()) != payBefore {
		t.Errorf("refused requests were forwarded: %q %q", inv.requests()[invBefore:], pay.requests()[payBefore:])
	}

	// The owning processes verify the credential themselves.
	problemOf(t, inv.h.do(http.MethodPut, "/v1/products/mug", `{"name": "Mug", "price_cents": 1, "stock": 1}`), http.StatusUnauthorized)
	problemOf(t, pay.h.do(http.MethodGet, "/v1/customers/c-1", "", authHeader(t, credForeign)...), http.StatusUnauthorized)
	if got := inv.h.w.products["mug"]; got.PriceCents != 1250 {
		t.Errorf("the product changed: %+v", got)
	}
}
