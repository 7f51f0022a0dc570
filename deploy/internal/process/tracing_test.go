package process_test

import (
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/telemetry"
)

func TestLoadConfig_Tracing_OffByDefaultAndTheProcessNamedByItsRoles(t *testing.T) {
	tests := []struct {
		variant process.Variant
		roles   string
		name    string
	}{
		{process.Orchestrated, "all", "ordersaga-orchestrated"},
		{process.Choreographed, "payment", "ordersaga-choreographed-payment"},
		{process.Orchestrated, "shipping,orders", "ordersaga-orchestrated-orders-shipping"},
	}
	for _, tc := range tests {
		cfg, err := load(tc.variant, map[string]string{"ORDERSAGA_DATA_DIR": "/d"}, tc.roles)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.OtelExporter != telemetry.ExporterNone || cfg.OtelEndpoint != "" || cfg.OtelSampleRatio != 1 || cfg.OtelServiceName != tc.name {
			t.Errorf("%s %s: tracing %q %q %v %q, want none, no endpoint, ratio 1 and name %s", tc.variant, tc.roles,
				cfg.OtelExporter, cfg.OtelEndpoint, cfg.OtelSampleRatio, cfg.OtelServiceName, tc.name)
		}
	}
	if got := process.DefaultServiceName(process.Choreographed, hosted.AllRoles()); got != "ordersaga-choreographed" {
		t.Errorf("DefaultServiceName of every role = %q", got)
	}
}

func TestLoadConfig_Tracing_FlagThenOrdersagaVariableThenStandardVariable(t *testing.T) {
	env := map[string]string{
		"ORDERSAGA_DATA_DIR":          "/d",
		"ORDERSAGA_OTEL_EXPORTER":     "otlp",
		"ORDERSAGA_OTEL_SAMPLE_RATIO": "0.5",
		"OTEL_SERVICE_NAME":           "orchestrated-orders",
	}
	cfg, err := load(process.Orchestrated, env, "orders")
	if err != nil {
		t.Fatal(err)
	}
	tc := cfg.Tracing()
	if tc.Exporter != "otlp" || tc.SampleRatio != 0.5 || tc.ServiceName != "orchestrated-orders" || tc.Endpoint != "" {
		t.Errorf("tracing from the environment: %+v", tc)
	}
	env["ORDERSAGA_OTEL_SERVICE_NAME"] = "from-ordersaga-env"
	if cfg, err = load(process.Orchestrated, env, "orders"); err != nil || cfg.OtelServiceName != "from-ordersaga-env" {
		t.Errorf("ORDERSAGA_OTEL_SERVICE_NAME did not win over OTEL_SERVICE_NAME: %q, %v", cfg.OtelServiceName, err)
	}
	cfg, err = load(process.Orchestrated, env, "orders", "-otel-service-name", "from-flag", "-otel-exporter", "stdout",
		"-otel-endpoint", "http://collector:4317", "-otel-sample-ratio", "0.1")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OtelServiceName != "from-flag" || cfg.OtelExporter != "stdout" || cfg.OtelEndpoint != "http://collector:4317" || cfg.OtelSampleRatio != 0.1 {
		t.Errorf("flags did not win: %+v", cfg.Tracing())
	}
}

func TestLoadConfig_Tracing_BadSettingsRefusedClearly(t *testing.T) {
	tests := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"-otel-exporter", "jaeger"}, `unknown trace exporter "jaeger" (want none, stdout, otlp)`},
		{map[string]string{"ORDERSAGA_OTEL_EXPORTER": "zipkin"}, nil, `unknown trace exporter "zipkin"`},
		{nil, []string{"-otel-exporter", "otlp", "-otel-endpoint", "collector"}, `OTLP endpoint "collector" is not`},
		{nil, []string{"-otel-sample-ratio", "0"}, "otel sample ratio is 0"},
		{nil, []string{"-otel-sample-ratio", "1.5"}, "trace sample ratio 1.5 is not from 0 to 1"},
		{map[string]string{"ORDERSAGA_OTEL_SAMPLE_RATIO": "half"}, nil, `ORDERSAGA_OTEL_SAMPLE_RATIO: "half" is not a number`},
	}
	for _, tc := range tests {
		env := map[string]string{"ORDERSAGA_DATA_DIR": "/d"}
		for k, v := range tc.env {
			env[k] = v
		}
		_, err := load(process.Choreographed, env, append([]string{"orders"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: %v, want an error containing %q", tc.env, tc.args, err, tc.want)
		}
	}
}
