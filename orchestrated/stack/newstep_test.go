package stack_test

import (
	"testing"

	"github.com/ordersaga/ordersaga/orchestrated/stack"
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
// scenarios on the orchestrated variant: the workflow's loop, its
// activities and their task queue follow from the saga alone. The loyalty
// service keeps its points on PostgreSQL, the other services on SQLite.
func TestNewStep_Loyalty_RunsTheSuiteAndItsOwnScenarios(t *testing.T) {
	g := loyaltytest.Saga(t)
	loyalty := loyaltytest.Open(t, sqltest.DSN(t, sqldb.Postgres))
	p := startProcessWith(t, stack.Config{Namespace: newNamespace(t), Hosted: hosted.Config{
		Databases:    sqliteDatabases(t),
		Saga:         g,
		Participants: participant.Set{loyaltytest.Step: loyalty},
	}, Auth: authtest.Keys(t)})
	tg := scenario.Target{Name: "orchestrated/loyalty", BaseURL: p.url, Saga: g,
		BurstOrders: suiteBurstOrders, FinalWithin: suiteFinalWithin, Keys: authtest.Keys(t)}
	scenario.RunScenarios(t, tg, loyaltytest.Scenarios(loyalty))
	scenario.Run(t, tg)
}
