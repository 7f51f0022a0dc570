package outcomes

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/compare/report"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/scenario"
)

// outcomeSteps builds an order's steps from step:status pairs.
func outcomeSteps(pairs ...string) []scenario.Step {
	var out []scenario.Step
	for _, p := range pairs {
		name, status, _ := strings.Cut(p, ":")
		out = append(out, scenario.Step{Step: domain.StepName(name), Status: domain.StepStatus(status)})
	}
	return out
}

// cancelOutcomeResult is a result of cancel_during_payment on target whose one
// order ended cancelled with steps.
func cancelOutcomeResult(target string, steps []scenario.Step) scenario.Result {
	return scenario.Result{Scenario: "cancel_during_payment", Target: target, Elapsed: 1500 * time.Millisecond,
		Orders: map[string]scenario.OrderResult{
			"held": {ID: "o-held", Status: domain.StatusCancelled, FailureReason: domain.ReasonCancelled, Steps: steps, Took: 900 * time.Millisecond},
		},
		Products:  map[string]scenario.ProductResult{"mug": {SKU: "mug", Initial: 5, Available: 5}},
		Customers: map[string]scenario.CustomerResult{"ada": {ID: "ada", Initial: 100, Credit: 100}},
	}
}

func TestSummarizeRun_CellCountsOrdersByStatusReasonAndStep(t *testing.T) {
	res := scenario.Result{Scenario: "payment_declined", Target: report.Orchestrated, Elapsed: 410 * time.Millisecond,
		Orders: map[string]scenario.OrderResult{
			"a": {Status: domain.StatusCompleted, Took: 200 * time.Millisecond},
			"b": {Status: domain.StatusCompleted, Took: 300 * time.Millisecond},
			"c": {Status: domain.StatusCompleted, Took: 100 * time.Millisecond},
			"d": {Status: domain.StatusFailed, FailureReason: domain.ReasonPaymentDeclined,
				Steps: outcomeSteps("inventory:compensated", "payment:failed", "shipping:skipped"), Took: 350 * time.Millisecond},
		}}
	run := summarizeRun(report.Orchestrated, res, nil)
	if want := "3 completed, 1 failed (payment_declined at payment); 0.41 s"; run.Summary != want {
		t.Errorf("cell %q, want %q", run.Summary, want)
	}
	if !run.Passed || !run.Finished || run.Orders != 4 || run.Final != 4 || run.SlowestOrder != report.Duration(350*time.Millisecond) {
		t.Errorf("run %+v: want passed, finished, 4 orders final, slowest 350 ms", run)
	}

	mixed := scenario.Result{Scenario: "concurrent_race", Target: report.Choreographed, Elapsed: 2 * time.Second,
		Orders: map[string]scenario.OrderResult{
			"1": {Status: domain.StatusCompleted},
			"2": {Status: domain.StatusFailed, FailureReason: domain.ReasonOutOfStock, Steps: outcomeSteps("inventory:failed", "payment:skipped", "shipping:skipped")},
			"3": {Status: domain.StatusFailed, FailureReason: domain.ReasonOutOfStock, Steps: outcomeSteps("inventory:failed", "payment:skipped", "shipping:skipped")},
			"4": {Status: domain.StatusFailed, FailureReason: domain.ReasonPaymentDeclined, Steps: outcomeSteps("inventory:compensated", "payment:failed", "shipping:skipped")},
			"5": {Status: domain.StatusCancelled, FailureReason: domain.ReasonCancelled, Steps: outcomeSteps("inventory:compensated", "payment:compensated", "shipping:skipped")},
		}}
	want := "1 completed, 3 failed (2 out_of_stock at inventory, 1 payment_declined at payment), 1 cancelled (inventory+payment undone); 2.00 s"
	if got := summarizeRun(report.Choreographed, mixed, nil).Summary; got != want {
		t.Errorf("cell %q, want %q", got, want)
	}

	aborted := summarizeRun(report.Orchestrated, scenario.Result{}, []string{"POST /v1/orders: connection refused\nmore"})
	if aborted.Finished || aborted.Passed || aborted.Summary != "did not finish: POST /v1/orders: connection refused" {
		t.Errorf("aborted run %+v: want not finished, not passed, the first failure in the cell", aborted)
	}
}

func TestOutcomeRow_SameStateMatches(t *testing.T) {
	steps := outcomeSteps("inventory:compensated", "payment:compensated", "shipping:skipped")
	so := &ScenarioOutcome{Scenario: "cancel_during_payment", Runs: map[string]*ScenarioRun{
		report.Orchestrated:  summarizeRun(report.Orchestrated, cancelOutcomeResult(report.Orchestrated, steps), nil),
		report.Choreographed: summarizeRun(report.Choreographed, cancelOutcomeResult(report.Choreographed, steps), nil),
	}}
	compareOutcome(context.Background(), so)
	row := outcomeRow(so)
	want := []string{"cancel_during_payment", "1 cancelled (inventory+payment undone); 1.50 s", "1 cancelled (inventory+payment undone); 1.50 s", "yes", "held on both"}
	if strings.Join(row, "|") != strings.Join(want, "|") {
		t.Errorf("row %q, want %q", row, want)
	}
	if so.Explanation != "" {
		t.Errorf("explanation %q for results that did not differ, want none", so.Explanation)
	}
}

func TestOutcomeRow_CancelMomentIsByDesign(t *testing.T) {
	so := &ScenarioOutcome{Scenario: "cancel_during_payment", Runs: map[string]*ScenarioRun{
		report.Orchestrated:  summarizeRun(report.Orchestrated, cancelOutcomeResult(report.Orchestrated, outcomeSteps("inventory:compensated", "payment:skipped", "shipping:skipped")), nil),
		report.Choreographed: summarizeRun(report.Choreographed, cancelOutcomeResult(report.Choreographed, outcomeSteps("inventory:compensated", "payment:compensated", "shipping:skipped")), nil),
	}}
	compareOutcome(context.Background(), so)
	if so.Match != "by design" || len(so.Differences) == 0 || len(so.Mismatches) != 0 {
		t.Fatalf("outcome %+v: want by design, with the logged difference and no mismatch", so)
	}
	if so.Explanation != byDesignDifferences()["cancel_during_payment"].long {
		t.Errorf("explanation %q, want the cancel's", so.Explanation)
	}
	if m := outcomeRow(so)[3]; !strings.HasPrefix(m, "by design: the cancel reached the running step at a different moment") {
		t.Errorf("match cell %q, want the by-design explanation", m)
	}
}

func TestOutcomeRow_OtherDifferenceIsAMismatch(t *testing.T) {
	a := cancelOutcomeResult(report.Orchestrated, outcomeSteps("inventory:compensated", "payment:compensated", "shipping:skipped"))
	b := cancelOutcomeResult(report.Choreographed, outcomeSteps("inventory:done", "payment:done", "shipping:done"))
	o := b.Orders["held"]
	o.Status, o.FailureReason = domain.StatusCompleted, ""
	b.Orders = map[string]scenario.OrderResult{"held": o}
	b.Products = map[string]scenario.ProductResult{"mug": {SKU: "mug", Initial: 5, Available: 3}}
	so := &ScenarioOutcome{Scenario: "cancel_during_payment", Runs: map[string]*ScenarioRun{
		report.Orchestrated:  summarizeRun(report.Orchestrated, a, nil),
		report.Choreographed: summarizeRun(report.Choreographed, b, []string{"invariant: customer ada: credit at start 100 != credit now 100 + completed totals 0"}),
	}}
	compareOutcome(context.Background(), so)
	row := outcomeRow(so)
	if so.Match != "no" || !strings.HasPrefix(row[3], "NO: scenario cancel_during_payment: orchestrated vs choreographed: order held ended") {
		t.Errorf("match %q, cell %q: want NO with the first mismatch", so.Match, row[3])
	}
	if !strings.HasPrefix(row[4], "broken on choreographed: invariant: customer ada") {
		t.Errorf("invariants cell %q, want broken on choreographed", row[4])
	}
	if so.Explanation != "" {
		t.Errorf("a mismatch got the explanation %q", so.Explanation)
	}
}

func TestOutcomeRow_RacyComparedByCount(t *testing.T) {
	race := func(target string, winner string) scenario.Result {
		r := scenario.Result{Scenario: "concurrent_race", Target: target, Racy: true, Orders: map[string]scenario.OrderResult{}}
		for _, n := range []string{"race-00", "race-01"} {
			o := scenario.OrderResult{Status: domain.StatusFailed, FailureReason: domain.ReasonOutOfStock,
				Steps: outcomeSteps("inventory:failed", "payment:skipped", "shipping:skipped")}
			if n == winner {
				o = scenario.OrderResult{Status: domain.StatusCompleted, Steps: outcomeSteps("inventory:done", "payment:done", "shipping:done")}
			}
			r.Orders[n] = o
		}
		return r
	}
	same := &ScenarioOutcome{Scenario: "concurrent_race", Runs: map[string]*ScenarioRun{
		report.Orchestrated: summarizeRun(report.Orchestrated, race(report.Orchestrated, "race-00"), nil), report.Choreographed: summarizeRun(report.Choreographed, race(report.Choreographed, "race-00"), nil)}}
	compareOutcome(context.Background(), same)
	if same.Match != "yes" || !same.Racy || !strings.Contains(outcomeMatchCell(same), "compared by count only") {
		t.Errorf("racy outcome alike: match %q cell %q, want yes, compared by count only", same.Match, outcomeMatchCell(same))
	}
	diff := &ScenarioOutcome{Scenario: "concurrent_race", Runs: map[string]*ScenarioRun{
		report.Orchestrated: summarizeRun(report.Orchestrated, race(report.Orchestrated, "race-00"), nil), report.Choreographed: summarizeRun(report.Choreographed, race(report.Choreographed, "race-01"), nil)}}
	compareOutcome(context.Background(), diff)
	if diff.Match != "by design" || len(diff.Differences) == 0 || diff.Explanation != byDesignDifferences()["concurrent_race"].long {
		t.Errorf("racy outcome differing: %+v, want by design with the logged differences and the race's explanation", diff)
	}
}

func TestExplainDifference_ByDesignLookup(t *testing.T) {
	if got := explainDifference("cancel_during_shipping", nil).long; !strings.Contains(got, "the cancel travels the chain") {
		t.Errorf("cancel_during_shipping: %q, want the cancel's explanation", got)
	}
	if got := explainDifference("happy_path", []string{"scenario happy_path: order x: the cancel reached a step at a different moment"}).short; !strings.Contains(got, "different moment") {
		t.Errorf("happy_path: %q, want the logged difference", got)
	}
	names := map[string]bool{}
	for _, sc := range scenario.Scenarios() {
		names[sc.Name] = true
	}
	for name := range byDesignDifferences() {
		if !names[name] {
			t.Errorf("byDesignDifferences explains %q, which is no scenario of the suite", name)
		}
	}
	for name := range quickLeftOut() {
		if !names[name] {
			t.Errorf("quick mode leaves out %q, which is no scenario of the suite", name)
		}
	}
}

func TestOutcomeMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := outcomeMedian(c.xs); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}

func TestGaveUpNote_OnlyForOrdersThatGaveUp(t *testing.T) {
	completed := scenario.Result{Scenario: "transient_faults_30pct", Target: report.Choreographed,
		Orders: map[string]scenario.OrderResult{"f-00": {Status: domain.StatusCompleted}}}
	gave := scenario.Result{Scenario: "transient_faults_30pct", Target: report.Orchestrated,
		Orders: map[string]scenario.OrderResult{
			"f-00": {Status: domain.StatusFailed, FailureReason: domain.ReasonStepUnavailable, Steps: outcomeSteps("inventory:compensated", "payment:failed", "shipping:skipped")},
			"f-01": {Status: domain.StatusFailed, FailureReason: domain.ReasonStepUnavailable, Steps: outcomeSteps("inventory:failed", "payment:skipped", "shipping:skipped")},
		}}
	so := &ScenarioOutcome{Scenario: "transient_faults_30pct", Runs: map[string]*ScenarioRun{
		report.Orchestrated:  summarizeRun(report.Orchestrated, gave, []string{"order f-00: status failed"}),
		report.Choreographed: summarizeRun(report.Choreographed, completed, nil),
	}}
	note := gaveUpNote(so, 4*time.Second, nil)
	if !strings.HasPrefix(note, "transient_faults_30pct: 2 orchestrated order(s) gave a step up (step_unavailable)") ||
		!strings.Contains(note, "the in-process stacks run a step deadline of 4s") {
		t.Errorf("note %q", note)
	}
	if note := gaveUpNote(so, 4*time.Second, map[string]bool{report.Orchestrated: true}); strings.Contains(note, "in-process") {
		t.Errorf("note %q on an external stack names the in-process deadline", note)
	}
	so.Runs[report.Orchestrated] = summarizeRun(report.Orchestrated, completed, nil)
	if note := gaveUpNote(so, 4*time.Second, nil); note != "" {
		t.Errorf("note %q for runs where no order gave up, want none", note)
	}
}
