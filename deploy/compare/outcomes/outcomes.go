package outcomes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/compare/report"
	"github.com/ordersaga/ordersaga/deploy/compare/section"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/scenario"
)

// QuickBurstOrders is how many orders the burst scenario places in quick
// mode (scenario.DefaultBurstOrders otherwise).
const QuickBurstOrders = 20

// outcomesReachTimeout bounds how long the outcomes section waits for a stack to
// answer GET /readyz before it reports the stack unreachable.
const outcomesReachTimeout = 15 * time.Second

// quickLeftOut returns the scenarios quick mode does not run, with why:
// each is covered in kind by one that runs.
func quickLeftOut() map[string]string {
	return map[string]string{
		"transient_faults_30pct": "the slowest scenario of the orchestrated variant, whose activities retry many times at that fault rate; " +
			"transient_faults_10pct runs the same retries at a lower rate, and full mode runs both",
	}
}

// designNote is the explanation of a by-design difference: a short form
// for the table's match cell and the whole of it for the section's notes.
type designNote struct {
	short, long string
}

// byDesignDifferences explains, by scenario name, the differences between the two
// variants' final states that follow from how each is built. An
// explanation is shown only for a scenario whose results did differ, or
// whose outcomes depend on timing (Result.Racy).
func byDesignDifferences() map[string]designNote {
	cancel := designNote{
		short: "the cancel reached the running step at a different moment (skipped on one, compensated on the other; both hold nothing)",
		long: "the workflow hears a cancel at once, even while an activity runs, and compensates that step straight away " +
			"(the late action becomes a no-op: the step ends skipped); in the choreography the cancel travels the chain " +
			"and waits behind the event the busy service is handling, so the action runs first and the step ends compensated; " +
			"both hold nothing afterwards",
	}
	return map[string]designNote{
		"cancel_during_inventory": cancel,
		"cancel_during_payment":   cancel,
		"cancel_during_shipping":  cancel,
		"concurrent_race": {
			short: "which orders win the race for stock and credit depends on timing",
			long: "40 orders race for 10 units and for a credit that pays for 3 of them: which orders win depends on " +
				"the order in which each variant's services see them (workflows on Temporal task queues, events on topic partitions), " +
				"so only the number of orders is compared; the invariants (nothing oversold or overcharged) hold on each",
		},
	}
}

// explainDifference returns the by-design explanation of a scenario's difference,
// short and long: byDesignDifferences', else the first difference the comparison
// logged.
func explainDifference(name string, loggedOnly []string) designNote {
	if n, ok := byDesignDifferences()[name]; ok {
		return n
	}
	if len(loggedOnly) > 0 {
		return designNote{short: loggedOnly[0], long: loggedOnly[0]}
	}
	return designNote{short: "its outcomes depend on timing", long: "its outcomes depend on timing"}
}

// Data is the outcomes section's detailed result (report.Section.Data).
type Data struct {
	// BurstOrders is how many orders the burst scenario placed.
	BurstOrders int `json:"burst_orders"`
	// StepDeadline is the in-process stacks' step deadline
	// (saga.Policy.StepDeadline: the default).
	StepDeadline report.Duration `json:"step_deadline"`
	// External says, by variant, that the stack was given by URL: its step
	// deadline is its own.
	External map[string]bool `json:"external,omitempty"`
	// LeftOut are the scenarios of the suite not run (quick mode), with why.
	LeftOut map[string]string `json:"left_out,omitempty"`
	// Scenarios are the scenarios run, in the suite's order.
	Scenarios []*ScenarioOutcome `json:"scenarios"`
}

// ScenarioOutcome is one scenario run on both variants and compared.
type ScenarioOutcome struct {
	Scenario string `json:"scenario"`
	// Racy says the scenario's per-order outcomes depend on timing: the
	// comparison counts its orders only.
	Racy bool `json:"racy,omitempty"`
	// Runs are the scenario's runs, by variant.
	Runs map[string]*ScenarioRun `json:"runs"`
	// Match is "yes", "by design" or "no".
	Match string `json:"match"`
	// Mismatches are the comparison's failures: the differences in final
	// state that are not by design.
	Mismatches []string `json:"mismatches,omitempty"`
	// Differences are the differences the comparison accepts and logs
	// (timing-dependent outcomes, the moment a cancel reached a step).
	Differences []string `json:"differences,omitempty"`
	// Explanation says why the variants differ by design ("" when they
	// did not differ and the scenario is not timing-dependent); Short is
	// short is its form for the table.
	Explanation string `json:"explanation,omitempty"`
	short       string
}

// ScenarioRun is one scenario's run on one variant.
type ScenarioRun struct {
	Variant string `json:"variant"`
	// Finished says the scenario ran to the end and returned its result.
	Finished bool `json:"finished"`
	// Passed says nothing was recorded as failed: the scenario's checks and
	// the invariants held.
	Passed bool `json:"passed"`
	// Failures are the recorded failures, invariants' and checks'.
	Failures []string `json:"failures,omitempty"`
	// Orders is how many orders the scenario placed; Final how many ended
	// completed, failed or cancelled.
	Orders int `json:"orders"`
	Final  int `json:"final"`
	// ByStatus counts the orders by final status.
	ByStatus map[string]int `json:"by_status"`
	// Outcomes counts the orders by outcome: status, failure reason and
	// where the saga stopped ("failed payment_declined at payment",
	// "cancelled, inventory undone").
	Outcomes map[string]int `json:"outcomes"`
	// Elapsed runs from the first order placed to the last seen final.
	Elapsed report.Duration `json:"elapsed"`
	// SlowestOrder is the longest an order took to become final.
	SlowestOrder report.Duration `json:"slowest_order"`
	// Took is the scenario's whole run: set-up, orders, quiet wait, checks.
	Took report.Duration `json:"took"`
	// Summary is the table cell: orders by outcome and elapsed.
	Summary string `json:"summary"`

	result scenario.Result
}

// Section runs every scenario of the shared suite on both variants,
// compares the final states they reach and reports where they differ.
func Section(ctx context.Context, e *section.Env) (*report.Section, error) {
	sec := &report.Section{}
	for _, v := range report.Variants() {
		if err := outcomesReachable(ctx, e.URLs[v]); err != nil {
			return sec, fmt.Errorf("the %s stack cannot be reached: %w", v, err)
		}
	}
	scs, leftOut := Scenarios(e.Quick)
	burst := scenario.DefaultBurstOrders
	if e.Quick {
		burst = QuickBurstOrders
	}
	e.Setting("outcomes: orders of the burst scenario", fmt.Sprint(burst))
	data := &Data{BurstOrders: burst, LeftOut: leftOut, StepDeadline: report.Duration(saga.DefaultStepDeadline),
		External: maps.Clone(e.External)}

	runs := map[string][]*ScenarioRun{}
	var mu sync.Mutex // runs and the progress lines
	progress := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		e.Progressf(format, args...)
	}
	var wg sync.WaitGroup
	for _, v := range report.Variants() {
		tg := scenario.Target{Name: v, BaseURL: e.URLs[v], Keys: e.Keys}
		if e.Quick {
			tg.BurstOrders = QuickBurstOrders
		}
		wg.Go(func() {
			var out []*ScenarioRun
			for _, sc := range scs {
				if ctx.Err() != nil {
					break
				}
				run := runOutcomeScenario(ctx, tg, sc)
				out = append(out, run)
				state := "passed"
				if !run.Passed {
					state = "FAILED: " + firstFailureLine(run.Failures)
				}
				progress("outcomes: %-24s %-13s %s in %s", sc.Name, v, state, run.Took)
			}
			mu.Lock()
			runs[v] = out
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return sec, fmt.Errorf("outcomes: %w", err)
	}

	for i, sc := range scs {
		so := &ScenarioOutcome{Scenario: sc.Name, Runs: map[string]*ScenarioRun{}}
		for _, v := range report.Variants() {
			so.Runs[v] = runs[v][i]
		}
		compareOutcome(ctx, so)
		data.Scenarios = append(data.Scenarios, so)
	}
	fillOutcomes(sec, data, e.Quick)
	return sec, nil
}

// Scenarios returns the scenarios to run and those left out, with
// why.
func Scenarios(quick bool) ([]scenario.Scenario, map[string]string) {
	all := scenario.Scenarios()
	if !quick {
		return all, nil
	}
	var run []scenario.Scenario
	left := map[string]string{}
	for _, sc := range all {
		if why, ok := quickLeftOut()[sc.Name]; ok {
			left[sc.Name] = why
			continue
		}
		run = append(run, sc)
	}
	return run, left
}

// outcomesReachable waits up to reachTimeout for base's GET /readyz to answer 200.
func outcomesReachable(ctx context.Context, base string) error {
	if base == "" {
		return errors.New("no URL")
	}
	ctx, cancel := context.WithTimeout(ctx, outcomesReachTimeout)
	defer cancel()
	hc := &http.Client{Timeout: 5 * time.Second}
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return fmt.Errorf("GET %s/readyz: %w", base, err)
		}
		resp, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = fmt.Errorf("GET %s/readyz: %w", base, err)
		select {
		case <-ctx.Done():
			return last
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// runOutcomeScenario runs one scenario on tg through a Recorder and summarizes
// the run.
func runOutcomeScenario(ctx context.Context, tg scenario.Target, sc scenario.Scenario) *ScenarioRun {
	var res scenario.Result
	t0 := time.Now()
	rec := section.RunRecorded(ctx, sc.Name+"/"+tg.Name, nil, func(tb testing.TB) { res = scenario.RunScenario(tb, tg, sc) })
	run := summarizeRun(tg.Name, res, rec.Failures())
	run.Took = report.Duration(time.Since(t0))
	if !run.Finished && len(run.Failures) == 0 {
		run.Failures = []string{"the scenario ended before returning its result"}
		run.Passed = false
	}
	return run
}

// summarizeRun describes one variant's run of a scenario from its Result
// (zero when the scenario did not run to the end) and its recorded
// failures.
func summarizeRun(variant string, res scenario.Result, failures []string) *ScenarioRun {
	run := &ScenarioRun{Variant: variant, Finished: res.Scenario != "", Passed: len(failures) == 0, Failures: failures,
		ByStatus: map[string]int{}, Outcomes: map[string]int{}, result: res}
	for _, o := range res.Orders {
		run.Orders++
		if o.Status.Final() {
			run.Final++
		}
		run.ByStatus[string(o.Status)]++
		run.Outcomes[orderOutcome(o)]++
	}
	run.Elapsed = report.Duration(res.Elapsed)
	run.SlowestOrder = report.Duration(res.MaxTook())
	run.Summary = outcomeRunCell(run)
	return run
}

// orderOutcome names an order's outcome: its status, and for a failed
// order its reason and the step that refused, for a cancelled one the
// steps whose effect was undone.
func orderOutcome(o scenario.OrderResult) string {
	switch o.Status {
	case domain.StatusFailed:
		s := "failed " + string(o.FailureReason)
		for _, st := range o.Steps {
			if st.Status == domain.StepFailed {
				return s + " at " + string(st.Step)
			}
		}
		return s
	case domain.StatusCancelled:
		var undone []string
		for _, st := range o.Steps {
			if st.Status == domain.StepCompensated {
				undone = append(undone, string(st.Step))
			}
		}
		if len(undone) == 0 {
			return "cancelled, nothing undone"
		}
		return "cancelled, " + strings.Join(undone, "+") + " undone"
	default:
		return string(o.Status)
	}
}

// outcomeStatusRank ranks the statuses in a cell.
func outcomeStatusRank(s string) int {
	switch domain.Status(s) {
	case domain.StatusCompleted:
		return 0
	case domain.StatusFailed:
		return 1
	case domain.StatusCancelled:
		return 2
	default:
		return 3
	}
}

// outcomeRunCell formats a run as a table cell: "3 completed, 2 failed
// (out_of_stock at inventory); 0.41 s".
func outcomeRunCell(run *ScenarioRun) string {
	if !run.Finished {
		return "did not finish: " + firstFailureLine(run.Failures)
	}
	statuses := slices.SortedFunc(maps.Keys(run.ByStatus), func(a, b string) int {
		if d := outcomeStatusRank(a) - outcomeStatusRank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, st := range statuses {
		n := run.ByStatus[st]
		var details []string
		for _, oc := range slices.Sorted(maps.Keys(run.Outcomes)) {
			rest, ok := strings.CutPrefix(oc, st)
			if !ok || rest == "" || (rest[0] != ' ' && rest[0] != ',') {
				continue
			}
			if rest = strings.TrimLeft(rest, ", "); rest == "" {
				continue
			}
			if c := run.Outcomes[oc]; c != n {
				rest = fmt.Sprintf("%d %s", c, rest)
			}
			details = append(details, rest)
		}
		p := fmt.Sprintf("%d %s", n, st)
		if len(details) > 0 {
			p += " (" + strings.Join(details, ", ") + ")"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		parts = []string{"no orders"}
	}
	return fmt.Sprintf("%s; %s", strings.Join(parts, ", "), outcomeSeconds(time.Duration(run.Elapsed)))
}

// outcomeSecs returns d in seconds, rounded to the millisecond.
func outcomeSecs(d time.Duration) float64 { return d.Round(time.Millisecond).Seconds() }

// outcomeSeconds formats a duration in seconds with two decimals.
func outcomeSeconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// firstFailureLine returns the first line of the first message, or "".
func firstFailureLine(msgs []string) string {
	if len(msgs) == 0 {
		return ""
	}
	l, _, _ := strings.Cut(strings.TrimSpace(msgs[0]), "\n")
	return l
}

// compareOutcome compares the scenario's results on the two variants with
// scenario.CompareResults and sets the outcome's match.
func compareOutcome(ctx context.Context, so *ScenarioOutcome) {
	a, b := so.Runs[report.Orchestrated], so.Runs[report.Choreographed]
	so.Racy = a.result.Racy || b.result.Racy
	if !a.Finished || !b.Finished {
		var missing []string
		for _, r := range []*ScenarioRun{a, b} {
			if !r.Finished {
				missing = append(missing, r.Variant)
			}
		}
		so.Match = "no"
		so.Mismatches = []string{"not compared: the scenario did not run to the end on " + strings.Join(missing, " and ")}
		return
	}
	rec := section.RunRecorded(ctx, "compare "+so.Scenario, nil, func(tb testing.TB) {
		scenario.CompareResults(tb, []scenario.Result{a.result}, []scenario.Result{b.result})
	})
	so.Mismatches = rec.Failures()
	so.Differences = loggedOnly(rec.Lines(), so.Mismatches)
	switch {
	case len(so.Mismatches) > 0:
		so.Match = "no"
	case len(so.Differences) > 0:
		so.Match = "by design"
	default:
		so.Match = "yes"
	}
	if so.Match != "no" && (len(so.Differences) > 0 || so.Racy) {
		n := explainDifference(so.Scenario, so.Differences)
		so.Explanation, so.short = n.long, n.short
	}
}

// loggedOnly returns the lines that are not failures, trimmed.
func loggedOnly(lines, failures []string) []string {
	left := map[string]int{}
	for _, f := range failures {
		left[strings.TrimSpace(f)]++
	}
	var out []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if left[l] > 0 {
			left[l]--
			continue
		}
		out = append(out, l)
	}
	return out
}

// outcomeMatchCell formats the match column of a scenario's row.
func outcomeMatchCell(so *ScenarioOutcome) string {
	switch so.Match {
	case "yes":
		if so.Racy {
			return "yes (compared by count only: timing-dependent)"
		}
		return "yes"
	case "by design":
		s := "by design"
		if so.Racy {
			s += " (compared by count only)"
		}
		if so.short != "" {
			s += ": " + so.short
		}
		return s
	default:
		return "NO: " + firstFailureLine(so.Mismatches)
	}
}

// outcomeInvariantsCell formats the invariants column: "held on both", or per
// variant what was broken.
func outcomeInvariantsCell(so *ScenarioOutcome) string {
	var broken []string
	for _, v := range report.Variants() {
		r := so.Runs[v]
		if r.Passed {
			continue
		}
		what := "checks failed"
		for _, f := range r.Failures {
			if strings.HasPrefix(f, "invariant:") {
				what = "broken"
				break
			}
		}
		more := ""
		if len(r.Failures) > 1 {
			more = fmt.Sprintf(" (+%d more)", len(r.Failures)-1)
		}
		broken = append(broken, fmt.Sprintf("%s on %s: %s%s", what, v, firstFailureLine(r.Failures), more))
	}
	if len(broken) == 0 {
		return "held on both"
	}
	return strings.Join(broken, "; ")
}

// outcomeRow formats a scenario's row of the outcomes table.
func outcomeRow(so *ScenarioOutcome) []string {
	return []string{so.Scenario, so.Runs[report.Orchestrated].Summary, so.Runs[report.Choreographed].Summary, outcomeMatchCell(so), outcomeInvariantsCell(so)}
}

// outcomeMedian returns the median of xs (0 when empty).
func outcomeMedian(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// fillOutcomes fills the section from the compared outcomes.
func fillOutcomes(sec *report.Section, data *Data, quick bool) {
	sec.Data = data
	n := len(data.Scenarios)
	sec.Method = fmt.Sprintf("Every scenario of the shared suite (shared/scenario: %d run here) runs on each variant through its REST API, "+
		"the scenarios of one variant one after another (fault settings are stack-wide), the two variants at the same time. "+
		"Each scenario creates its own products, customers and orders, waits until every order is final and the stack quiet, "+
		"and checks its own expectations and the saga's invariants (stock and credit adding up, nothing reserved, "+
		"every done step of a failed or cancelled order compensated, every order final within %s). "+
		"The two variants' final states are then compared with scenario.CompareResults: the same orders with the same status, "+
		"failure reason and steps, the same change of every product's stock and customer's credit; timing-dependent scenarios "+
		"by order count only. Elapsed runs from the first order placed to the last seen final; the burst places %d orders.",
		n, scenario.DefaultFinalWithin, data.BurstOrders)

	tbl := report.Table{Title: "Final state of every scenario on both variants",
		Columns: []string{"scenario", report.Orchestrated, report.Choreographed, "match", "invariants"}}
	chart := report.Chart{Title: "Scenario elapsed time (first order placed to last final)", Unit: "s", LowerIsBetter: true}
	mismatches, byDesignCount := 0, 0
	var mismatchLines []string
	for _, so := range data.Scenarios {
		tbl.Rows = append(tbl.Rows, outcomeRow(so))
		g := report.BarGroup{Label: so.Scenario}
		for _, v := range report.Variants() {
			r := so.Runs[v]
			g.Bars = append(g.Bars, report.Bar{Series: v, Value: outcomeSecs(time.Duration(r.Elapsed))})
			sec.Add(v, "elapsed: "+so.Scenario, outcomeSecs(time.Duration(r.Elapsed)), "s", "first order placed to last seen final")
		}
		chart.Groups = append(chart.Groups, g)
		switch so.Match {
		case "no":
			mismatches++
			mismatchLines = append(mismatchLines, fmt.Sprintf("%s ended differently: %s", so.Scenario, firstFailureLine(so.Mismatches)))
		case "by design":
			byDesignCount++
		}
		if note := gaveUpNote(so, time.Duration(data.StepDeadline), data.External); note != "" {
			sec.Notes = append(sec.Notes, note)
		}
		if so.Explanation != "" {
			note := fmt.Sprintf("%s differs by design: %s.", so.Scenario, so.Explanation)
			if so.Racy {
				note = fmt.Sprintf("%s is timing-dependent and compared by order count only: %s.", so.Scenario, so.Explanation)
			}
			sec.Notes = append(sec.Notes, note)
		}
	}
	tbl.Notes = append(tbl.Notes, "Each cell: orders by final status (failed: reason and the step that refused; cancelled: "+
		"the steps whose effect was undone), then the scenario's elapsed time.")
	sec.Tables = append(sec.Tables, tbl)
	sec.Charts = append(sec.Charts, chart)

	for _, v := range report.Variants() {
		ran, passed, orders, final := 0, 0, 0, 0
		var elapsed []float64
		var slowestOrder, slowestScenario, took time.Duration
		byStatus := map[string]int{}
		var failedOn []string
		for _, so := range data.Scenarios {
			r := so.Runs[v]
			ran++
			if r.Passed {
				passed++
			} else {
				failedOn = append(failedOn, so.Scenario)
			}
			orders += r.Orders
			final += r.Final
			for st, c := range r.ByStatus {
				byStatus[st] += c
			}
			elapsed = append(elapsed, outcomeSecs(time.Duration(r.Elapsed)))
			slowestScenario = max(slowestScenario, time.Duration(r.Elapsed))
			slowestOrder = max(slowestOrder, time.Duration(r.SlowestOrder))
			took += time.Duration(r.Took)
		}
		sec.Add(v, "scenarios run", float64(ran), "scenarios", "")
		sec.Add(v, "scenarios passed", float64(passed), "scenarios", "no recorded failure: the scenario's checks and the invariants held")
		sec.Add(v, "orders placed", float64(orders), "orders", "")
		sec.Add(v, "orders final", float64(final), "orders", "completed, failed or cancelled once the stack was quiet")
		for _, st := range []domain.Status{domain.StatusCompleted, domain.StatusFailed, domain.StatusCancelled} {
			sec.Add(v, "orders "+string(st), float64(byStatus[string(st)]), "orders", "")
		}
		sec.Add(v, "median scenario time", outcomeMedian(elapsed), "s", "first order placed to last seen final, median over the scenarios")
		sec.Add(v, "slowest scenario time", outcomeSecs(slowestScenario), "s", "first order placed to last seen final")
		sec.Add(v, "slowest order", float64(slowestOrder.Microseconds())/1000, "ms", "placed to first seen final, over every scenario")
		sec.Add(v, "scenario runs, whole time", outcomeSecs(took), "s", "set-up, orders, quiet wait and checks of every scenario, one after another")
		if passed == ran {
			sec.Summary = append(sec.Summary, fmt.Sprintf("%s: all %d scenarios passed (checks and invariants held), %d orders, the slowest final in %d ms",
				v, ran, orders, slowestOrder.Milliseconds()))
		} else {
			sec.Summary = append(sec.Summary, fmt.Sprintf("%s: %d of %d scenarios passed; failed: %s", v, passed, ran, strings.Join(failedOn, ", ")))
		}
	}
	sec.Add("", "mismatches", float64(mismatches), "scenarios", "scenarios whose final states differ beyond what is by design (scenario.CompareResults failures)")
	sec.Add("", "differences by design", float64(byDesignCount), "scenarios", "scenarios whose final states differ only as the design makes them (logged, not failed)")

	if mismatches == 0 {
		line := fmt.Sprintf("all %d scenarios ended in the same final state on both variants", n)
		if byDesignCount > 0 {
			line += fmt.Sprintf(" (%d of them only up to a difference by design, noted below)", byDesignCount)
		}
		sec.Summary = append([]string{line}, sec.Summary...)
	} else {
		sec.Summary = append([]string{fmt.Sprintf("%d of %d scenarios ended in a different final state on the two variants", mismatches, n)},
			append(mismatchLines, sec.Summary...)...)
	}
	if quick {
		for _, name := range slices.Sorted(maps.Keys(data.LeftOut)) {
			sec.Notes = append(sec.Notes, fmt.Sprintf("Quick mode left out %s (%s).", name, data.LeftOut[name]))
		}
		sec.Notes = append(sec.Notes, fmt.Sprintf("Quick mode ran the burst with %d orders instead of %d.", data.BurstOrders, scenario.DefaultBurstOrders))
	}
}

// gaveUpNote explains, for a scenario that failed on a variant with
// orders that gave a step up (domain.ReasonStepUnavailable), that they hit
// the step deadline; "" when none did. deadline is the in-process stacks'
// step deadline; external says which variants are not in-process.
func gaveUpNote(so *ScenarioOutcome, deadline time.Duration, external map[string]bool) string {
	var parts []string
	inProcess := false
	for _, v := range report.Variants() {
		r := so.Runs[v]
		if r.Passed {
			continue
		}
		if n := gaveUpOrders(r); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s order(s)", n, v))
			inProcess = inProcess || !external[v]
		}
	}
	if len(parts) == 0 {
		return ""
	}
	note := fmt.Sprintf("%s: %s gave a step up (%s): it kept failing past the step deadline, and the saga compensated as the failure model says. "+
		"The suite expects transient faults never to fail an order, which holds when the deadline is far past any run of faults (the default is %s)",
		so.Scenario, strings.Join(parts, " and "), domain.ReasonStepUnavailable, saga.DefaultStepDeadline)
	if inProcess && deadline > 0 && deadline != saga.DefaultStepDeadline {
		note += fmt.Sprintf("; the in-process stacks run a step deadline of %s", deadline)
	}
	return note + "."
}

// gaveUpOrders counts a run's orders that gave a step up, whichever step it
// was.
func gaveUpOrders(r *ScenarioRun) int {
	n := 0
	for oc, c := range r.Outcomes {
		if strings.HasPrefix(oc, "failed "+string(domain.ReasonStepUnavailable)) {
			n += c
		}
	}
	return n
}
