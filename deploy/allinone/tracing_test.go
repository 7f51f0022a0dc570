package allinone_test

import (
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/deploy/allinone"
	"github.com/ordersaga/ordersaga/shared/telemetry"
)

func TestLoadConfig_Tracing_OffByDefaultEachVariantAServiceOfItsOwn(t *testing.T) {
	cfg, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OtelExporter != telemetry.ExporterNone || cfg.OtelEndpoint != "" || cfg.OtelSampleRatio != 1 {
		t.Errorf("tracing defaults %q %q %v, want none, no endpoint, ratio 1", cfg.OtelExporter, cfg.OtelEndpoint, cfg.OtelSampleRatio)
	}
	for _, v := range []string{allinone.Orchestrated, allinone.Choreographed} {
		if got := cfg.Tracing(v).ServiceName; got != "ordersaga-"+v {
			t.Errorf("%s service name %q", v, got)
		}
	}
	cfg, err = load(map[string]string{"ORDERSAGA_OTEL_EXPORTER": "otlp", "ORDERSAGA_OTEL_ENDPOINT": "http://env:4317"},
		"-otel-endpoint", "flag:4317", "-otel-sample-ratio", "0.25")
	if err != nil {
		t.Fatal(err)
	}
	tc := cfg.Tracing(allinone.Choreographed)
	if tc.Exporter != "otlp" || tc.Endpoint != "flag:4317" || tc.SampleRatio != 0.25 {
		t.Errorf("tracing %+v, want otlp from the environment, the flag's endpoint and ratio", tc)
	}
}

func TestLoadConfig_Tracing_BadSettingsRefusedClearly(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-otel-exporter", "jaeger"}, `unknown trace exporter "jaeger" (want none, stdout, otlp)`},
		{[]string{"-otel-exporter", "otlp", "-otel-endpoint", "grpc://c:4317"}, `OTLP endpoint "grpc://c:4317" is not`},
		{[]string{"-otel-sample-ratio", "0"}, "otel sample ratio is 0"},
		{[]string{"-otel-sample-ratio", "-1"}, "trace sample ratio -1 is not from 0 to 1"},
	} {
		if _, err := load(nil, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
