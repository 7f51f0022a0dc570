package process_test

import (
	"flag"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

// testSecret is the signing secret the configurations of these tests get
// from the environment unless a test sets ORDERSAGA_AUTH_SECRET itself
// (to "" for none).
const testSecret = "a-signing-secret-for-the-config-tests"

// envOf returns an environment of vars, with testSecret as
// ORDERSAGA_AUTH_SECRET unless vars sets it; a variable set to "" is
// unset.
func envOf(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		if !ok && k == "ORDERSAGA_AUTH_SECRET" {
			return testSecret, true
		}
		return v, ok && v != ""
	}
}

func load(v process.Variant, env map[string]string, args ...string) (process.Config, error) {
	fs := flag.NewFlagSet(string(v), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return process.LoadConfig(v, fs, args, envOf(env))
}

func TestParseRoles_ListsAllAndDuplicates_InStableOrder(t *testing.T) {
	tests := []struct {
		in   string
		want []hosted.Role
	}{
		{"orders", []hosted.Role{hosted.RoleOrders}},
		{"shipping,inventory", []hosted.Role{hosted.RoleInventory, hosted.RoleShipping}},
		{" Payment , payment,", []hosted.Role{hosted.RolePayment}},
		{"all", hosted.AllRoles()},
		{"inventory,all", hosted.AllRoles()},
	}
	for _, tc := range tests {
		got, err := process.ParseRoles(tc.in)
		if err != nil {
			t.Errorf("ParseRoles(%q): %v", tc.in, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("ParseRoles(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", " , ", "billing", "orders,billing"} {
		if got, err := process.ParseRoles(bad); err == nil {
			t.Errorf("ParseRoles(%q) = %v, want an error", bad, got)
		}
	}
}

func TestLoadConfig_Defaults_DependOnVariantAndRoles(t *testing.T) {
	tests := []struct {
		variant process.Variant
		roles   string
		addr    string
	}{
		{process.Orchestrated, "orders", "127.0.0.1:8081"},
		{process.Choreographed, "orders", "127.0.0.1:8082"},
		{process.Orchestrated, "all", "127.0.0.1:8081"},
		{process.Orchestrated, "inventory", "127.0.0.1:8181"},
		{process.Choreographed, "payment,shipping", "127.0.0.1:8282"},
		{process.Choreographed, "shipping", "127.0.0.1:8382"},
		{process.Orchestrated, "notifications", "127.0.0.1:8481"},
		{process.Choreographed, "notifications", "127.0.0.1:8482"},
	}
	for _, tc := range tests {
		cfg, err := load(tc.variant, map[string]string{"ORDERSAGA_DATA_DIR": "/data"}, tc.roles)
		if err != nil {
			t.Errorf("%s %s: %v", tc.variant, tc.roles, err)
			continue
		}
		if cfg.HTTPAddr != tc.addr {
			t.Errorf("%s %s: HTTP address %q, want %q", tc.variant, tc.roles, cfg.HTTPAddr, tc.addr)
		}
	}
	cfg, err := load(process.Choreographed, nil, "orders", "-data-dir", "/data")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.KafkaBrokers, ",") != "127.0.0.1:9092" || cfg.TopicPrefix != "ordersaga" || cfg.GroupPrefix != "" ||
		cfg.FaultInjection || cfg.LogLevel != slog.LevelInfo {
		t.Errorf("choreographed defaults: %+v", cfg)
	}
	cfg, err = load(process.Orchestrated, nil, "payment", "-data-dir", "/data")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TemporalAddress != "127.0.0.1:7233" || cfg.TemporalNamespace != "default" {
		t.Errorf("orchestrated defaults: %+v", cfg)
	}
}

func TestLoadConfig_FlagWinsOverEnvironmentWhichWinsOverDefault(t *testing.T) {
	env := map[string]string{
		"ORDERSAGA_HTTP_ADDR":          "0.0.0.0:9000",
		"ORDERSAGA_KAFKA_BROKERS":      "k1:9092,k2:9092",
		"ORDERSAGA_TOPIC_PREFIX":       "env-prefix",
		"ORDERSAGA_FAULT_INJECTION":    "true",
		"ORDERSAGA_LOG_LEVEL":          "debug",
		"ORDERSAGA_SHIPPING_COUNTRIES": "BR,MX",
		"ORDERSAGA_DATA_DIR":           "/env/data",
		"ORDERSAGA_PAYMENT_DB":         "sqlite:/env/payment.db",
	}
	cfg, err := load(process.Choreographed, env, "payment,shipping",
		"-http-addr", "127.0.0.1:9100", "-topic-prefix", "flag-prefix", "-payment-db", "postgres://u:pw@db/payment", "-log-level", "warn")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:9100" || cfg.TopicPrefix != "flag-prefix" || cfg.LogLevel != slog.LevelWarn {
		t.Errorf("flags did not win: %+v", cfg)
	}
	if cfg.RoleDatabases[hosted.RolePayment] != "postgres://u:pw@db/payment" {
		t.Errorf("payment database %q, want the flag's", cfg.RoleDatabases[hosted.RolePayment])
	}
	if strings.Join(cfg.KafkaBrokers, ",") != "k1:9092,k2:9092" || !cfg.FaultInjection ||
		strings.Join(cfg.ShippingCountries, ",") != "BR,MX" || cfg.DataDir != "/env/data" {
		t.Errorf("environment did not win over the defaults: %+v", cfg)
	}
	if !slices.Equal(cfg.Roles, []hosted.Role{hosted.RolePayment, hosted.RoleShipping}) {
		t.Errorf("roles %v", cfg.Roles)
	}
}

func TestLoadConfig_RolesAfterFlagsOrFromEnvironment(t *testing.T) {
	cfg, err := load(process.Orchestrated, nil, "-data-dir", "/d", "inventory", "shipping")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Roles, []hosted.Role{hosted.RoleInventory, hosted.RoleShipping}) {
		t.Errorf("roles after the flags: %v", cfg.Roles)
	}
	cfg, err = load(process.Orchestrated, map[string]string{"ORDERSAGA_ROLES": "all"}, "-data-dir", "/d")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Roles, hosted.AllRoles()) {
		t.Errorf("roles from ORDERSAGA_ROLES: %v", cfg.Roles)
	}
	cfg, err = load(process.Orchestrated, map[string]string{"ORDERSAGA_ROLES": "all"}, "payment", "-data-dir", "/d")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Roles, []hosted.Role{hosted.RolePayment}) {
		t.Errorf("named roles did not win over ORDERSAGA_ROLES: %v", cfg.Roles)
	}
}

func TestLoadConfig_RoleDatabaseAlone_NeedsNoLayout(t *testing.T) {
	cfg, err := load(process.Orchestrated, map[string]string{"ORDERSAGA_SHIPPING_DB": "sqlite:/tmp/s.db"}, "shipping")
	if err != nil {
		t.Fatalf("a role with its own database was refused: %v", err)
	}
	if len(cfg.RoleDatabases) != 1 || cfg.RoleDatabases[hosted.RoleShipping] != "sqlite:/tmp/s.db" {
		t.Errorf("role databases %v", cfg.RoleDatabases)
	}
}

func TestLoadConfig_BadSettings_NameEachProblem(t *testing.T) {
	tests := []struct {
		name    string
		variant process.Variant
		env     map[string]string
		args    []string
		want    []string
	}{
		{"no roles", process.Orchestrated, nil, []string{"-data-dir", "/d"}, []string{"no roles"}},
		{"unknown role", process.Choreographed, nil, []string{"orders,billing", "-data-dir", "/d"}, []string{`unknown role "billing"`}},
		{"no database", process.Orchestrated, nil, []string{"payment,shipping", "-payment-db", "sqlite:/p.db"},
			[]string{"no database for the shipping role", "-shipping-db", "$ORDERSAGA_SHIPPING_DB", "-data-dir", "-postgres-url"}},
		{"no notifications database", process.Choreographed, nil, []string{"orders,notifications", "-orders-db", "sqlite:/o.db"},
			[]string{"no database for the notifications role", "-notifications-db", "$ORDERSAGA_NOTIFICATIONS_DB"}},
		{"bad database address", process.Orchestrated, nil, []string{"orders", "-orders-db", "mysql://u:hidden@h/db"}, []string{"orders database address"}},
		{"bad postgres URL", process.Choreographed, nil, []string{"orders", "-postgres-url", "http://u:hidden@h"}, []string{"postgres URL"}},
		{"bad database prefix", process.Choreographed, nil, []string{"orders", "-data-dir", "/d", "-postgres-db-prefix", "Bad-Prefix"}, []string{"prefix"}},
		{"bad HTTP address", process.Orchestrated, nil, []string{"orders", "-data-dir", "/d", "-http-addr", "8081"}, []string{"HTTP address"}},
		{"bad temporal address", process.Orchestrated, map[string]string{"ORDERSAGA_TEMPORAL_ADDRESS": "temporal"}, []string{"orders", "-data-dir", "/d"}, []string{"temporal address"}},
		{"no brokers", process.Choreographed, nil, []string{"orders", "-data-dir", "/d", "-kafka-brokers", ""}, []string{"no kafka brokers"}},
		{"bad topic prefix", process.Choreographed, nil, []string{"orders", "-data-dir", "/d", "-topic-prefix", "a b"}, []string{"topic prefix"}},
		{"unknown event version", process.Choreographed, nil, []string{"orders", "-data-dir", "/d", "-event-versions", "OrderCompleted=3"}, []string{"-event-versions", "OrderCompleted has no version 3"}},
		{"unknown event type", process.Choreographed, map[string]string{"ORDERSAGA_EVENT_VERSIONS": "OrderComplete=1"}, []string{"orders", "-data-dir", "/d"}, []string{"OrderComplete is not an event type"}},
		{"event version not Type=version", process.Choreographed, nil, []string{"orders", "-data-dir", "/d", "-event-versions", "OrderCompleted"}, []string{"not Type=version"}},
		{"kafka session timeout under three heartbeats", process.Choreographed, nil, []string{"payment", "-data-dir", "/d", "-kafka-session-timeout", "2s"},
			[]string{"kafka session timeout 2s", "3s"}},
		{"bad country", process.Choreographed, nil, []string{"shipping", "-data-dir", "/d", "-shipping-countries", "Germany"}, []string{"shipping country"}},
		{"bad env value", process.Choreographed, map[string]string{"ORDERSAGA_FAULT_INJECTION": "maybe"}, []string{"orders", "-data-dir", "/d"}, []string{"ORDERSAGA_FAULT_INJECTION"}},
		{"flag of the other variant", process.Orchestrated, nil, []string{"orders", "-data-dir", "/d", "-kafka-brokers", "k:9092"}, []string{"kafka-brokers"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet(string(tc.variant), flag.ContinueOnError)
			var out strings.Builder
			fs.SetOutput(&out)
			_, err := process.LoadConfig(tc.variant, fs, tc.args, envOf(tc.env))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error() + out.String()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if strings.Contains(msg, "hidden") {
				t.Errorf("error %q shows a password", msg)
			}
		})
	}
}

func TestLoadConfig_Usage_NamesTheEnvironmentVariableOfEveryFlag(t *testing.T) {
	for _, v := range []process.Variant{process.Orchestrated, process.Choreographed} {
		fs := flag.NewFlagSet(string(v), flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		if _, err := process.LoadConfig(v, fs, []string{"all", "-data-dir", "/d"}, envOf(nil)); err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		fs.VisitAll(func(f *flag.Flag) {
			names[f.Name] = true
			env := "$ORDERSAGA_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
			if !strings.Contains(f.Usage, env) {
				t.Errorf("%s: usage of -%s does not name %s", v, f.Name, env)
			}
		})
		for _, want := range []string{"orders-db", "inventory-db", "payment-db", "shipping-db", "notifications-db", "notifications-url", "data-dir", "postgres-url", "postgres-db-prefix", "http-addr", "fault-injection", "shipping-countries", "log-level"} {
			if !names[want] {
				t.Errorf("%s lacks -%s", v, want)
			}
		}
		variantFlags := map[process.Variant][]string{
			process.Orchestrated:  {"temporal-address", "temporal-namespace"},
			process.Choreographed: {"kafka-brokers", "topic-prefix", "group-prefix", "event-versions", "kafka-session-timeout"},
		}
		for _, want := range variantFlags[v] {
			if !names[want] {
				t.Errorf("%s lacks -%s", v, want)
			}
		}
	}
}

func TestLoadConfig_Secret_FromTheEnvironmentOrAFile_NoneRefusedNamingTheFlagAndTheTokenCommand(t *testing.T) {
	cfg, err := load(process.Orchestrated, nil, "orders", "-data-dir", "/d")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.NewKeys([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := keys.Issue(auth.Principal{Role: auth.RoleOperator, Subject: "ops"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Auth == nil {
		t.Fatal("no keys from ORDERSAGA_AUTH_SECRET")
	}
	if p, err := cfg.Auth.Verify(tok, time.Now()); err != nil || !p.Operator() {
		t.Errorf("a token signed with the configured secret: %+v, %v", p, err)
	}

	cfg, err = load(process.Choreographed, map[string]string{"ORDERSAGA_AUTH_SECRET": "", "ORDERSAGA_AUTH_SECRET_FILE": "/run/secrets/api"}, "orders", "-data-dir", "/d")
	if err != nil {
		t.Fatalf("a secret file was refused: %v", err)
	}
	if cfg.Auth != nil || cfg.AuthSecretFile != "/run/secrets/api" {
		t.Errorf("keys %v, file %q: want the file kept for the start to read", cfg.Auth, cfg.AuthSecretFile)
	}

	for name, env := range map[string]map[string]string{
		"none":            {"ORDERSAGA_AUTH_SECRET": ""},
		"both":            {"ORDERSAGA_AUTH_SECRET_FILE": "/run/secrets/api"},
		"too short":       {"ORDERSAGA_AUTH_SECRET": "hidden-but-short"},
		"bad base64 text": {"ORDERSAGA_AUTH_SECRET": "base64:hidden!!"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(process.Orchestrated, env, "orders", "-data-dir", "/d")
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), "-auth-secret") || strings.Contains(err.Error(), "hidden") {
				t.Errorf("error %q: want one naming -auth-secret, never the secret", err)
			}
			if name == "none" && (!strings.Contains(err.Error(), "ordersaga token") || !strings.Contains(err.Error(), "ORDERSAGA_AUTH_SECRET_FILE")) {
				t.Errorf("error %q does not say how to give a secret and where tokens come from", err)
			}
		})
	}
}

func TestLoadConfig_LimitsAndOperationsAddress_DefaultsFlagsAndProblems(t *testing.T) {
	cfg, err := load(process.Orchestrated, nil, "orders", "-data-dir", "/d")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Limits != httpapi.DefaultLimits() || cfg.OpsAddr != "" || cfg.FaultInjection {
		t.Errorf("limits %+v, ops address %q, fault injection %v: want the defaults, none and off", cfg.Limits, cfg.OpsAddr, cfg.FaultInjection)
	}
	cfg, err = load(process.Choreographed, map[string]string{"ORDERSAGA_MAX_WAITING": "7", "ORDERSAGA_OPS_ADDR": "0.0.0.0:9090"}, "orders", "-data-dir", "/d",
		"-read-header-timeout", "2s", "-read-timeout", "5s", "-write-timeout", "40s", "-idle-timeout", "1m", "-max-requests", "64")
	if err != nil {
		t.Fatal(err)
	}
	want := httpapi.Limits{ReadHeaderTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 40 * time.Second,
		IdleTimeout: time.Minute, MaxRequests: 64, MaxWaiting: 7}
	if cfg.Limits != want || cfg.OpsAddr != "0.0.0.0:9090" {
		t.Errorf("limits %+v, ops address %q; want %+v and 0.0.0.0:9090", cfg.Limits, cfg.OpsAddr, want)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-write-timeout", "20s"}, "-write-timeout"},
		{[]string{"-max-waiting", "-1"}, "-max-waiting"},
		{[]string{"-ops-addr", "9090"}, "operations address"},
		{[]string{"-ops-addr", "127.0.0.1:9000", "-http-addr", "127.0.0.1:9000"}, "port of its own"},
	} {
		_, err := load(process.Orchestrated, nil, append([]string{"orders", "-data-dir", "/d"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
}

func TestLoadConfig_EventVersions_WrittenAtTheNewestUnlessNamed(t *testing.T) {
	cfg, err := load(process.Choreographed, nil, "orders", "-data-dir", "/d")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := cfg.WriteVersions()
	if err != nil || vs.Of(events.OrderCompleted) != events.OrderCompleted.SchemaVersion() {
		t.Fatalf("default: OrderCompleted written as v%d (%v), want the newest", vs.Of(events.OrderCompleted), err)
	}
	cfg, err = load(process.Choreographed, map[string]string{"ORDERSAGA_EVENT_VERSIONS": "OrderCompleted=1"}, "orders", "-data-dir", "/d")
	if err != nil {
		t.Fatal(err)
	}
	if vs, err = cfg.WriteVersions(); err != nil || vs.Of(events.OrderCompleted) != 1 || vs.Of(events.OrderPlaced) != 1 {
		t.Fatalf("OrderCompleted=1: %v, %v", vs, err)
	}
}

func TestLoadConfig_KafkaSessionTimeout_DefaultEnvironmentAndFlag(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want time.Duration
	}{
		{"default", nil, nil, 10 * time.Second},
		{"environment", map[string]string{"ORDERSAGA_KAFKA_SESSION_TIMEOUT": "6s"}, nil, 6 * time.Second},
		{"flag over environment", map[string]string{"ORDERSAGA_KAFKA_SESSION_TIMEOUT": "6s"}, []string{"-kafka-session-timeout", "45s"}, 45 * time.Second},
	}
	for _, tc := range tests {
		cfg, err := load(process.Choreographed, tc.env, append([]string{"payment", "-data-dir", "/d"}, tc.args...)...)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if cfg.KafkaSessionTimeout != tc.want {
			t.Errorf("%s: session timeout %v, want %v", tc.name, cfg.KafkaSessionTimeout, tc.want)
		}
	}
}
