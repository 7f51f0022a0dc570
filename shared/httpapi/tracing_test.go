package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/telemetry"
)

// spanFlow records the span context the API hands the flow.
type spanFlow struct {
	httpapi.Intake
	seen *trace.SpanContext
}

func (f spanFlow) Place(ctx context.Context, o *domain.Order) (*domain.Order, bool, error) {
	*f.seen = trace.SpanContextFromContext(ctx)
	return f.Intake.Place(ctx, o)
}

// tracedHarness is a harness whose API traces into a span recorder and
// logs through the trace log handler.
func tracedHarness(t *testing.T, seen *trace.SpanContext) (*harness, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	h := newHarness(t, func(d *httpapi.Deps) {
		d.TracerProvider = tp
		d.Logger = telemetry.Logger(d.Logger)
		d.Intake = spanFlow{Intake: d.Intake, seen: seen}
	})
	return h, rec
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value.String()
	}
	return m
}

func TestTracing_PlaceOrder_OneServerSpanTheFlowAndTheLogLineShare(t *testing.T) {
	var seen trace.SpanContext
	h, rec := tracedHarness(t, &seen)
	if got := h.do(http.MethodPost, "/v1/orders", placeRequest("o-1")); got.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", got.Code, got.Body)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	a := attrs(s)
	if s.Name() != "POST /v1/orders" || s.SpanKind() != trace.SpanKindServer || s.Parent().IsValid() {
		t.Errorf("span %q kind %v parent %v, want a root server span POST /v1/orders", s.Name(), s.SpanKind(), s.Parent())
	}
	if a["order_id"] != "o-1" || a["service"] != "orders" || a["http.route"] != "/v1/orders" || a["http.response.status_code"] != "202" {
		t.Errorf("span attributes %v, want order_id o-1, service orders, route and status 202", a)
	}
	if !seen.Equal(s.SpanContext()) {
		t.Errorf("the flow ran in span %v, want the server span %v", seen, s.SpanContext())
	}
	var line map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(h.logs.String()), "\n") {
		if strings.Contains(l, `"http request"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line["trace_id"] != s.SpanContext().TraceID().String() || line["span_id"] != s.SpanContext().SpanID().String() || line["order_id"] != "o-1" {
		t.Errorf("access log line %v, want the span's trace_id and span_id and order_id o-1", line)
	}
}

func TestTracing_IncomingTraceparent_ContinuesTheClientsTrace(t *testing.T) {
	var seen trace.SpanContext
	h, rec := tracedHarness(t, &seen)
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	got := h.do(http.MethodPost, "/v1/orders", placeRequest("o-1"), "Content-Type", "application/json",
		"traceparent", "00-"+traceID+"-"+parentID+"-01")
	if got.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", got.Code, got.Body)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.SpanContext().TraceID().String() != traceID || s.Parent().SpanID().String() != parentID || !s.Parent().IsRemote() {
		t.Errorf("span in trace %s with parent %s, want trace %s under the client's span %s",
			s.SpanContext().TraceID(), s.Parent().SpanID(), traceID, parentID)
	}
	if seen.TraceID().String() != traceID {
		t.Errorf("the flow ran in trace %s, want %s", seen.TraceID(), traceID)
	}
}

func TestTracing_RoutesAndProbes(t *testing.T) {
	h, rec := tracedHarness(t, new(trace.SpanContext))
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		h.do(http.MethodGet, path, "")
	}
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("probes and scrapes made %d spans, want none", n)
	}
	h.do(http.MethodGet, "/v1/orders/o-404", "")
	h.do(http.MethodGet, "/v1/products", "")
	h.do(http.MethodGet, "/nowhere", "")
	var got []string
	for _, s := range rec.Ended() {
		a := attrs(s)
		got = append(got, s.Name()+" service="+a["service"]+" order_id="+a["order_id"]+" status="+a["http.response.status_code"])
	}
	want := []string{
		"GET /v1/orders/:order_id service=orders order_id=o-404 status=404",
		"GET /v1/products service=inventory order_id= status=200",
		"GET service= order_id= status=404",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("spans:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTracing_NoProvider_NoSpanInTheFlowsContext(t *testing.T) {
	var seen trace.SpanContext
	h := newHarness(t, func(d *httpapi.Deps) { d.Intake = spanFlow{Intake: d.Intake, seen: &seen} })
	if got := h.do(http.MethodPost, "/v1/orders", placeRequest("o-1")); got.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", got.Code, got.Body)
	}
	if seen.IsValid() {
		t.Fatalf("without a tracer provider the flow ran in span %v", seen)
	}
}
