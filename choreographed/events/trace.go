package events

import (
	"context"
	"crypto/rand"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// headerCarrier lets the W3C trace-context propagator read and write Kafka
// headers.
type headerCarrier struct{ headers *[]kafka.Header }

// Get returns the value of the header key.
func (c headerCarrier) Get(key string) string { return Header(*c.headers, key) }

// Set sets the header key.
func (c headerCarrier) Set(key, value string) { *c.headers = SetHeader(*c.headers, key, value) }

// Keys returns the header names.
func (c headerCarrier) Keys() []string {
	keys := make([]string, len(*c.headers))
	for i, h := range *c.headers {
		keys[i] = h.Key
	}
	return keys
}

// InjectTrace returns headers with the W3C trace context (traceparent,
// tracestate) of a publish made in ctx:
//   - a span started in this process (by an OpenTelemetry tracer) is the
//     parent as it is;
//   - a context received with a message (see ContextWithTrace) continues
//     its trace under a new span id;
//   - without either, the message starts a new sampled trace.
func InjectTrace(ctx context.Context, headers []kafka.Header) []kafka.Header {
	sc := trace.SpanContextFromContext(ctx)
	switch {
	case !sc.IsValid():
		sc = trace.NewSpanContext(trace.SpanContextConfig{
			TraceID:    newTraceID(),
			SpanID:     newSpanID(),
			TraceFlags: trace.FlagsSampled,
		})
	case sc.IsRemote():
		sc = sc.WithSpanID(newSpanID()).WithRemote(false)
	}
	out := append([]kafka.Header(nil), headers...)
	propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(ctx, sc), headerCarrier{&out})
	return out
}

// ContextWithTrace returns ctx carrying the trace context found in a
// message's headers as the remote parent, or ctx unchanged when there is
// none.
func ContextWithTrace(ctx context.Context, headers []kafka.Header) context.Context {
	return propagation.TraceContext{}.Extract(ctx, headerCarrier{&headers})
}

// TraceID returns the trace id of ctx in hex, or "" when it has none.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

func newTraceID() trace.TraceID {
	var id trace.TraceID
	for !id.IsValid() {
		_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	}
	return id
}

func newSpanID() trace.SpanID {
	var id trace.SpanID
	for !id.IsValid() {
		_, _ = rand.Read(id[:])
	}
	return id
}
