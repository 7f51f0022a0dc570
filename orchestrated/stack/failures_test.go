package stack_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/orchestrated/stack"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/scenario"
)

// failureDeadline is the step deadline the failure-model tests run with:
// short, so a service can fail past it within a test.
const failureDeadline = 4 * time.Second

// TestFailureModel_EveryOrderEnds runs the failure model's scenarios on the
// orchestrated variant with a 4 s step deadline: each service failing
// every call for half the deadline, at an action and at a compensation,
// then recovering; each failing past the deadline; a cancel while failing;
// invalid data found mid-saga. Every order ends, within the suite's bound,
// with every effect undone or completed.
func TestFailureModel_EveryOrderEnds(t *testing.T) {
	p := startProcessWith(t, stack.Config{Namespace: newNamespace(t), Hosted: hosted.Config{
		Databases: sqliteDatabases(t),
		Policy:    saga.Policy{StepDeadline: failureDeadline},
	}, Auth: authtest.Keys(t)})
	inventoryDB := p.Hosted().DBs[hosted.RoleInventory]
	setPrice := func(tb testing.TB, sku string, cents domain.Cents) {
		tb.Helper()
		if _, err := inventoryDB.ExecContext(context.Background(), `UPDATE products SET price_cents = $1 WHERE sku = $2`, int64(cents), sku); err != nil {
			tb.Fatal(fmt.Errorf("setting the price of %s: %w", sku, err))
		}
	}
	tg := scenario.Target{Name: "orchestrated/failures", BaseURL: p.url, StepDeadline: failureDeadline, FinalWithin: suiteFinalWithin,
		Keys: authtest.Keys(t)}
	scenario.RunScenarios(t, tg, append(scenario.FailureScenarios(), scenario.RejectedScenario(setPrice)))
}
