package stack_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/ordersaga/ordersaga/choreographed/stack"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/scenario"
)

// TestScenarioSuite_AllInOneOnSQLite runs the scenario suite both
// variants must pass on the all-in-one stack, which verifies bearer
// tokens: the scenarios and the bad-input table with the suite's
// credentials (an operator's for set-up, each customer's own for its
// orders), then the access rules over every endpoint and credential.
func TestScenarioSuite_AllInOneOnSQLite(t *testing.T) {
	tg := scenario.Target{Name: "choreographed/sqlite", BaseURL: "http://" + allInOne.Addr(), Keys: authtest.Keys(t)}
	scenario.Run(t, tg)
	scenario.RunBadInput(t, tg)
	t.Run("access", func(t *testing.T) { scenario.CheckAccess(t, tg) })
}

func TestScenarioSuite_AllInOneOnPostgres(t *testing.T) {
	r := startStack(t, "postgres", stack.Config{Hosted: hosted.Config{Databases: postgresDatabases(t)}})
	scenario.Run(t, scenario.Target{Name: "choreographed/postgres", BaseURL: "http://" + r.Addr(), Keys: authtest.Keys(t)})
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
