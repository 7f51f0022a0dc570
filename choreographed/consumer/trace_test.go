package consumer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

func TestTrace_AppliesEachEventInAConsumerSpanUnderItsMessagesTraceContext(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())

	// The message came from a publisher's span.
	pctx, publisher := tp.Tracer("test").Start(context.Background(), "inventory publish InventoryReserved")
	e, err := events.New(events.StepEvent{Type: events.InventoryReserved, Step: "inventory", CustomerID: "c-1"}, "o-1", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Message(pctx, events.Topics{})
	if err != nil {
		t.Fatal(err)
	}
	publisher.End()

	var inHandler trace.SpanContext
	handle := consumer.Trace(tp, "payment")(func(ctx context.Context, _ *sqldb.Tx, _ *events.Envelope) error {
		inHandler = trace.SpanContextFromContext(ctx)
		return nil
	})
	if err := handle(events.ContextWithTrace(context.Background(), m.Headers), nil, e); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	s := spans[1]
	if s.Name() != "payment process InventoryReserved" || s.SpanKind() != trace.SpanKindConsumer ||
		s.Parent().SpanID() != publisher.SpanContext().SpanID() || s.SpanContext().TraceID() != publisher.SpanContext().TraceID() {
		t.Errorf("span %q kind %v parent %s, want the consumer span payment process InventoryReserved under the publisher %s",
			s.Name(), s.SpanKind(), s.Parent().SpanID(), publisher.SpanContext().SpanID())
	}
	if !inHandler.Equal(s.SpanContext()) {
		t.Errorf("the handler ran in %v, want the consumer span %v (what it emits is the span's child)", inHandler, s.SpanContext())
	}
	attrs := map[string]string{}
	for _, kv := range s.Attributes() {
		attrs[string(kv.Key)] = kv.Value.String()
	}
	if attrs["order_id"] != "o-1" || attrs["service"] != "payment" || attrs["event_id"] != e.EventID || attrs["event_type"] != "InventoryReserved" {
		t.Errorf("attributes %v, want order_id, service, event id and type", attrs)
	}

	failing := consumer.Trace(tp, "payment")(func(context.Context, *sqldb.Tx, *events.Envelope) error { return errors.New("database locked") })
	if err := failing(context.Background(), nil, e); err == nil {
		t.Fatal("the handler's error was lost")
	}
	if last := rec.Ended()[2]; last.Status().Code != codes.Error || last.Status().Description != "database locked" {
		t.Errorf("failed span status %v, want error database locked", last.Status())
	}
}
