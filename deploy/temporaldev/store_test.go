package temporaldev_test

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/ordersaga/ordersaga/deploy/temporaldev"
)

// clusterShards asks the server's frontend, as any Temporal client can,
// how many history shards the cluster runs with.
func clusterShards(t *testing.T, s *temporaldev.Server) int {
	t.Helper()
	c := dial(t, s)
	info, err := c.WorkflowService().GetClusterInfo(testContext(t), &workflowservice.GetClusterInfoRequest{})
	if err != nil {
		t.Fatalf("cluster info: %v", err)
	}
	return int(info.GetHistoryShardCount())
}

// runCharges runs n workflows at once on the server, spread over its
// shards by their ids, and checks each one's result.
func runCharges(t *testing.T, s *temporaldev.Server, n int) {
	t.Helper()
	ctx := testContext(t)
	c := dial(t, s)
	queue := "charges-" + t.Name()
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(chargeWorkflow)
	w.RegisterActivity(chargeActivity)
	if err := w.Start(); err != nil {
		t.Fatalf("starting the worker: %v", err)
	}
	defer w.Stop()
	runs := make([]client.WorkflowRun, n)
	for i := range runs {
		var err error
		id := fmt.Sprintf("o-%d", i)
		if runs[i], err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "charge-" + id, TaskQueue: queue}, chargeWorkflow, id); err != nil {
			t.Fatalf("starting workflow %d: %v", i, err)
		}
	}
	for i, run := range runs {
		var receipt string
		if err := run.Get(ctx, &receipt); err != nil {
			t.Fatalf("workflow %d: %v", i, err)
		}
		if want := fmt.Sprintf("receipt-o-%d", i); receipt != want {
			t.Errorf("workflow %d: result %q, want %q", i, receipt, want)
		}
	}
}

// checkShardCountRefused checks that err refuses a start for asking want
// shards of a database created with created.
func checkShardCountRefused(t *testing.T, err error, created, want int) {
	t.Helper()
	if err == nil {
		t.Fatalf("starting with %d history shards on a database created with %d succeeded", want, created)
	}
	var mismatch *temporaldev.ShardCountError
	if !errors.As(err, &mismatch) || mismatch.Created != created || mismatch.Requested != want {
		t.Fatalf("error %v (%T), want a ShardCountError of %d created, %d requested", err, err, created, want)
	}
	for _, words := range []string{fmt.Sprintf("created with %d history shards", created), fmt.Sprintf("not %d", want), "fixes the count"} {
		if !strings.Contains(err.Error(), words) {
			t.Errorf("error %q does not say %q", err, words)
		}
	}
}

// The server runs with the shards it is given on a new database, and the
// frontend reports that count.
func TestStart_InMemory_RunsWithTheHistoryShardsGiven(t *testing.T) {
	for _, shards := range []int{0, 3} {
		t.Run(fmt.Sprint(shards), func(t *testing.T) {
			s := start(t, temporaldev.Config{NoUI: true, Store: temporaldev.StoreSettings{HistoryShards: shards, ShardIOConcurrency: 2}})
			want := shards
			if shards == 0 {
				want = temporaldev.DefaultHistoryShards
			}
			if got := clusterShards(t, s); got != want {
				t.Errorf("the cluster runs with %d history shards, want %d", got, want)
			}
			if got := s.HistoryShards(); got != want {
				t.Errorf("HistoryShards() = %d, want %d", got, want)
			}
			if st := s.Store(); st.ShardIOConcurrency != 2 || st.MaxConns != temporaldev.DefaultPostgresMaxConns || st.HistoryShards != want {
				t.Errorf("Store() = %+v, want %d shards, shard IO concurrency 2 and the default pools", st, want)
			}
			runCharges(t, s, 6)
		})
	}
}

// A SQLite file keeps the count it was created with: a restart asking for
// none runs with it, one asking for another is refused before it serves.
func TestStart_FileBacked_KeepsItsHistoryShardsAndRefusesAnother(t *testing.T) {
	file := filepath.Join(t.TempDir(), "temporal", "temporal.db")
	first := start(t, temporaldev.Config{DatabaseFile: file, NoUI: true, Store: temporaldev.StoreSettings{HistoryShards: 3}})
	if got := clusterShards(t, first); got != 3 {
		t.Fatalf("a new file runs with %d history shards, want 3", got)
	}
	runCharges(t, first, 4)
	first.Stop()

	_, err := temporaldev.Start(testContext(t), temporaldev.Config{
		FrontendAddress: "127.0.0.1:0", NoUI: true, DatabaseFile: file,
		Store:  temporaldev.StoreSettings{HistoryShards: 5},
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	})
	checkShardCountRefused(t, err, 3, 5)
	if !strings.Contains(err.Error(), file) {
		t.Errorf("error %q does not name the file %s", err, file)
	}

	for _, shards := range []int{0, 3} {
		s := start(t, temporaldev.Config{DatabaseFile: file, NoUI: true, Store: temporaldev.StoreSettings{HistoryShards: shards}})
		if got := clusterShards(t, s); got != 3 {
			t.Errorf("restarted asking for %d: the cluster runs with %d history shards, want the file's 3", shards, got)
		}
		s.Stop()
	}
}

// The same on PostgreSQL, with the pools of the settings, as small as one
// connection each.
func TestStart_Postgres_KeepsItsHistoryShardsAndRefusesAnother(t *testing.T) {
	base, _, database, visibility := postgresURL(t)
	cfg := temporaldev.Config{
		FrontendAddress: "127.0.0.1:0", NoUI: true,
		PostgresURL: base, PostgresDatabase: database, PostgresVisibilityDatabase: visibility,
		Store: temporaldev.StoreSettings{
			HistoryShards: 2, ShardIOConcurrency: 4,
			MaxConns: 1, MaxIdleConns: 1, VisibilityMaxConns: 1, VisibilityMaxIdleConns: 1,
		},
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	}
	ctx := testContext(t)
	first, err := temporaldev.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("starting temporal on PostgreSQL: %v", err)
	}
	t.Cleanup(first.Stop)
	if got := clusterShards(t, first); got != 2 {
		t.Fatalf("new databases run with %d history shards, want 2", got)
	}
	runCharges(t, first, 4)
	first.Stop()

	cfg.Store.HistoryShards = 8
	_, err = temporaldev.Start(ctx, cfg)
	checkShardCountRefused(t, err, 2, 8)
	if !strings.Contains(err.Error(), database) {
		t.Errorf("error %q does not name the database %s", err, database)
	}

	cfg.Store = temporaldev.StoreSettings{}
	second, err := temporaldev.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("restarting with the default settings: %v", err)
	}
	t.Cleanup(second.Stop)
	if got := clusterShards(t, second); got != 2 {
		t.Errorf("restarted with no count: the cluster runs with %d history shards, want the database's 2", got)
	}
}

// Settings that cannot work are refused before anything starts.
func TestStart_BadStoreSettings_Refused(t *testing.T) {
	for _, st := range []temporaldev.StoreSettings{
		{HistoryShards: -1},
		{HistoryShards: temporaldev.MaxHistoryShards + 1},
		{MaxConns: -2},
		{MaxConns: 2, MaxIdleConns: 3},
		{VisibilityMaxConns: 1, VisibilityMaxIdleConns: 2},
		{ShardIOConcurrency: temporaldev.MaxShardIOConcurrency + 1},
	} {
		_, err := temporaldev.Start(testContext(t), temporaldev.Config{FrontendAddress: "127.0.0.1:0", NoUI: true, Store: st})
		if err == nil || !strings.Contains(err.Error(), "temporal persistence settings") {
			t.Errorf("%+v: error %v, want the settings refused", st, err)
		}
		if problems := st.Problems(); len(problems) == 0 {
			t.Errorf("%+v: no problem reported", st)
		}
	}
	if problems := temporaldev.DefaultStoreSettings().Problems(); len(problems) > 0 {
		t.Errorf("the default settings have problems: %v", problems)
	}
}
