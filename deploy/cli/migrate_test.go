package cli

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/freeport"
	"github.com/ordersaga/ordersaga/deploy/kafkadev"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// TestServiceProcess_DatabasesNotMigrated_RefusedUntilMigrateRan: a
// process of either variant refuses to start on databases `ordersaga
// migrate` has not brought to its schema, saying which and what to run;
// migrate creates every table of the variant (the choreographed outbox,
// inbox and timeline included), and the process then starts.
func TestServiceProcess_DatabasesNotMigrated_RefusedUntilMigrateRan(t *testing.T) {
	broker, err := kafkadev.Start(kafkadev.Config{Address: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Close() })
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Before migrate: refused, before the infrastructure is even reached.
	for _, tc := range []struct {
		variant string
		args    []string
	}{
		{"choreographed", []string{"-kafka-brokers", broker.Addrs()[0]}},
		{"orchestrated", []string{"-temporal-address", "127.0.0.1:1"}},
	} {
		env, _, stderr := testEnv(secretEnv())
		args := append([]string{tc.variant, "all", "-data-dir", dir}, tc.args...)
		if code := Execute(ctx, env, args); code != 1 {
			t.Errorf("%s on databases never migrated: exit %d, want 1; stderr:\n%s", tc.variant, code, stderr)
		}
		for _, want := range []string{"orders database: database sqlite:", "is at schema version 0 of orders, this binary needs 2",
			"run `ordersaga migrate -variant " + tc.variant + "`"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("%s refused without saying %q:\n%s", tc.variant, want, stderr)
			}
		}
	}

	env, stdout, stderr := testEnv(nil)
	if code := Execute(ctx, env, []string{"migrate", "-variant", "choreographed", "-data-dir", dir}); code != 0 {
		t.Fatalf("migrate: exit %d; stderr:\n%s", code, stderr)
	}
	t.Logf("migrate:\n%s", stdout)
	for _, r := range hosted.AllRoles() {
		var want []string
		switch r {
		case hosted.RoleOrders:
			want = []string{"orders", "outbox", "processed_events", "order_timeline"}
		case hosted.RoleInventory:
			want = []string{"products", "reservations", "outbox", "processed_events"}
		case hosted.RolePayment:
			want = []string{"customers", "payments", "outbox", "processed_events"}
		case hosted.RoleShipping:
			want = []string{"shipments", "outbox", "processed_events"}
		case hosted.RoleNotifications:
			want = []string{"notifications", "order_customers", "processed_events"} // it emits nothing: no outbox
		default:
			t.Fatalf("no tables expected of role %s", r)
		}
		checkTables(t, ctx, "sqlite:"+filepath.Join(dir, "choreographed", string(r)+".db"), want)
	}

	// After migrate: the process starts and is ready.
	port, err := freeport.Get("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	env, _, stderr = testEnv(secretEnv())
	done := make(chan int, 1)
	go func() {
		done <- Execute(runCtx, env, []string{"choreographed", "all", "-data-dir", dir, "-kafka-brokers", broker.Addrs()[0],
			"-topic-prefix", "migrated", "-http-addr", addr, "-log-level", "warn"})
	}()
	for ready := false; !ready; {
		select {
		case code := <-done:
			t.Fatalf("the process on migrated databases ended with exit %d; stderr:\n%s", code, stderr)
		case <-ctx.Done():
			t.Fatalf("the process on migrated databases was not ready in time; stderr:\n%s", stderr)
		case <-time.After(100 * time.Millisecond):
		}
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			ready = resp.StatusCode == http.StatusOK
		}
	}
	stop()
	if code := <-done; code != 0 {
		t.Errorf("stopping the process: exit %d; stderr:\n%s", code, stderr)
	}
}

// checkTables reports through t each table of want the database at dsn
// lacks.
func checkTables(t *testing.T, ctx context.Context, dsn string, want []string) {
	t.Helper()
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, table := range want {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%s has no table %s after migrate", dsn, table)
		}
	}
}
