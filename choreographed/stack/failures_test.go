package stack_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/stack"
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
// choreographed variant with a 4 s step deadline (quick retries then take
// at most 0.4 s, redeliveries wait 33 ms, 167 ms, then every second): each
// service failing every call for half the deadline, at an action and at a
// compensation, then recovering; each failing past the deadline; a cancel
// while failing; invalid data found mid-saga. Every order ends, within
// the suite's bound, with every effect undone or completed. The services'
// databases are on PostgreSQL (the orchestrated test runs on SQLite).
func TestFailureModel_EveryOrderEnds(t *testing.T) {
	r := startStack(t, "failures", stack.Config{
		Hosted: hosted.Config{Databases: postgresDatabases(t), Policy: saga.Policy{StepDeadline: failureDeadline}},
		Retry:  consumer.RetryPolicy{MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond},
	})
	inventoryDB := r.Hosted().DBs[hosted.RoleInventory]
	setPrice := func(tb testing.TB, sku string, cents domain.Cents) {
		tb.Helper()
		if _, err := inventoryDB.ExecContext(context.Background(), `UPDATE products SET price_cents = $1 WHERE sku = $2`, int64(cents), sku); err != nil {
			tb.Fatal(fmt.Errorf("setting the price of %s: %w", sku, err))
		}
	}
	tg := scenario.Target{Name: "choreographed/failures", BaseURL: "http://" + r.Addr(), StepDeadline: failureDeadline, Keys: authtest.Keys(t)}
	scenario.RunScenarios(t, tg, append(scenario.FailureScenarios(), scenario.RejectedScenario(setPrice)))
}
