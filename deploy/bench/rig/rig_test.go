package rig_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/ordersaga/ordersaga/deploy/bench"
	"github.com/ordersaga/ordersaga/deploy/bench/rig"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

func TestRig_BothStacksOnSQLite_BenchMeasuresOrdersOnEach(t *testing.T) {
	t.Parallel()
	benchBothStacks(t, rig.Config{Dir: t.TempDir()}, "SQLite")
}

func TestRig_BothStacksOnPostgres_BenchMeasuresOrdersOnEach(t *testing.T) {
	t.Parallel()
	base := sqltest.Server(t)
	prefix := fmt.Sprintf("benchtest_%d", time.Now().UnixNano()%1_000_000_000)
	temporalDBs := []string{prefix + "_temporal", prefix + "_temporal_visibility"}
	// Registered first, so it runs after the rig's Close: the databases of
	// Temporal are dropped with those of the services.
	t.Cleanup(func() {
		if got := existingDatabases(t, base, temporalDBs); len(got) != 0 {
			t.Errorf("databases %v left after Close", got)
		}
	})
	benchBothStacks(t, rig.Config{
		Dir: t.TempDir(), PostgresURL: base, DropDatabasesOnClose: true,
		PostgresDBPrefix: prefix,
	}, "PostgreSQL")
	// Temporal persisted to PostgreSQL, not to a SQLite file.
	if got := existingDatabases(t, base, temporalDBs); len(got) != len(temporalDBs) {
		t.Errorf("temporal databases %v exist during the run, want %v", got, temporalDBs)
	}
}

// existingDatabases returns which of names exist on the server.
func existingDatabases(t *testing.T, base string, names []string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sqldb.Open(ctx, base)
	if err != nil {
		t.Fatalf("connecting to PostgreSQL: %v", err)
	}
	defer db.Close()
	var found []string
	for _, name := range names {
		var exists bool
		if err := db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
			t.Fatalf("looking up database %s: %v", name, err)
		}
		if exists {
			found = append(found, name)
		}
	}
	return found
}

// benchBothStacks starts both stacks with cfg and runs a short bench on
// them.
func benchBothStacks(t *testing.T, cfg rig.Config, databases string) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cfg.Orchestrated, cfg.Choreographed = true, true
	cfg.Logger = slog.New(slog.DiscardHandler)
	keys, err := auth.NewKeys([]byte("a-signing-secret-of-the-rig-tests!"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Keys = keys
	r, err := rig.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("starting the rig: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("closing the rig: %v", err)
		}
	})
	var setup bench.Setup
	r.Describe(&setup)
	if !strings.Contains(setup.Databases, databases) || setup.Temporal == "" || setup.Broker == "" {
		t.Errorf("setup %+v does not say what runs", setup)
	}
	if !strings.Contains(setup.Temporal, "Temporal persistence: "+databases) {
		t.Errorf("setup says Temporal runs on %q, want its persistence on %s", setup.Temporal, databases)
	}
	hostPort, _ := r.TemporalAddress()
	if hostPort == "" || len(r.KafkaBrokers()) == 0 {
		t.Fatalf("temporal %q, brokers %v: the infrastructure did not start", hostPort, r.KafkaBrokers())
	}

	rep, err := bench.Run(ctx, bench.Options{
		Targets: []bench.Target{
			{Name: rig.Orchestrated, BaseURL: r.URL(rig.Orchestrated), Framework: bench.FrameworkTemporal},
			{Name: rig.Choreographed, BaseURL: r.URL(rig.Choreographed), Framework: bench.FrameworkKafka},
		},
		Concurrencies: []int{2},
		NoOpenLoop:    true,
		Duration:      500 * time.Millisecond,
		Warmup:        100 * time.Millisecond,
		Products:      5,
		Customers:     5,
		FailureShare:  0.3,
		Setup:         setup,
		Keys:          keys,
	})
	if err != nil {
		t.Fatalf("bench.Run: %v", err)
	}
	for _, v := range rep.Variants {
		p := v.Closed[0]
		if p.Final == 0 || p.Errors != 0 {
			t.Errorf("%s: final %d, errors %d %v", v.Name, p.Final, p.Errors, p.ErrorSamples)
		}
	}
	var failed int
	for _, v := range rep.Variants {
		failed += v.Closed[0].BusinessFail
	}
	if failed == 0 {
		t.Error("no order shipped to a refused country failed: the failure mix did not reach the stacks")
	}
	// The stacks verify tokens with the rig's keys: a set-up request
	// without one is refused.
	for _, v := range []string{rig.Orchestrated, rig.Choreographed} {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, r.URL(v)+"/v1/products/unsigned", strings.NewReader(`{"name":"x","price_cents":1,"stock":1}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: PUT a product without a token: %d, want 401", v, resp.StatusCode)
		}
	}

	// Before the ceilings the stacks stop; the server and broker stay.
	orchestrated := r.URL(rig.Orchestrated)
	if err := r.StopStacks(); err != nil {
		t.Fatalf("stopping the stacks: %v", err)
	}
	if resp, err := http.Get(orchestrated + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("the orchestrated API still answers after StopStacks")
	}
	if hp, _ := r.TemporalAddress(); hp == "" || len(r.KafkaBrokers()) == 0 {
		t.Error("StopStacks stopped Temporal or the broker")
	}
}

// The rig starts the Temporal server with its store settings, says so in
// the setup, and on PostgreSQL reads its databases' commit counters, which
// the bench counts a ceiling workflow's commits with.
func TestRig_TemporalOnPostgres_RunsWithTheStoreSettingsAndCountsCommits(t *testing.T) {
	t.Parallel()
	base := sqltest.Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := rig.Start(ctx, rig.Config{
		Dir: t.TempDir(), PostgresURL: base, DropDatabasesOnClose: true, Temporal: true,
		PostgresDBPrefix: fmt.Sprintf("benchstore_%d", time.Now().UnixNano()%1_000_000_000),
		TemporalStore:    temporaldev.StoreSettings{HistoryShards: 3, ShardIOConcurrency: 2, MaxConns: 3},
		Logger:           slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("starting the rig: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("closing the rig: %v", err)
		}
	})
	hostPort, namespace := r.TemporalAddress()
	c, err := client.DialContext(ctx, client.Options{HostPort: hostPort, Namespace: namespace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, err := c.WorkflowService().GetClusterInfo(ctx, &workflowservice.GetClusterInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := info.GetHistoryShardCount(); got != 3 {
		t.Errorf("the server runs with %d history shards, want 3", got)
	}
	var setup bench.Setup
	r.Describe(&setup)
	for _, want := range []string{"3 history shards", "2 persistence operations in flight per shard", "pools of 3 (idle 3)"} {
		if !strings.Contains(setup.Temporal, want) {
			t.Errorf("setup %q does not say %q", setup.Temporal, want)
		}
	}

	read := r.TemporalCommits()
	if read == nil {
		t.Fatal("no commit counters on PostgreSQL")
	}
	rep, err := bench.Run(ctx, bench.Options{
		Temporal:        &bench.TemporalCeiling{HostPort: hostPort, Namespace: namespace},
		TemporalCommits: &bench.TemporalCommits{Read: read, Sagas: 5, Background: time.Second},
		Concurrencies:   []int{1},
		NoOpenLoop:      true,
		Duration:        300 * time.Millisecond,
		Warmup:          -1,
	})
	if err != nil {
		t.Fatalf("bench.Run: %v", err)
	}
	if len(rep.Ceilings) != 1 || rep.Ceilings[0].TemporalCommits == nil {
		t.Fatalf("no commit count in the ceilings %+v", rep.Ceilings)
	}
	// A workflow of three activities takes, at the very least, a commit
	// for its start, for each of its four workflow tasks and for each
	// activity's start and completion.
	if got := rep.Ceilings[0].TemporalCommits; got.Error != "" || got.PerSaga < 11 || got.VisibilityPerSaga <= 0 {
		t.Errorf("commit count %+v, want at least 11 per workflow and some in visibility", got)
	}
}

// On SQLite there are no commit counters to read.
func TestRig_TemporalOnSQLite_HasNoCommitCounters(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := rig.Start(ctx, rig.Config{Dir: t.TempDir(), Temporal: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("starting the rig: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("closing the rig: %v", err)
		}
	})
	if r.TemporalCommits() != nil {
		t.Error("commit counters on SQLite")
	}
	var setup bench.Setup
	r.Describe(&setup)
	if want := fmt.Sprintf("%d history shards", temporaldev.DefaultHistoryShards); !strings.Contains(setup.Temporal, want) || strings.Contains(setup.Temporal, "pools of") {
		t.Errorf("setup %q: want %q and no PostgreSQL pools", setup.Temporal, want)
	}
}
