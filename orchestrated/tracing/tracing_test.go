package tracing_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	sdkworkflow "go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/orchestrated/tracing"
	"github.com/ordersaga/ordersaga/orchestrated/workflow"
)

// lines collects JSON log lines.
type lines struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// byMessage returns the last line logged with msg.
func (l *lines) byMessage(t *testing.T, msg string) map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var found map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(l.buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err == nil && m["msg"] == msg {
			found = m
		}
	}
	if found == nil {
		t.Fatalf("no line %q in:\n%s", msg, l.buf.String())
	}
	return found
}

func TestInterceptor_SpansCarryTheOrderAndTheService_LoggersTheIDs(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	ti, err := tracing.NewInterceptor(tp, nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := &lines{}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{ti}})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflow.WorkflowID("o-1")})
	env.RegisterActivityWithOptions(func(ctx context.Context) error {
		activity.GetLogger(ctx).Info("charging")
		return nil
	}, activity.RegisterOptions{Name: "ChargePayment"})
	env.RegisterWorkflowWithOptions(func(ctx sdkworkflow.Context) error {
		ctx = sdkworkflow.WithActivityOptions(ctx, sdkworkflow.ActivityOptions{StartToCloseTimeout: time.Minute})
		sdkworkflow.GetLogger(ctx).Info("saga running")
		return sdkworkflow.ExecuteActivity(ctx, "ChargePayment").Get(ctx, nil)
	}, sdkworkflow.RegisterOptions{Name: workflow.Name})

	env.ExecuteWorkflow(workflow.Name)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}

	got := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		got[s.Name()] = s
	}
	for name, service := range map[string]string{
		"RunWorkflow:OrderSaga":       "orders",
		"StartActivity:ChargePayment": "orders",
		"RunActivity:ChargePayment":   "payment",
	} {
		s, ok := got[name]
		if !ok {
			t.Errorf("no span %s among %d", name, len(got))
			continue
		}
		attrs := map[string]string{}
		for _, kv := range s.Attributes() {
			attrs[string(kv.Key)] = kv.Value.String()
		}
		if attrs["order_id"] != "o-1" || attrs["service"] != service {
			t.Errorf("span %s attributes %v, want order_id o-1 and service %s", name, attrs, service)
		}
	}

	for msg, span := range map[string]string{"saga running": "RunWorkflow:OrderSaga", "charging": "RunActivity:ChargePayment"} {
		line := logs.byMessage(t, msg)
		s := got[span]
		if s == nil {
			continue
		}
		if line["trace_id"] != s.SpanContext().TraceID().String() || line["span_id"] != s.SpanContext().SpanID().String() {
			t.Errorf("line %q = %v, want trace_id and span_id of %s", msg, line, span)
		}
	}
}
