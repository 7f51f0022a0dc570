package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ordersaga/ordersaga/shared/httpapi"
)

func TestHealthz_Answers200(t *testing.T) {
	h := newHarness(t)
	assertJSON(t, h.do(http.MethodGet, "/healthz", ""), http.StatusOK, `{"status": "ok"}`)
}

func TestReadyz_AllChecksPass_Answers200(t *testing.T) {
	h := newHarness(t, func(d *httpapi.Deps) {
		d.Ready = []httpapi.Check{
			{Name: "orders-db", Check: func(context.Context) error { return nil }},
			{Name: "broker", Check: func(context.Context) error { return nil }},
		}
	})
	assertJSON(t, h.do(http.MethodGet, "/readyz", ""), http.StatusOK,
		`{"status": "ok", "checks": [{"name": "orders-db", "status": "ok"}, {"name": "broker", "status": "ok"}]}`)
}

func TestReadyz_FailedOrHangingCheck_Answers503NamingIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(d *httpapi.Deps) {
		d.Ready = []httpapi.Check{
			{Name: "orders-db", Check: func(context.Context) error { return nil }},
			{Name: "broker", Check: func(context.Context) error { return errors.New("dial tcp 10.0.0.7:9092: refused") }},
			{Name: "temporal", Check: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
		}
	})
	rec := h.do(http.MethodGet, "/readyz", "")
	p := assertProblem(t, rec, http.StatusServiceUnavailable)
	if p.Type != "https://ordersaga.dev/problems/not-ready" || !strings.Contains(p.Detail, "broker") || !strings.Contains(p.Detail, "temporal") {
		t.Fatalf("problem %+v", p)
	}
	got := map[string]string{}
	for _, c := range p.Checks {
		got[c.Name] = c.Status + "/" + c.Message
	}
	want := map[string]string{"orders-db": "ok/", "broker": "failed/failed", "temporal": "failed/timed out"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("check %s = %q, want %q", k, got[k], v)
		}
	}
	if strings.Contains(rec.Body.String(), "10.0.0.7") || !strings.Contains(h.logs.String(), "10.0.0.7") {
		t.Errorf("the failure cause must be logged, not shown: body %s", rec.Body)
	}
}

func TestMetrics_CountRequestsByRouteTemplateAndStatus(t *testing.T) {
	h := newHarness(t)
	h.do(http.MethodGet, "/v1/orders/a", "")
	h.do(http.MethodGet, "/v1/orders/b", "")
	h.do(http.MethodGet, "/no/such/path", "")
	rec := h.do(http.MethodGet, "/metrics", "")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	for _, want := range []string{
		`ordersaga_http_requests_total{method="GET",route="/v1/orders/:order_id",status="404",variant="test"} 2`,
		`ordersaga_http_requests_total{method="GET",route="unmatched",status="404",variant="test"} 1`,
		`ordersaga_http_request_duration_seconds_count{method="GET",route="/v1/orders/:order_id",status="404",variant="test"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestMetrics_SharedRegistry_ServesBothVariants(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := newHarness(t, func(d *httpapi.Deps) { d.Registry, d.Variant = reg, "orchestrated" })
	b := newHarness(t, func(d *httpapi.Deps) { d.Registry, d.Variant = reg, "choreographed" })
	again := newHarness(t, func(d *httpapi.Deps) { d.Registry, d.Variant = reg, "orchestrated" })
	a.do(http.MethodGet, "/healthz", "")
	b.do(http.MethodGet, "/healthz", "")
	again.do(http.MethodGet, "/healthz", "")
	body := a.do(http.MethodGet, "/metrics", "").Body.String()
	for _, want := range []string{
		`ordersaga_http_requests_total{method="GET",route="/healthz",status="200",variant="orchestrated"} 2`,
		`ordersaga_http_requests_total{method="GET",route="/healthz",status="200",variant="choreographed"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestMetrics_NoRegistry_ServesANewOne(t *testing.T) {
	h := newHarness(t, func(d *httpapi.Deps) { d.Registry = nil })
	h.do(http.MethodGet, "/healthz", "")
	body := h.do(http.MethodGet, "/metrics", "").Body.String()
	if !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "ordersaga_http_requests_total") {
		t.Fatalf("metrics of a new registry:\n%s", body)
	}
}

func TestOpenAPI_ServesTheEmbeddedDocument(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodGet, "/openapi.yaml", "")
	want, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/yaml" || rec.Body.String() != string(want) {
		t.Fatalf("status %d, Content-Type %q, %d bytes", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
	}
}

func TestUnknownRoute_Answers404Problem(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/nope", "/v1/orders/", "/v1/orders/a/b", "/v1/products/"} {
		p := assertProblem(t, h.do(http.MethodGet, path, ""), http.StatusNotFound)
		if p.Type != "https://ordersaga.dev/problems/not-found" {
			t.Errorf("%s: type %s", path, p.Type)
		}
	}
	h.assertNoCalls()
}

func TestWrongMethod_Answers405ProblemWithAllow(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodDelete, "/v1/orders/o-1", "")
	p := assertProblem(t, rec, http.StatusMethodNotAllowed)
	if rec.Header().Get("Allow") != "GET" || p.Type != "https://ordersaga.dev/problems/method-not-allowed" {
		t.Fatalf("Allow %q, type %s", rec.Header().Get("Allow"), p.Type)
	}
	rec = h.do(http.MethodGet, "/v1/orders/o-1/cancel", "")
	assertProblem(t, rec, http.StatusMethodNotAllowed)
	if rec.Header().Get("Allow") != "POST" {
		t.Fatalf("Allow %q", rec.Header().Get("Allow"))
	}
	h.assertNoCalls()
}

func TestPanic_Answers500ProblemAndLogsIt(t *testing.T) {
	h := newHarness(t)
	h.w.panicWith = "secret state corrupted"
	rec := h.do(http.MethodGet, "/v1/products/mug", "")
	assertProblem(t, rec, http.StatusInternalServerError)
	if strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("the panic leaks: %s", rec.Body)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "secret state corrupted") || !strings.Contains(logs, "goroutine") {
		t.Fatalf("the panic and its stack were not logged: %s", logs)
	}
	// The server still serves.
	assertJSON(t, h.do(http.MethodGet, "/healthz", ""), http.StatusOK, `{"status": "ok"}`)
}

func TestAccessLog_RecordsRequestFields(t *testing.T) {
	h := newHarness(t)
	h.do(http.MethodPost, "/v1/orders", placeRequest("o-9"))
	h.do(http.MethodGet, "/v1/orders/o-9", "")
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(h.logs.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if m["msg"] == "http request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%d access log lines, want 2:\n%s", len(lines), h.logs)
	}
	for i, want := range []struct {
		method, route string
		status        float64
	}{{"POST", "/v1/orders", 202}, {"GET", "/v1/orders/:order_id", 200}} {
		l := lines[i]
		if l["method"] != want.method || l["route"] != want.route || l["status"] != want.status || l["order_id"] != "o-9" {
			t.Errorf("log line %v, want %+v with order_id o-9", l, want)
		}
		if _, ok := l["duration"].(float64); !ok {
			t.Errorf("log line %v lacks a duration", l)
		}
	}
}

// TestNewOps_ServesOnlyTheOperationsEndpoints promises the operations
// listener answers health, readiness and metrics, unauthenticated, and
// nothing of the API.
func TestNewOps_ServesOnlyTheOperationsEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	ops := httpapi.NewOps(httpapi.Deps{Registry: reg, Ready: []httpapi.Check{{Name: "db", Check: func(context.Context) error { return nil }}}})
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/v1/orders": 404, "/openapi.yaml": 404} {
		rec := httptest.NewRecorder()
		ops.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("GET %s on the operations handler: %d, want %d", path, rec.Code, want)
		}
	}
}
