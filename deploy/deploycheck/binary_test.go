package deploycheck

import (
	"testing"
)

func TestReadBinary_ReadsTheCommandTableAndItsVariables(t *testing.T) {
	bin := ReadBinary()
	for _, args := range [][]string{{"run"}, {"migrate"}, {"orchestrated"}, {"choreographed"}, {"dlq", "list"}, {"dlq", "replay"}, {"healthcheck"}, {"version"}} {
		if _, err := bin.Resolve(args); err != nil {
			t.Errorf("Resolve(%q): %v", args, err)
		}
	}
	for _, name := range []string{
		// Flags of the service processes, of migrate and of dlq.
		"ORDERSAGA_ORDERS_DB", "ORDERSAGA_SHIPPING_DB", "ORDERSAGA_HTTP_ADDR", "ORDERSAGA_TEMPORAL_ADDRESS",
		"ORDERSAGA_TEMPORAL_NAMESPACE", "ORDERSAGA_KAFKA_BROKERS", "ORDERSAGA_TOPIC_PREFIX", "ORDERSAGA_LOG_LEVEL",
		// Flags of the all-in-one run and of bench.
		"ORDERSAGA_TEMPORAL_UI_LISTEN", "ORDERSAGA_BENCH_CONCURRENCY",
		// Variables read besides the flags.
		"ORDERSAGA_ROLES", "OTEL_SERVICE_NAME",
	} {
		if !bin.Env[name] {
			t.Errorf("the binary does not read %s", name)
		}
	}
	for _, name := range []string{"ORDERSAGA_TEST_POSTGRES", "ORDERSAGA_BENCH_"} {
		if bin.Env[name] {
			t.Errorf("the binary is said to read %s, which no command reads", name)
		}
	}
}

func TestBinary_Resolve(t *testing.T) {
	bin := Binary{Commands: []Command{{Name: "migrate"}, {Name: "dlq", Sub: []Command{{Name: "list"}}}}}
	for _, tc := range []struct {
		args    []string
		wantErr bool
	}{
		{[]string{"migrate"}, false},
		{[]string{"migrate", "-down"}, false},
		{[]string{"dlq", "list"}, false},
		{[]string{"dlq"}, true},
		{[]string{"dlq", "replay"}, true},
		{[]string{"bogus"}, true},
		{nil, true},
	} {
		if _, err := bin.Resolve(tc.args); (err != nil) != tc.wantErr {
			t.Errorf("Resolve(%q): error %v, want error %v", tc.args, err, tc.wantErr)
		}
	}
}
