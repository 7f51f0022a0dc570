package loyaltytest

import (
	"context"
	"slices"
	"testing"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/scenario"
	"github.com/ordersaga/ordersaga/shared/timeline"
)

// Scenarios returns the loyalty step's scenarios, which check the points
// in svc besides the suite's invariants: the happy path, each refusal of
// the step, and a failure after it that compensates it in reverse order.
// The target must run Saga.
func Scenarios(svc *Service) []scenario.Scenario {
	return []scenario.Scenario{
		{Name: "loyalty_awarded", Run: func(tb testing.TB, e *scenario.Env) scenario.Result {
			mug := e.Product("mug", 1250, 5)
			ada := e.Customer("ada", 10_000)
			e.Place("paid", e.Request("paid", ada, "DE", scenario.Line{SKU: mug, Quantity: 2}))
			res := e.Finish()
			scenario.ExpectOrder(tb, res, "paid", scenario.WantCompleted())
			scenario.ExpectStock(tb, res, "mug", -2)
			scenario.ExpectCredit(tb, res, "ada", -2500)
			expectPoints(tb, svc, ada, 25)
			return res
		}},
		{Name: "loyalty_refused_capped", Run: func(tb testing.TB, e *scenario.Env) scenario.Result {
			tv := e.Product("tv", 60_000, 5)
			ada := e.Customer("ada", 500_000)
			e.Place("big", e.Request("big", ada, "DE", scenario.Line{SKU: tv, Quantity: 2}))
			res := e.Finish()
			scenario.ExpectOrder(tb, res, "big", scenario.WantRefused(Step, ReasonCapped))
			scenario.ExpectStock(tb, res, "tv", 0)
			scenario.ExpectCredit(tb, res, "ada", 0)
			expectPoints(tb, svc, ada, 0)
			return res
		}},
		{Name: "loyalty_refused_frozen", Run: func(tb testing.TB, e *scenario.Env) scenario.Result {
			mug := e.Product("mug", 1250, 5)
			bob := e.Customer("frozen", 10_000)
			e.Place("frozen", e.Request("frozen", bob, "DE", scenario.Line{SKU: mug, Quantity: 1}))
			res := e.Finish()
			scenario.ExpectOrder(tb, res, "frozen", scenario.WantRefused(Step, ReasonFrozen))
			scenario.ExpectStock(tb, res, "mug", 0)
			scenario.ExpectCredit(tb, res, "frozen", 0)
			return res
		}},
		{Name: "loyalty_undone_after_shipping", Run: func(tb testing.TB, e *scenario.Env) scenario.Result {
			mug := e.Product("mug", 1250, 5)
			ada := e.Customer("ada", 10_000)
			e.Place("aq", e.Request("aq", ada, "AQ", scenario.Line{SKU: mug, Quantity: 2}))
			res := e.Finish()
			scenario.ExpectOrder(tb, res, "aq", scenario.WantRefused(domain.StepShipping, domain.ReasonShippingUnavailable))
			scenario.ExpectStock(tb, res, "mug", 0)
			scenario.ExpectCredit(tb, res, "ada", 0)
			expectPoints(tb, svc, ada, 0)
			expectCompensatedInOrder(tb, e, "aq", Step, domain.StepPayment, domain.StepInventory)
			return res
		}},
	}
}

// expectPoints reports through tb when the customer does not hold points.
func expectPoints(tb testing.TB, svc *Service, customerID string, points int64) {
	tb.Helper()
	got, err := svc.Points(context.Background(), customerID)
	if err != nil {
		tb.Fatal(err)
	}
	if got != points {
		tb.Errorf("customer %s holds %d points, want %d", customerID, got, points)
	}
}

// expectCompensatedInOrder reports through tb when the order's timeline
// (GET /v1/orders/{id}/timeline, read as its customer) does not show
// exactly the steps compensated, in that order.
func expectCompensatedInOrder(tb testing.TB, e *scenario.Env, name string, steps ...domain.StepName) {
	tb.Helper()
	var got []domain.StepName
	for _, en := range e.Timeline(name) {
		if timeline.Kind(en.Kind) == timeline.KindStepCompensated {
			got = append(got, en.Step)
		}
	}
	if !slices.Equal(got, steps) {
		tb.Errorf("order %s (%s): steps compensated in the order %v, want %v", name, e.OrderID(name), got, steps)
	}
}
