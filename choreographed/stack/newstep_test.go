package stack_test

import (
	"testing"

	"github.com/ordersaga/ordersaga/choreographed/stack"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/participant"
	"github.com/ordersaga/ordersaga/shared/scenario"
	"github.com/ordersaga/ordersaga/shared/scenario/loyaltytest"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// TestNewStep_Loyalty_RunsTheSuiteAndItsOwnScenarios adds a fourth step
// (loyalty points after payment, a service defined outside production
// code) to the saga and runs the whole scenario suite and the step's own
// scenarios on the choreographed variant: its events, topic and consumer
// group follow from the saga alone. The loyalty service keeps its points
// on PostgreSQL, the other services on SQLite.
func TestNewStep_Loyalty_RunsTheSuiteAndItsOwnScenarios(t *testing.T) {
	g := loyaltytest.Saga(t)
	loyalty := loyaltytest.Open(t, sqltest.DSN(t, sqldb.Postgres))
	r := startStack(t, "loyalty", stack.Config{Hosted: hosted.Config{
		Databases:    hosted.SQLiteDatabases(t.TempDir()),
		Saga:         g,
		Participants: participant.Set{loyaltytest.Step: loyalty},
	}})
	tg := scenario.Target{Name: "choreographed/loyalty", BaseURL: "http://" + r.Addr(), Saga: g, Keys: authtest.Keys(t)}
	scenario.RunScenarios(t, tg, loyaltytest.Scenarios(loyalty))
	scenario.Run(t, tg)
}
