// Package tracing traces the order saga through Temporal: the Temporal
// SDK's OpenTelemetry interceptor (go.temporal.io/sdk/contrib/opentelemetry)
// set on the client, which the workers built on that client inherit. It
// gives spans to
//
//	StartWorkflow:OrderSaga     the flow starting an order's saga (a child of the HTTP request's span)
//	RunWorkflow:OrderSaga       the workflow, in the order service's worker
//	StartActivity:<activity>    the workflow scheduling an activity (local ones too)
//	RunActivity:<activity>      the activity, in the worker of the service that runs it
//	UpdateWithStartWorkflow:cancel, HandleUpdate:cancel, …   a cancel
//
// The trace context travels in the Temporal headers of each call, so the
// spans of one order form one trace across processes. Every span carries
// order_id (from the workflow ID) and service (orders for the workflow's
// own work, the activity's service for RunActivity). The workflow's and
// the activities' loggers get trace_id and span_id.
package tracing

import (
	"fmt"
	"maps"

	"go.opentelemetry.io/otel/trace"
	otelcontrib "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"

	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/telemetry"
)

// tracerName is the instrumentation scope of the saga's spans.
const tracerName = "github.com/ordersaga/ordersaga/orchestrated/tracing"

// workflowIDTag is the tag the SDK's tracing interceptor puts the workflow
// ID in.
const workflowIDTag = "temporalWorkflowID"

// NewInterceptor returns the tracing interceptor over tp for the sagas g
// (saga.Default() when nil). Set it in client.Options.Interceptors.
func NewInterceptor(tp trace.TracerProvider, g *saga.Saga) (interceptor.Interceptor, error) {
	t, err := otelcontrib.NewTracer(otelcontrib.TracerOptions{Tracer: tp.Tracer(tracerName)})
	if err != nil {
		return nil, fmt.Errorf("creating the temporal tracer: %w", err)
	}
	if g == nil {
		g = saga.Default()
	}
	return interceptor.NewTracingInterceptor(orderTracer{Tracer: t, saga: g}), nil
}

// orderTracer is the SDK's OpenTelemetry tracer with the order's tags on
// every span and the project's log keys for the ids.
type orderTracer struct {
	interceptor.Tracer
	saga *saga.Saga
}

// StartSpan starts the span with order_id and service among its tags.
func (t orderTracer) StartSpan(opts *interceptor.TracerStartSpanOptions) (interceptor.TracerSpan, error) {
	o := *opts
	o.Tags = make(map[string]string, len(opts.Tags)+2)
	maps.Copy(o.Tags, opts.Tags)
	if id, ok := workflow.OrderIDOf(opts.Tags[workflowIDTag]); ok {
		o.Tags[string(telemetry.AttrOrderID)] = id
	}
	o.Tags[string(telemetry.AttrService)] = t.serviceOf(opts.Operation, opts.Name)
	return t.Tracer.StartSpan(&o)
}

// serviceOf returns the service whose work a span is: the activity's own
// service for RunActivity; otherwise the order service, which starts,
// runs, updates and queries the saga.
func (t orderTracer) serviceOf(operation, name string) string {
	if operation == "RunActivity" {
		return string(workflow.TaskQueueOfActivity(t.saga, name))
	}
	return string(workflow.TaskQueueOrders)
}

// GetLogger adds trace_id and span_id (the keys of the project's other
// log lines) to the workflow's and activities' loggers.
func (t orderTracer) GetLogger(logger log.Logger, ref interceptor.TracerSpanRef) log.Logger {
	s, ok := ref.(interface{ SpanContext() trace.SpanContext })
	if !ok || !s.SpanContext().IsValid() {
		return logger
	}
	sc := s.SpanContext()
	return log.With(logger, telemetry.LogTraceID, sc.TraceID().String(), telemetry.LogSpanID, sc.SpanID().String())
}
