package telemetrytest

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/grpc"
)

// Collector is an OTLP/gRPC trace collector that keeps every span it
// receives, for tests of processes that export their spans.
type Collector struct {
	collectortrace.UnimplementedTraceServiceServer
	addr string

	mu    sync.Mutex
	spans tracetest.SpanStubs
}

// StartCollector serves a collector on a free loopback port until the test
// ends.
func StartCollector(tb testing.TB) *Collector {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listening for the trace collector: %v", err)
	}
	c := &Collector{addr: ln.Addr().String()}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, c)
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(srv.Stop)
	return c
}

// Addr returns the collector's host:port.
func (c *Collector) Addr() string { return c.addr }

// Export keeps the spans of a request.
func (c *Collector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	var got tracetest.SpanStubs
	for _, rs := range req.GetResourceSpans() {
		res := resource.NewSchemaless(attributes(rs.GetResource().GetAttributes())...)
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				var traceID trace.TraceID
				var spanID, parentID trace.SpanID
				copy(traceID[:], s.GetTraceId())
				copy(spanID[:], s.GetSpanId())
				copy(parentID[:], s.GetParentSpanId())
				stub := tracetest.SpanStub{
					Name:        s.GetName(),
					SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID}),
					SpanKind:    trace.SpanKind(s.GetKind()),
					StartTime:   time.Unix(0, int64(s.GetStartTimeUnixNano())),
					EndTime:     time.Unix(0, int64(s.GetEndTimeUnixNano())),
					Attributes:  attributes(s.GetAttributes()),
					Resource:    res,
				}
				if parentID.IsValid() {
					stub.Parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: parentID})
				}
				got = append(got, stub)
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.spans = append(c.spans, got...)
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// Spans returns the spans received so far. Only string, integer and
// boolean attributes are kept.
func (c *Collector) Spans() tracetest.SpanStubs {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(tracetest.SpanStubs(nil), c.spans...)
}

// attributes converts OTLP attributes.
func attributes(kvs []*commonpb.KeyValue) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(kvs))
	for _, kv := range kvs {
		switch v := kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			out = append(out, attribute.String(kv.GetKey(), v.StringValue))
		case *commonpb.AnyValue_IntValue:
			out = append(out, attribute.Int64(kv.GetKey(), v.IntValue))
		case *commonpb.AnyValue_BoolValue:
			out = append(out, attribute.Bool(kv.GetKey(), v.BoolValue))
		}
	}
	return out
}
