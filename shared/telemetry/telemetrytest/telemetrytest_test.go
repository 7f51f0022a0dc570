package telemetrytest_test

import (
	"context"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/shared/telemetry"
	"github.com/ordersaga/ordersaga/shared/telemetry/telemetrytest"
)

// recorder returns a tracer whose ended spans land in the exporter.
func recorder(t *testing.T) (trace.Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp.Tracer("test"), exp
}

// span starts and ends a span of the order under ctx.
func span(ctx context.Context, tr trace.Tracer, name, order, service string, kind trace.SpanKind) context.Context {
	ctx, s := tr.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(telemetry.OrderID(order), telemetry.Service(service)))
	s.End()
	return ctx
}

var want = telemetrytest.Want{Root: "POST /v1/orders", Services: []string{"orders", "inventory"}, Spans: []string{"inventory process OrderPlaced"}}

// placed records a connected trace of order o-1.
func placed(tr trace.Tracer) context.Context {
	root := span(context.Background(), tr, "POST /v1/orders", "o-1", "orders", trace.SpanKindServer)
	pub := span(root, tr, "orders publish OrderPlaced", "o-1", "orders", trace.SpanKindProducer)
	span(pub, tr, "inventory process OrderPlaced", "o-1", "inventory", trace.SpanKindConsumer)
	return pub
}

func TestCheckOrderTrace_Connected_Passes(t *testing.T) {
	tr, exp := recorder(t)
	placed(tr)
	span(context.Background(), tr, "POST /v1/orders", "o-2", "orders", trace.SpanKindServer) // another order
	if err := telemetrytest.CheckOrderTrace(exp.GetSpans(), "o-1", want); err != nil {
		t.Fatal(err)
	}
}

func TestCheckOrderTrace_Faults_AreReported(t *testing.T) {
	for _, tc := range []struct {
		name   string
		record func(trace.Tracer)
		want   string
	}{
		{"no span", func(trace.Tracer) {}, "no span has order_id o-1"},
		{"two traces", func(tr trace.Tracer) {
			placed(tr)
			span(context.Background(), tr, "inventory process OrderCompleted", "o-1", "inventory", trace.SpanKindConsumer)
		}, "in 2 traces"},
		{"a parent missing", func(tr trace.Tracer) {
			pub := placed(tr)
			ctx, _ := tr.Start(pub, "still open") // never ends: not recorded
			span(ctx, tr, "payment process InventoryReserved", "o-1", "payment", trace.SpanKindConsumer)
		}, `span "payment process InventoryReserved" has a parent`},
		{"a span without the order", func(tr trace.Tracer) {
			pub := placed(tr)
			_, s := tr.Start(pub, "anonymous")
			s.End()
		}, `span "anonymous" has order_id ""`},
		{"root not the request", func(tr trace.Tracer) {
			root := span(context.Background(), tr, "orders publish OrderPlaced", "o-1", "orders", trace.SpanKindProducer)
			span(root, tr, "inventory process OrderPlaced", "o-1", "inventory", trace.SpanKindConsumer)
		}, `root span "orders publish OrderPlaced"`},
		{"a service missing", func(tr trace.Tracer) {
			span(context.Background(), tr, "POST /v1/orders", "o-1", "orders", trace.SpanKindServer)
		}, "no span of service inventory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, exp := recorder(t)
			tc.record(tr)
			err := telemetrytest.CheckOrderTrace(exp.GetSpans(), "o-1", want)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckOrderTrace = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestTree_DrawsChildrenUnderParents(t *testing.T) {
	tr, exp := recorder(t)
	placed(tr)
	got := telemetrytest.Tree(exp.GetSpans())
	want := "POST /v1/orders [orders]\n  orders publish OrderPlaced [orders]\n    inventory process OrderPlaced [inventory]\n"
	if got != want {
		t.Fatalf("Tree:\n%s\nwant:\n%s", got, want)
	}
}
