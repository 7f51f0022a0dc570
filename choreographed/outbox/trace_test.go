package outbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/outbox"
)

// capture keeps what it is asked to publish and answers err.
type capture struct {
	msgs []kafka.Message
	err  error
}

func (c *capture) Publish(_ context.Context, msgs ...kafka.Message) error {
	c.msgs = append(c.msgs, msgs...)
	return c.err
}

func TestTracePublisher_EachMessageInAProducerSpanUnderItsEmitter_SentWithThatSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())

	// The event was emitted inside a request's span.
	ctx, request := tp.Tracer("test").Start(context.Background(), "POST /v1/orders")
	e, err := events.New(events.OrderPlacedData{CustomerID: "c-1"}, "o-1", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Message(ctx, events.Topics{})
	if err != nil {
		t.Fatal(err)
	}
	request.End()

	next := &capture{}
	if err := outbox.TracePublisher(tp, "orders", next).Publish(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 2 || len(next.msgs) != 1 {
		t.Fatalf("%d spans and %d messages published, want 2 and 1", len(spans), len(next.msgs))
	}
	pub := spans[1]
	if pub.Name() != "orders publish OrderPlaced" || pub.SpanKind() != trace.SpanKindProducer || pub.Parent().SpanID() != request.SpanContext().SpanID() {
		t.Errorf("span %q kind %v parent %s, want the producer span orders publish OrderPlaced under the request %s",
			pub.Name(), pub.SpanKind(), pub.Parent().SpanID(), request.SpanContext().SpanID())
	}
	attrs := map[string]string{}
	for _, kv := range pub.Attributes() {
		attrs[string(kv.Key)] = kv.Value.String()
	}
	if attrs["order_id"] != "o-1" || attrs["service"] != "orders" || attrs["messaging.destination.name"] != m.Topic {
		t.Errorf("attributes %v, want order_id o-1, service orders and the topic", attrs)
	}
	sent := trace.SpanContextFromContext(events.ContextWithTrace(context.Background(), next.msgs[0].Headers))
	if sent.SpanID() != pub.SpanContext().SpanID() || sent.TraceID() != request.SpanContext().TraceID() {
		t.Errorf("message sent with trace context %s/%s, want the producer span %s", sent.TraceID(), sent.SpanID(), pub.SpanContext().SpanID())
	}
	if events.Header(m.Headers, events.HeaderTraceParent) == events.Header(next.msgs[0].Headers, events.HeaderTraceParent) {
		t.Error("the traceparent was not replaced")
	}
}

func TestTracePublisher_FailedPublish_MarksTheSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	down := errors.New("broker down")
	err := outbox.TracePublisher(tp, "payment", &capture{err: down}).Publish(context.Background(),
		kafka.Message{Topic: "t", Key: []byte("o-1")}, kafka.Message{Topic: "t", Key: []byte("o-2")})
	if !errors.Is(err, down) {
		t.Fatalf("Publish = %v, want the publisher's error", err)
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	for _, s := range spans {
		if s.Status().Code != codes.Error {
			t.Errorf("span %q status %v, want error", s.Name(), s.Status())
		}
	}
}
