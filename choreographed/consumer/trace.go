package consumer

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/telemetry"
)

// tracerName is the instrumentation scope of the consumers' spans.
const tracerName = "github.com/ordersaga/ordersaga/choreographed/consumer"

// Attribute keys of a consumer span besides order_id and service.
const (
	attrEventType = attribute.Key("event_type")
	attrEventID   = attribute.Key("event_id")
	attrOutcome   = attribute.Key("outcome")
)

// Trace returns middleware that applies each event in a consumer span
// named "<service> process <event type>", whose parent is the trace
// context the event's message carried (Transactional puts it in the
// context): the span of the relay that published it. The events the
// handler emits through the outbox then carry this span as their parent,
// so one order's events form one trace across services. The span carries
// order_id, service, the event's type and id, and the outcome (handled,
// duplicate); a failed handler marks it an error. Put it first, outside
// Dedup, so a redelivered event shows as a duplicate in the trace.
func Trace(tp trace.TracerProvider, service string) TxMiddleware {
	tracer := telemetry.Or(tp).Tracer(tracerName)
	return func(next TxHandler) TxHandler {
		return func(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
			ctx, span := tracer.Start(ctx, service+" process "+string(e.Type),
				trace.WithSpanKind(trace.SpanKindConsumer),
				trace.WithAttributes(
					telemetry.OrderID(e.OrderID),
					telemetry.Service(service),
					attrEventType.String(string(e.Type)),
					attrEventID.String(e.EventID),
					semconv.MessagingSystemKafka,
					semconv.MessagingOperationTypeProcess,
				))
			defer span.End()
			err := next(ctx, tx, e)
			if o, ok := ctx.Value(outcomeKey{}).(*Outcome); ok && *o != "" {
				span.SetAttributes(attrOutcome.String(string(*o)))
			}
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
			}
			return err
		}
	}
}
