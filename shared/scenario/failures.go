package scenario

import (
	"net/http"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// FailureScenarios returns the scenarios of the failure model (saga.Policy,
// README "Failure model"): a service failing every call for longer than
// the quick retries but less than the step deadline, then recovering, with
// orders at its action and at its compensation; a service failing past the
// step deadline; and a cancel sent while a failed order is compensating.
// They need a target that runs with a short step deadline
// (Target.StepDeadline, a few seconds) and fault injection, and take about
// twice the deadline each.
func FailureScenarios() []Scenario {
	var out []Scenario
	for _, svc := range []domain.StepName{domain.StepInventory, domain.StepPayment, domain.StepShipping} {
		out = append(out, Scenario{"outage_recovers_" + string(svc), outageRecovers(svc)})
	}
	out = append(out, Scenario{"outage_during_compensation_recovers", outageDuringCompensation},
		Scenario{"outage_during_cancel_recovers", outageDuringCancel})
	for _, svc := range []domain.StepName{domain.StepInventory, domain.StepPayment, domain.StepShipping} {
		out = append(out, Scenario{"outage_past_deadline_" + string(svc), outagePastDeadline(svc)})
	}
	out = append(out, Scenario{"cancel_while_failing_is_refused", cancelWhileFailing})
	return out
}

// shortOutage is how long a service fails in the scenarios that expect it
// to recover before the step deadline: half of it.
func (e *Env) shortOutage() time.Duration { return e.tg.StepDeadline / 2 }

// outageRecovers returns the scenario in which every call of svc fails for
// half the step deadline while an order waits on it; once the service is
// back the order completes, nothing lost or doubled.
func outageRecovers(svc domain.StepName) func(testing.TB, *Env) Result {
	return func(tb testing.TB, e *Env) Result {
		tb.Helper()
		mug := e.Product("mug", 700, 5)
		ada := e.Customer("ada", 10_000)
		e.SetFaults(Faults{string(svc): {ErrorRate: 1}})
		e.Place("waits", e.Request("waits", ada, "DE", Line{mug, 2}))
		time.Sleep(e.shortOutage())
		o := e.Get("waits")
		if o.Status.Final() {
			tb.Errorf("order ended %s while %s failed every call: want it to wait for the service", o.Status, svc)
		}
		if r := o.retrying(svc); r == nil || r.Work != "action" || r.Attempts < 1 || r.LastError == "" {
			tb.Errorf("order while %s fails: step %s shows retrying %+v, want its action with attempts and the last error (steps %+v)", svc, svc, r, o.Steps)
		}
		if !e.timelineShows("waits", "step_retrying", svc) {
			tb.Errorf("the timeline of the order while %s fails has no step_retrying entry for it", svc)
		}
		e.ResetFaults()
		res := e.Finish()
		ExpectOrder(tb, res, "waits", WantCompleted())
		ExpectStock(tb, res, "mug", -2)
		ExpectCredit(tb, res, "ada", -1400)
		return res
	}
}

// outageDuringCompensation is the scenario in which the payment and
// inventory services fail every call while an order's shipping refusal
// asks them to compensate: the compensations wait for the services and
// finish by themselves once they are back.
func outageDuringCompensation(tb testing.TB, e *Env) Result {
	tb.Helper()
	mug := e.Product("mug", 700, 5)
	ada := e.Customer("ada", 10_000)
	e.SetFaults(Faults{string(domain.StepShipping): {LatencyMS: e.shortOutage().Milliseconds() / 2}})
	e.Place("undo", e.Request("undo", ada, "AQ", Line{mug, 2}))
	e.WaitStep("undo", domain.StepPayment, domain.StepDone)
	e.SetFaults(Faults{
		string(domain.StepInventory): {ErrorRate: 1},
		string(domain.StepPayment):   {ErrorRate: 1},
	})
	e.WaitStep("undo", domain.StepShipping, domain.StepFailed)
	time.Sleep(e.shortOutage())
	o := e.Get("undo")
	if o.Status.Final() {
		tb.Errorf("order ended %s while its compensations could not run", o.Status)
	}
	if r := o.retrying(domain.StepPayment); r == nil || r.Work != "compensation" || r.Attempts < 1 {
		tb.Errorf("order while payment fails: its payment step shows retrying %+v, want its compensation (steps %+v)", r, o.Steps)
	}
	e.ResetFaults()
	res := e.Finish()
	ExpectOrder(tb, res, "undo", wantShippingUnavailable)
	ExpectStock(tb, res, "mug", 0)
	ExpectCredit(tb, res, "ada", 0)
	return res
}

// outageDuringCancel is the scenario in which the shipping service fails
// every call while an order waiting on it is cancelled: the shipment's
// compensation waits for the service, and the order ends cancelled with
// every step undone once it is back.
func outageDuringCancel(tb testing.TB, e *Env) Result {
	tb.Helper()
	mug := e.Product("mug", 700, 5)
	ada := e.Customer("ada", 10_000)
	e.SetFaults(Faults{string(domain.StepShipping): {ErrorRate: 1}})
	e.Place("cancel", e.Request("cancel", ada, "DE", Line{mug, 2}))
	e.WaitStep("cancel", domain.StepPayment, domain.StepDone)
	if r := e.Cancel("cancel"); r.Status != http.StatusAccepted {
		tb.Fatalf("cancel while the shipping step runs: %v, want 202", r)
	}
	time.Sleep(e.shortOutage())
	if o := e.Get("cancel"); o.Status.Final() {
		tb.Errorf("order ended %s while its shipment could not be cancelled", o.Status)
	}
	e.ResetFaults()
	res := e.Finish()
	ExpectOrder(tb, res, "cancel", WantCancelledAt(domain.StepShipping))
	ExpectStock(tb, res, "mug", 0)
	ExpectCredit(tb, res, "ada", 0)
	return res
}

// outagePastDeadline returns the scenario in which every call of svc fails
// for longer than the step deadline: the step fails with step_unavailable
// and every effect is undone once the service is back.
func outagePastDeadline(svc domain.StepName) func(testing.TB, *Env) Result {
	return func(tb testing.TB, e *Env) Result {
		tb.Helper()
		mug := e.Product("mug", 700, 5)
		ada := e.Customer("ada", 10_000)
		e.SetFaults(Faults{string(svc): {ErrorRate: 1}})
		e.Place("late", e.Request("late", ada, "DE", Line{mug, 2}))
		time.Sleep(e.tg.StepDeadline + e.shortOutage())
		e.ResetFaults()
		res := e.Finish()
		ExpectOrder(tb, res, "late", WantRefused(svc, domain.ReasonStepUnavailable))
		ExpectStock(tb, res, "mug", 0)
		ExpectCredit(tb, res, "ada", 0)
		return res
	}
}

// cancelWhileFailing is the scenario in which a cancel arrives while an
// order undoes its steps after a refusal: it is refused with 409 and the
// order keeps its failure reason.
func cancelWhileFailing(tb testing.TB, e *Env) Result {
	tb.Helper()
	mug := e.Product("mug", 700, 5)
	ada := e.Customer("ada", 10_000)
	e.SetFaults(Faults{string(domain.StepPayment): {LatencyMS: e.shortOutage().Milliseconds()}})
	e.Place("failing", e.Request("failing", ada, "AQ", Line{mug, 1}))
	e.WaitStep("failing", domain.StepShipping, domain.StepFailed)
	if r := e.Cancel("failing"); r.Status != http.StatusConflict {
		tb.Errorf("cancel of an order undoing its steps after a refusal: %v, want 409", r)
	}
	e.ResetFaults()
	res := e.Finish()
	ExpectOrder(tb, res, "failing", wantShippingUnavailable)
	ExpectStock(tb, res, "mug", 0)
	ExpectCredit(tb, res, "ada", 0)
	return res
}

// RejectedScenario returns the scenario of invalid data found mid-saga: a
// product priced before the API's limits existed (setPrice writes the
// price straight into the inventory database, as old data would be) makes
// an order's total overflow; the inventory step fails at once with
// rejected, without retries, and nothing is held or charged.
func RejectedScenario(setPrice func(tb testing.TB, sku string, cents domain.Cents)) Scenario {
	return Scenario{Name: "invalid_data_is_rejected", Run: func(tb testing.TB, e *Env) Result {
		tb.Helper()
		gold := e.Product("gold", 1, 5)
		ada := e.Customer("ada", 10_000)
		setPrice(tb, gold, domain.Cents(1)<<62)
		e.Place("overflow", e.Request("overflow", ada, "DE", Line{gold, 2}))
		res := e.Finish()
		ExpectOrder(tb, res, "overflow", WantRefused(domain.StepInventory, domain.ReasonRejected))
		ExpectStock(tb, res, "gold", 0)
		ExpectCredit(tb, res, "ada", 0)
		if o := res.Orders["overflow"]; o.Took > e.tg.StepDeadline {
			tb.Errorf("the rejected order took %v, longer than the step deadline %v: it was retried", o.Took, e.tg.StepDeadline)
		}
		return res
	}}
}

// timelineShows reports whether the timeline of the tracked order name
// has an entry of kind for step.
func (e *Env) timelineShows(name, kind string, step domain.StepName) bool {
	e.tb.Helper()
	for _, en := range e.Timeline(name) {
		if en.Kind == kind && en.Step == step {
			return true
		}
	}
	return false
}
