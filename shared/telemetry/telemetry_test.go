package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/shared/telemetry"
	"github.com/ordersaga/ordersaga/shared/telemetry/telemetrytest"
)

func TestNew_None_IsANoOpProvider(t *testing.T) {
	for _, exporter := range []string{"", telemetry.ExporterNone} {
		p, err := telemetry.New(context.Background(), telemetry.Config{Exporter: exporter})
		if err != nil {
			t.Fatalf("exporter %q: %v", exporter, err)
		}
		if p.Recording() {
			t.Errorf("exporter %q: the provider records", exporter)
		}
		_, span := p.Tracer("test").Start(context.Background(), "work")
		if span.IsRecording() || span.SpanContext().IsValid() {
			t.Errorf("exporter %q: span recording=%v valid=%v, want a no-op span", exporter, span.IsRecording(), span.SpanContext().IsValid())
		}
		span.End()
		if err := p.Shutdown(context.Background()); err != nil {
			t.Errorf("exporter %q: shutdown: %v", exporter, err)
		}
	}
}

func TestNew_Stdout_WritesFinishedSpansWithTheServiceNameOnShutdown(t *testing.T) {
	var out bytes.Buffer
	p, err := telemetry.New(context.Background(), telemetry.Config{Exporter: telemetry.ExporterStdout, ServiceName: "ordersaga-test", Writer: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Recording() {
		t.Fatal("the stdout provider does not record")
	}
	_, span := p.Tracer("test").Start(context.Background(), "place order")
	span.SetAttributes(telemetry.OrderID("o-1"), telemetry.Service("orders"))
	if !span.IsRecording() || !span.SpanContext().IsSampled() {
		t.Fatalf("span recording=%v sampled=%v, want both", span.IsRecording(), span.SpanContext().IsSampled())
	}
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Name       string
		Attributes []struct {
			Key   string
			Value struct{ Value any }
		}
		Resource []struct {
			Key   string
			Value struct{ Value any }
		}
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("stdout exporter wrote %q: %v", out.String(), err)
	}
	attrs := map[string]any{}
	for _, a := range got.Attributes {
		attrs[a.Key] = a.Value.Value
	}
	res := map[string]any{}
	for _, a := range got.Resource {
		res[a.Key] = a.Value.Value
	}
	if got.Name != "place order" || attrs["order_id"] != "o-1" || attrs["service"] != "orders" || res["service.name"] != "ordersaga-test" {
		t.Fatalf("span %q attributes %v resource %v, want place order, o-1, orders and service.name ordersaga-test", got.Name, attrs, res)
	}
}

func TestNew_OTLP_SendsSpansToTheCollectorAtTheEndpoint(t *testing.T) {
	for _, form := range []string{"url", "host:port"} {
		t.Run(form, func(t *testing.T) {
			c := telemetrytest.StartCollector(t)
			endpoint := c.Addr()
			if form == "url" {
				endpoint = "http://" + c.Addr()
			}
			p, err := telemetry.New(context.Background(), telemetry.Config{Exporter: telemetry.ExporterOTLP, Endpoint: endpoint, ServiceName: "ordersaga-otlp"})
			if err != nil {
				t.Fatal(err)
			}
			if !p.Recording() {
				t.Fatal("the OTLP provider does not record")
			}
			_, span := p.Tracer("test").Start(context.Background(), "charge payment")
			span.End()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := p.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			got := c.Spans()
			if len(got) != 1 || got[0].Name != "charge payment" {
				t.Fatalf("collector received %d spans %v, want charge payment", len(got), got)
			}
			if name, _ := got[0].Resource.Set().Value(semconv.ServiceNameKey); name.AsString() != "ordersaga-otlp" {
				t.Errorf("service.name %q, want ordersaga-otlp", name.AsString())
			}
		})
	}
}

func TestNew_OTLPWithoutCollector_StartsAnyway(t *testing.T) {
	// The collector is dialled lazily: a process starts while it is down.
	p, err := telemetry.New(context.Background(), telemetry.Config{Exporter: telemetry.ExporterOTLP, Endpoint: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Recording() {
		t.Fatal("the OTLP provider does not record")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // nothing to send: stop at once
	_ = p.Shutdown(ctx)
}

func TestNew_SampleRatio_NewTracesSampledAtTheRatioChildrenFollowTheirParent(t *testing.T) {
	var out bytes.Buffer
	p, err := telemetry.New(context.Background(), telemetry.Config{Exporter: telemetry.ExporterStdout, SampleRatio: 1e-9, Writer: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	tr := p.Tracer("test")
	sampled := 0
	for range 100 {
		_, span := tr.Start(context.Background(), "root")
		if span.SpanContext().IsSampled() {
			sampled++
		}
		span.End()
	}
	if sampled > 1 {
		t.Errorf("%d of 100 new traces sampled at ratio 1e-9", sampled)
	}
	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, Remote: true,
	})
	_, child := tr.Start(trace.ContextWithRemoteSpanContext(context.Background(), parent), "child")
	defer child.End()
	if !child.SpanContext().IsSampled() || child.SpanContext().TraceID() != parent.TraceID() {
		t.Errorf("child of a sampled remote parent: sampled=%v trace %s, want sampled in %s",
			child.SpanContext().IsSampled(), child.SpanContext().TraceID(), parent.TraceID())
	}
}

func TestConfig_Validate_RefusesBadSettingsClearly(t *testing.T) {
	for _, tc := range []struct {
		cfg  telemetry.Config
		want string
	}{
		{telemetry.Config{Exporter: "jaeger"}, `unknown trace exporter "jaeger" (want none, stdout, otlp)`},
		{telemetry.Config{Exporter: "OTLP"}, `unknown trace exporter "OTLP"`},
		{telemetry.Config{Exporter: "otlp", Endpoint: "collector"}, `OTLP endpoint "collector" is not`},
		{telemetry.Config{Exporter: "otlp", Endpoint: "grpc://collector:4317"}, `OTLP endpoint "grpc://collector:4317" is not`},
		// A refused endpoint is shown without its password.
		{telemetry.Config{Exporter: "otlp", Endpoint: "grpc://otel:s3cret@collector:4317"}, `OTLP endpoint "grpc://otel:xxxxx@collector:4317" is not`},
		{telemetry.Config{Exporter: "otlp", Endpoint: "otel:s3cret@collector:4317"}, `OTLP endpoint "xxxxx" is not`},
		{telemetry.Config{Exporter: "stdout", SampleRatio: 1.5}, "trace sample ratio 1.5 is not from 0 to 1"},
		{telemetry.Config{Exporter: "stdout", SampleRatio: -0.1}, "trace sample ratio -0.1 is not from 0 to 1"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
		if _, err := telemetry.New(context.Background(), tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
	for _, ok := range []telemetry.Config{
		{},
		{Exporter: "none"},
		{Exporter: "stdout", SampleRatio: 0.25},
		{Exporter: "otlp"},
		{Exporter: "otlp", Endpoint: "otel-collector:4317"},
		{Exporter: "otlp", Endpoint: "https://collector.example:4317"},
	} {
		if err := ok.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", ok, err)
		}
	}
}

func TestLogHandler_AddsTraceAndSpanIDsOfTheRecordsContext(t *testing.T) {
	var buf bytes.Buffer
	log := telemetry.Logger(slog.New(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)

	log.InfoContext(ctx, "order placed", "order_id", "o-1")
	log.Info("no context")
	log.InfoContext(context.Background(), "context without a span")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines: %q", len(lines), buf.String())
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || first["span_id"] != "00f067aa0ba902b7" ||
		first["order_id"] != "o-1" || first["component"] != "test" {
		t.Errorf("line with a span = %v, want trace_id, span_id, order_id and component", first)
	}
	for _, l := range lines[1:] {
		if strings.Contains(l, "trace_id") || strings.Contains(l, "span_id") {
			t.Errorf("line without a span has ids: %s", l)
		}
	}
}

func TestLogger_WrapsOnce(t *testing.T) {
	var buf bytes.Buffer
	log := telemetry.Logger(telemetry.Logger(slog.New(slog.NewTextHandler(&buf, nil))))
	if again := telemetry.Logger(log); again != log {
		t.Error("a wrapped logger was wrapped again")
	}
	if telemetry.LogHandler(log.Handler()) != log.Handler() {
		t.Error("a wrapped handler was wrapped again")
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}})
	log.InfoContext(trace.ContextWithSpanContext(context.Background(), sc), "once")
	if n := strings.Count(buf.String(), "trace_id="); n != 1 {
		t.Errorf("trace_id appears %d times in %q, want once", n, buf.String())
	}
	if telemetry.Logger(nil) != nil {
		t.Error("Logger(nil) is not nil")
	}
}
