package stack_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/ordersaga/ordersaga/choreographed/internal/kafkatest"
	"github.com/ordersaga/ordersaga/choreographed/stack"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/scenario"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// TestScenarioSuite_AllInOneOnSQLite runs the scenario suite both
// variants must pass on the all-in-one stack, which verifies bearer
// tokens: the scenarios and the bad-input table with the suite's
// credentials (an operator's for set-up, each customer's own for its
// orders), then the access rules over every endpoint and credential.
func TestScenarioSuite_AllInOneOnSQLite(t *testing.T) {
	tg := scenario.Target{Name: "choreographed/sqlite", BaseURL: "http://" + allInOne.Addr(), Keys: testKeys(t)}
	scenario.Run(t, tg)
	scenario.RunBadInput(t, tg)
	t.Run("access", func(t *testing.T) { scenario.CheckAccess(t, tg) })
}

func TestScenarioSuite_AllInOneOnPostgres(t *testing.T) {
	dbs := map[hosted.Role]string{}
	for _, role := range hosted.AllRoles() {
		dbs[role] = sqltest.DSN(t, sqldb.Postgres)
	}
	r, err := start(context.Background(), stack.Config{
		Hosted:         hosted.Config{Databases: dbs},
		Brokers:        brokers,
		TopicPrefix:    "pg" + kafkatest.Unique(),
		HTTPAddr:       "127.0.0.1:0",
		FaultInjection: true,
		Auth:           testKeys(t),
		Logger:         logger.With("env", "postgres"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("stopping the stack: %v", err)
		}
	})
	scenario.Run(t, scenario.Target{Name: "choreographed/postgres", BaseURL: "http://" + r.Addr(), Keys: testKeys(t)})
}

func TestReadyz_DatabasesAndBrokerReachable_Ready(t *testing.T) {
	status, body := api{base: "http://" + allInOne.Addr()}.do(t, http.MethodGet, "/readyz", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /readyz: %d %s", status, body)
	}
}

func TestNew_NoBrokers_Refused(t *testing.T) {
	if _, err := stack.New(context.Background(), stack.Config{}); err == nil {
		t.Fatal("a stack without brokers was created")
	}
}
