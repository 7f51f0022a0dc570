package outbox

import (
	"context"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/shared/telemetry"
)

// tracerName is the instrumentation scope of the relays' spans.
const tracerName = "github.com/ordersaga/ordersaga/choreographed/outbox"

// TracePublisher returns pub publishing each message in a producer span
// named "<service> publish <event type>", whose parent is the trace context
// written into the message's headers when the event was emitted (the HTTP
// request's span, or the consumer span of the event being handled). The
// message goes out with this span as its trace context instead, so the
// consumers' spans are its children and the time an event waited in the
// outbox shows in the trace. The span carries order_id (the message key),
// service and the topic; a failed publish marks it an error.
func TracePublisher(tp trace.TracerProvider, service string, pub Publisher) Publisher {
	return &tracingPublisher{next: pub, service: service, tracer: telemetry.Or(tp).Tracer(tracerName)}
}

type tracingPublisher struct {
	next    Publisher
	service string
	tracer  trace.Tracer
}

func (p *tracingPublisher) Publish(ctx context.Context, msgs ...kafka.Message) error {
	out := make([]kafka.Message, len(msgs))
	spans := make([]trace.Span, len(msgs))
	for i, m := range msgs {
		parent := events.ContextWithTrace(ctx, m.Headers)
		sctx, span := p.tracer.Start(parent, p.service+" publish "+events.Header(m.Headers, events.HeaderEventType),
			trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(
				telemetry.OrderID(string(m.Key)),
				telemetry.Service(p.service),
				attribute.String("event_id", events.Header(m.Headers, events.HeaderEventID)),
				semconv.MessagingSystemKafka,
				semconv.MessagingOperationTypeSend,
				semconv.MessagingDestinationName(m.Topic),
			))
		m.Headers = events.InjectTrace(sctx, m.Headers)
		out[i], spans[i] = m, span
	}
	err := p.next.Publish(ctx, out...)
	for _, span := range spans {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
	return err
}
