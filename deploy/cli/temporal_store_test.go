package cli

import (
	"context"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/deploy/allinone"
	"github.com/ordersaga/ordersaga/deploy/bench"
	"github.com/ordersaga/ordersaga/deploy/bench/rig"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
)

// lookup returns an environment of the given variables.
func lookup(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// The run command's Temporal persistence flags, and their variables, reach
// the embedded server's configuration; without them it has the defaults.
func TestRunFlags_TemporalStore_ReachTheEmbeddedServer(t *testing.T) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := allinone.LoadConfig(fs, []string{
		"-temporal-history-shards", "8", "-temporal-shard-io-concurrency", "4",
		"-temporal-max-conns", "24", "-temporal-max-idle-conns", "12",
	}, lookup(map[string]string{
		"ORDERSAGA_TEMPORAL_VISIBILITY_MAX_CONNS":      "6",
		"ORDERSAGA_TEMPORAL_VISIBILITY_MAX_IDLE_CONNS": "2",
		"ORDERSAGA_TEMPORAL_HISTORY_SHARDS":            "2", // the flag wins
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := temporaldev.StoreSettings{
		HistoryShards: 8, ShardIOConcurrency: 4, MaxConns: 24, MaxIdleConns: 12,
		VisibilityMaxConns: 6, VisibilityMaxIdleConns: 2,
	}
	if got := cfg.EmbeddedTemporal().Store; got != want {
		t.Errorf("the embedded server's store settings %+v, want %+v", got, want)
	}

	fs = flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err = allinone.LoadConfig(fs, nil, lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.EmbeddedTemporal().Store, temporaldev.DefaultStoreSettings(); got != want {
		t.Errorf("default store settings %+v, want %+v", got, want)
	}
	if got := cfg.EmbeddedTemporal().Store.HistoryShards; got != 0 {
		t.Errorf("default history shards %d, want 0 (an existing database's own count)", got)
	}
}

// The bench's Temporal persistence flags, its commit count and its
// database prefix are read from flags and ORDERSAGA_BENCH_ variables.
func TestBenchFlags_TemporalStore_FromFlagsAndEnvironment(t *testing.T) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := defaultBenchFlags()
	if f.commitSagas != bench.DefaultCommitSagas || f.postgresDBPrefix != rig.DefaultDBPrefix || f.temporalStore != temporaldev.DefaultStoreSettings() {
		t.Errorf("defaults: %d commit sagas, prefix %q, store %+v", f.commitSagas, f.postgresDBPrefix, f.temporalStore)
	}
	env := lookup(map[string]string{
		"ORDERSAGA_BENCH_TEMPORAL_HISTORY_SHARDS": "16",
		"ORDERSAGA_BENCH_TEMPORAL_MAX_CONNS":      "32",
		"ORDERSAGA_BENCH_POSTGRES_DB_PREFIX":      "mine",
	})
	if err := f.bind(fs, env); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"-temporal-shard-io-concurrency", "8", "-temporal-commit-sagas", "0", "-temporal-max-conns", "20"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.options(); err != nil {
		t.Fatal(err)
	}
	want := temporaldev.DefaultStoreSettings()
	want.HistoryShards, want.ShardIOConcurrency, want.MaxConns = 16, 8, 20
	if f.temporalStore != want {
		t.Errorf("store settings %+v, want %+v", f.temporalStore, want)
	}
	if f.commitSagas != 0 || f.postgresDBPrefix != "mine" {
		t.Errorf("commit sagas %d and prefix %q, want 0 and mine", f.commitSagas, f.postgresDBPrefix)
	}
}

// Settings that cannot work are usage errors naming their flag, on both
// commands.
func TestTemporalStoreFlags_Bad_UsageError(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		env      map[string]string
		inStderr string
	}{
		{[]string{"run", "-temporal-history-shards", "-1"}, nil, "-temporal-history-shards -1"},
		{[]string{"run", "-temporal-history-shards", "5000"}, nil, "-temporal-history-shards 5000"},
		{[]string{"run", "-temporal-max-conns", "4", "-temporal-max-idle-conns", "8"}, nil, "-temporal-max-idle-conns 8 is above -temporal-max-conns 4"},
		{[]string{"run"}, map[string]string{"ORDERSAGA_TEMPORAL_SHARD_IO_CONCURRENCY": "many"}, "ORDERSAGA_TEMPORAL_SHARD_IO_CONCURRENCY"},
		{[]string{"bench", "-temporal-visibility-max-conns", "-3"}, nil, "-temporal-visibility-max-conns -3"},
		{[]string{"bench", "-temporal-commit-sagas", "-1"}, nil, "-temporal-commit-sagas"},
		{[]string{"bench", "-postgres-db-prefix", "Bench"}, nil, "-postgres-db-prefix"},
		{[]string{"bench"}, map[string]string{"ORDERSAGA_BENCH_TEMPORAL_HISTORY_SHARDS": "eight"}, "ORDERSAGA_BENCH_TEMPORAL_HISTORY_SHARDS"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			env, _, stderr := testEnv(tc.env)
			if got := Execute(context.Background(), env, tc.args); got != 2 {
				t.Errorf("exit code %d, want 2 (stderr %q)", got, stderr)
			}
			if !strings.Contains(stderr.String(), tc.inStderr) {
				t.Errorf("stderr %q lacks %q", stderr, tc.inStderr)
			}
		})
	}
}
