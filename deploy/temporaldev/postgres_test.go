package temporaldev_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	pgschema "go.temporal.io/server/schema/postgresql/v12"

	"github.com/ordersaga/ordersaga/deploy/internal/proctest"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// secretPassword is put in the PostgreSQL URL when it has no password (the
// test server trusts local connections), to check that it is never logged.
const secretPassword = "pw-never-logged-5c1e"

// postgresURL returns the test PostgreSQL server's URL with a password,
// the password, and unique database names for the server, dropped when
// the test ends. It skips the test when PostgreSQL does not answer, and
// fails it when $CI is set.
func postgresURL(t *testing.T) (base, password, database, visibility string) {
	t.Helper()
	base = sqltest.PostgresURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sqldb.Open(ctx, base)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL is required on CI: %v", err)
		}
		t.Skipf("PostgreSQL not reachable (set ORDERSAGA_TEST_POSTGRES): %v", err)
	}
	admin.Close()
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	prefix := "tdtest_" + hex.EncodeToString(b[:]) + "_"
	database, visibility = prefix+"temporal", prefix+"temporal_visibility"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := sqldb.Open(ctx, base)
		if err != nil {
			t.Errorf("dropping the test databases: %v", err)
			return
		}
		defer admin.Close()
		for _, name := range []string{database, visibility} {
			if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				t.Errorf("dropping test database %s: %v", name, err)
			}
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parsing %s: %v", base, err)
	}
	password, ok := u.User.Password()
	if !ok {
		password = secretPassword
		u.User = url.UserPassword(u.User.Username(), password)
	}
	return u.String(), password, database, visibility
}

// chargeWorkflow runs one activity and returns its result.
func chargeWorkflow(ctx workflow.Context, orderID string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var receipt string
	err := workflow.ExecuteActivity(ctx, chargeActivity, orderID).Get(ctx, &receipt)
	return receipt, err
}

func chargeActivity(_ context.Context, orderID string) (string, error) {
	return "receipt-" + orderID, nil
}

func TestStart_Postgres_RunsWorkflowsAndRestartKeepsThem(t *testing.T) {
	base, password, database, visibility := postgresURL(t)
	logs := &proctest.Buffer{}
	cfg := temporaldev.Config{
		FrontendAddress:            "127.0.0.1:0",
		NoUI:                       true,
		PostgresURL:                base,
		PostgresDatabase:           database,
		PostgresVisibilityDatabase: visibility,
		Logger:                     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		LogLevel:                   slog.LevelDebug,
	}
	ctx := testContext(t)
	first, err := temporaldev.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("starting temporal on PostgreSQL: %v", err)
	}
	t.Cleanup(first.Stop)
	if p := first.Persistence(); !strings.Contains(p, "PostgreSQL") || !strings.Contains(p, database) || strings.Contains(p, password) {
		t.Errorf("persistence %q does not name the PostgreSQL databases (or shows the password)", p)
	}

	c := dial(t, first)
	checkSearchAttributes(t, c, temporaldev.DefaultNamespace)
	w := worker.New(c, "payments", worker.Options{})
	w.RegisterWorkflow(chargeWorkflow)
	w.RegisterActivity(chargeActivity)
	if err := w.Start(); err != nil {
		t.Fatalf("starting the worker: %v", err)
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    "order-o-1",
		TaskQueue:             "payments",
		TypedSearchAttributes: temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword(temporaldev.SearchAttributeCustomerID).ValueSet("ada")),
	}, chargeWorkflow, "o-1")
	if err != nil {
		t.Fatalf("starting a workflow: %v", err)
	}
	var receipt string
	if err := run.Get(ctx, &receipt); err != nil {
		t.Fatalf("running the workflow: %v", err)
	}
	if receipt != "receipt-o-1" {
		t.Errorf("workflow result %q, want receipt-o-1", receipt)
	}
	// Visibility (a database of its own) finds it by its search attribute.
	listed := waitListed(t, c, "CustomerId = 'ada'")
	if len(listed) != 1 || listed[0].GetExecution().GetWorkflowId() != "order-o-1" {
		t.Errorf("visibility lists %v for CustomerId = 'ada', want order-o-1", listed)
	}
	w.Stop()
	c.Close()
	first.Stop()

	// A second server on the same databases keeps the finished workflow.
	second, err := temporaldev.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("restarting temporal on the same databases: %v", err)
	}
	t.Cleanup(second.Stop)
	c2 := dial(t, second)
	checkSearchAttributes(t, c2, temporaldev.DefaultNamespace)
	desc, err := c2.DescribeWorkflowExecution(ctx, "order-o-1", run.GetRunID())
	if err != nil {
		t.Fatalf("describing the workflow after restart: %v", err)
	}
	if got := desc.GetWorkflowExecutionInfo().GetStatus(); got != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Errorf("workflow status after restart %v, want completed", got)
	}
	second.Stop()

	// Both databases are at the server's schema version.
	u, _ := url.Parse(base)
	for name, want := range map[string]string{database: pgschema.Version, visibility: pgschema.VisibilityVersion} {
		u.Path = "/" + name
		db, err := sqldb.Open(ctx, u.String())
		if err != nil {
			t.Fatalf("opening %s: %v", name, err)
		}
		var got string
		err = db.QueryRowContext(ctx, "SELECT curr_version FROM schema_version WHERE db_name = $1", name).Scan(&got)
		db.Close()
		if err != nil || got != want {
			t.Errorf("schema version of %s: %q (%v), want %s", name, got, err, want)
		}
	}
	if strings.Contains(logs.String(), password) {
		t.Error("the PostgreSQL password appears in the logs")
	}
}

// waitListed lists the namespace's workflows matching query until there
// are some: visibility is written after the workflow's state.
func waitListed(t *testing.T, c client.Client, query string) []*workflowpb.WorkflowExecutionInfo {
	t.Helper()
	ctx := testContext(t)
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatalf("listing workflows %q: %v", query, err)
		}
		if len(resp.GetExecutions()) > 0 {
			return resp.GetExecutions()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no workflow listed for %q", query)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestStart_PostgresAndFile_Refused(t *testing.T) {
	_, err := temporaldev.Start(testContext(t), temporaldev.Config{
		FrontendAddress: "127.0.0.1:0", NoUI: true,
		DatabaseFile: t.TempDir() + "/temporal.db", PostgresURL: "postgres://u:hidden-pw@127.0.0.1:1/postgres",
	})
	if err == nil {
		t.Fatal("starting with both a SQLite file and a PostgreSQL URL succeeded")
	}
	if strings.Contains(err.Error(), "hidden-pw") {
		t.Errorf("error %q shows the password", err)
	}
}
