package allinone_test

import (
	"flag"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/allinone"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

func envOf(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func load(env map[string]string, args ...string) (allinone.Config, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return allinone.LoadConfig(fs, args, envOf(env))
}

func TestDefaultConfig_IsValidAndUsesTheDocumentedAddresses(t *testing.T) {
	cfg := allinone.DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("default configuration is invalid: %v", err)
	}
	want := map[string]string{
		"orchestrated":  "127.0.0.1:8081",
		"choreographed": "127.0.0.1:8082",
		"temporal":      "127.0.0.1:7233",
		"temporal UI":   "127.0.0.1:8233",
		"kafka":         "127.0.0.1:9092",
	}
	got := map[string]string{
		"orchestrated":  cfg.OrchestratedAddr,
		"choreographed": cfg.ChoreographedAddr,
		"temporal":      cfg.TemporalListen,
		"temporal UI":   cfg.TemporalUIListen,
		"kafka":         cfg.KafkaListen,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s address %q, want %q", k, got[k], w)
		}
	}
	if cfg.DataDir != "./data" || !cfg.Faults || !cfg.Seed || cfg.TemporalAddress != "" || len(cfg.KafkaBrokers) != 0 || cfg.PostgresURL != "" {
		t.Errorf("defaults are not the all-embedded run with faults and seeding: %+v", cfg)
	}
}

func TestLoadConfig_EnvironmentThenFlags_FlagsWin(t *testing.T) {
	cfg, err := load(map[string]string{
		"ORDERSAGA_DATA_DIR":           "/from/env",
		"ORDERSAGA_FAULTS":             "false",
		"ORDERSAGA_KAFKA_BROKERS":      " k1:9092, k2:9092 ,",
		"ORDERSAGA_TEMPORAL_ADDRESS":   "temporal:7233",
		"ORDERSAGA_SHUTDOWN_TIMEOUT":   "3s",
		"ORDERSAGA_LOG_LEVEL":          "debug",
		"ORDERSAGA_ORCHESTRATED_ADDR":  "0.0.0.0:9001",
		"ORDERSAGA_SHIPPING_COUNTRIES": "BR,MX",
	}, "-data-dir", "/from/flag", "-orchestrated-addr=127.0.0.1:9101", "-seed=false")
	if err != nil {
		t.Fatalf("loading: %v", err)
	}
	if cfg.DataDir != "/from/flag" {
		t.Errorf("data dir %q: the flag must win over the environment", cfg.DataDir)
	}
	if cfg.OrchestratedAddr != "127.0.0.1:9101" {
		t.Errorf("orchestrated address %q: the flag must win", cfg.OrchestratedAddr)
	}
	if cfg.Faults || cfg.Seed {
		t.Errorf("faults=%v seed=%v, want both off", cfg.Faults, cfg.Seed)
	}
	if !slices.Equal(cfg.KafkaBrokers, []string{"k1:9092", "k2:9092"}) {
		t.Errorf("kafka brokers %q", cfg.KafkaBrokers)
	}
	if !slices.Equal(cfg.ShippingCountries, []string{"BR", "MX"}) {
		t.Errorf("shipping countries %q", cfg.ShippingCountries)
	}
	if cfg.TemporalAddress != "temporal:7233" || cfg.ShutdownTimeout != 3*time.Second || cfg.LogLevel != slog.LevelDebug {
		t.Errorf("environment not applied: %+v", cfg)
	}
	if cfg.ChoreographedAddr != "127.0.0.1:8082" {
		t.Errorf("unset choreographed address %q, want the default", cfg.ChoreographedAddr)
	}
}

func TestLoadConfig_BadValues_NameEachProblem(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad env number", map[string]string{"ORDERSAGA_KAFKA_PARTITIONS": "four"}, nil, "ORDERSAGA_KAFKA_PARTITIONS"},
		{"bad env bool", map[string]string{"ORDERSAGA_FAULTS": "maybe"}, nil, "ORDERSAGA_FAULTS"},
		{"bad address", nil, []string{"-orchestrated-addr", "8081"}, "orchestrated address"},
		{"same API address", nil, []string{"-choreographed-addr", "127.0.0.1:8081"}, "both APIs"},
		{"bad postgres URL", nil, []string{"-postgres-url", "mysql://x"}, "postgres URL"},
		{"bad database prefix", nil, []string{"-postgres-db-prefix", "My-Prefix"}, "prefix"},
		{"bad country", nil, []string{"-shipping-countries", "Germany"}, "shipping country"},
		{"no partitions", nil, []string{"-kafka-partitions", "0"}, "partitions"},
		{"empty data dir", nil, []string{"-data-dir", " "}, "data dir"},
		{"stray argument", nil, []string{"extra"}, "unexpected arguments"},
		{"short secret", map[string]string{"ORDERSAGA_AUTH_SECRET": "hidden"}, nil, "-auth-secret"},
		{"secret and file", map[string]string{"ORDERSAGA_AUTH_SECRET": "a-secret-given-to-the-all-in-one-run"}, []string{"-auth-secret-file", "/s"}, "give one"},
		{"write timeout under the longest wait", nil, []string{"-write-timeout", "10s"}, "-write-timeout"},
		{"negative request bound", nil, []string{"-max-requests", "-1"}, "-max-requests"},
		{"unknown flag", nil, []string{"-nope"}, "nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(tc.env, tc.args...)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hidden") {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

func TestLoadConfig_LimitsAndSecret_DefaultsThenEnvironmentThenFlags(t *testing.T) {
	cfg, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Limits != httpapi.DefaultLimits() || cfg.AuthSecret != "" || cfg.AuthSecretFile != "" {
		t.Errorf("limits %+v, secret set %v, file %q: want the default limits and no secret (a development one)", cfg.Limits, cfg.AuthSecret != "", cfg.AuthSecretFile)
	}
	cfg, err = load(map[string]string{"ORDERSAGA_MAX_WAITING": "9", "ORDERSAGA_IDLE_TIMEOUT": "5s", "ORDERSAGA_AUTH_SECRET_FILE": "/run/secrets/api"},
		"-idle-timeout", "7s", "-read-timeout", "3s")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Limits.MaxWaiting != 9 || cfg.Limits.IdleTimeout != 7*time.Second || cfg.Limits.ReadTimeout != 3*time.Second || cfg.AuthSecretFile != "/run/secrets/api" {
		t.Errorf("limits %+v, secret file %q", cfg.Limits, cfg.AuthSecretFile)
	}
}

func TestLoadConfig_Usage_ListsEveryEnvironmentVariable(t *testing.T) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var out strings.Builder
	fs.SetOutput(&out)
	if _, err := allinone.LoadConfig(fs, nil, envOf(nil)); err != nil {
		t.Fatal(err)
	}
	fs.PrintDefaults()
	count := 0
	fs.VisitAll(func(f *flag.Flag) {
		count++
		env := "$ORDERSAGA_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if !strings.Contains(f.Usage, env) {
			t.Errorf("usage of -%s does not name %s", f.Name, env)
		}
	})
	if count < 15 {
		t.Errorf("only %d flags registered", count)
	}
}

func TestEmbeddedTemporal_PostgresURL_PutsTemporalOnPrefixedDatabases(t *testing.T) {
	cfg, err := load(nil, "-data-dir", "/srv/data")
	if err != nil {
		t.Fatal(err)
	}
	if tc := cfg.EmbeddedTemporal(); tc.DatabaseFile != "/srv/data/temporal/temporal.db" || tc.PostgresURL != "" {
		t.Errorf("without PostgreSQL: file %q, URL %q; want the SQLite file in the data dir", tc.DatabaseFile, tc.PostgresURL)
	}

	const pg = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	cfg, err = load(nil, "-postgres-url", pg, "-postgres-db-prefix", "demo_")
	if err != nil {
		t.Fatal(err)
	}
	tc := cfg.EmbeddedTemporal()
	if tc.PostgresURL != pg || tc.DatabaseFile != "" {
		t.Errorf("with PostgreSQL: URL %q, file %q; want the URL and no file", tc.PostgresURL, tc.DatabaseFile)
	}
	if tc.PostgresDatabase != "demo_temporal" || tc.PostgresVisibilityDatabase != "demo_temporal_visibility" {
		t.Errorf("temporal databases %q and %q, want demo_temporal and demo_temporal_visibility", tc.PostgresDatabase, tc.PostgresVisibilityDatabase)
	}
}
