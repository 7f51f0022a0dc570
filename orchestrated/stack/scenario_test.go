package stack_test

import (
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/scenario"
)

// The suite's load and time bound here. A saga costs about 100 ms of CPU in
// this test binary, where the Temporal server, the four services'
// databases and the suite's client share two cores (and `make test` runs
// other packages beside it), so the suite's defaults (a 200-order burst,
// each order final within 10 s) measure the machine more than the saga.
// Here the suite checks the variant's behaviour and invariants; its
// latency bound belongs to the cross-variant comparison on a quiet machine.
const (
	suiteBurstOrders = 50
	suiteFinalWithin = 30 * time.Second
)

// TestOrchestrated_ScenarioSuite runs the scenario suite both variants must
// pass, through the REST API only, against one orchestrated process that
// verifies bearer tokens: the scenarios and the bad-input table with the
// suite's credentials (an operator's for set-up, each customer's own for
// its orders), then the access rules over every endpoint and credential.
func TestOrchestrated_ScenarioSuite(t *testing.T) {
	p := startProcess(t, newNamespace(t), sqliteDatabases(t))
	tg := scenario.Target{Name: "orchestrated", BaseURL: p.url, BurstOrders: suiteBurstOrders, FinalWithin: suiteFinalWithin,
		Keys: authtest.Keys(t)}
	scenario.Run(t, tg)
	scenario.RunBadInput(t, tg)
	t.Run("access", func(t *testing.T) { scenario.CheckAccess(t, tg) })
}
