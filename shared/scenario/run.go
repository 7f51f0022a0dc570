package scenario

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// RunScenario runs one scenario on tg, then checks the invariants on its
// Result, reporting through tb, and returns the Result.
func RunScenario(tb testing.TB, tg Target, sc Scenario) Result {
	tb.Helper()
	tg = tg.withDefaults()
	r := sc.Run(tb, newEnv(tb, tg, sc.Name))
	CheckInvariants(tb, r)
	return r
}

// Run runs every scenario on tg as a subtest, one after another, checking
// the invariants after each, logs a table of the results and returns the
// Results of the scenarios that ran to the end (for CompareResults).
func Run(t *testing.T, tg Target) []Result {
	t.Helper()
	return RunScenarios(t, tg, Scenarios())
}

// RunScenarios is Run with the scenarios given: the suite's, or a new
// feature's (see package loyaltytest).
func RunScenarios(t *testing.T, tg Target, scs []Scenario) []Result {
	t.Helper()
	tg = tg.withDefaults()
	var out []Result
	for _, sc := range scs {
		t.Run(sc.Name, func(t *testing.T) {
			out = append(out, RunScenario(t, tg, sc))
		})
	}
	t.Logf("scenario results on %s:\n%s", tg.Name, Table(out...))
	return out
}

// Compare runs every scenario on a, then on b, and reports where the two
// stacks ended in a different final state (see CompareResults). It logs a
// table of both runs' results.
func Compare(t *testing.T, a, b Target) {
	t.Helper()
	CompareScenarios(t, a, b, Scenarios())
}

// CompareScenarios is Compare with the scenarios given (FailureScenarios,
// say).
func CompareScenarios(t *testing.T, a, b Target, scs []Scenario) {
	t.Helper()
	a, b = a.withDefaults(), b.withDefaults()
	var all []Result
	for _, sc := range scs {
		t.Run(sc.Name, func(t *testing.T) {
			var ra, rb Result
			okA := t.Run(a.Name, func(t *testing.T) { ra = RunScenario(t, a, sc) })
			okB := t.Run(b.Name, func(t *testing.T) { rb = RunScenario(t, b, sc) })
			if ra.Scenario == "" || rb.Scenario == "" {
				t.Fatalf("the scenario did not run to the end on both stacks (%s passed: %v, %s passed: %v)", a.Name, okA, b.Name, okB)
			}
			all = append(all, ra, rb)
			compareResult(t, ra, rb)
		})
	}
	t.Logf("scenario results:\n%s", Table(all...))
}

// CompareResults reports through tb where two runs of the suite (Run's
// results on two stacks) ended in a different final state: for every
// scenario both ran, the same orders with the same status, failure reason
// and steps, and the same change of every product's stock and every
// customer's credit. Scenarios whose outcomes depend on timing (Racy) are
// compared by order count only; their other differences are logged.
func CompareResults(tb testing.TB, as, bs []Result) {
	tb.Helper()
	byName := func(rs []Result) map[string]Result {
		m := make(map[string]Result, len(rs))
		for _, r := range rs {
			m[r.Scenario] = r
		}
		return m
	}
	ma, mb := byName(as), byName(bs)
	for _, name := range slices.Sorted(maps.Keys(ma)) {
		rb, ok := mb[name]
		if !ok {
			tb.Errorf("scenario %s: no result from the second stack", name)
			continue
		}
		compareResult(tb, ma[name], rb)
	}
	for _, name := range slices.Sorted(maps.Keys(mb)) {
		if _, ok := ma[name]; !ok {
			tb.Errorf("scenario %s: no result from the first stack", name)
		}
	}
}

// compareResult reports where two results of one scenario differ.
func compareResult(tb testing.TB, a, b Result) {
	tb.Helper()
	diff := func(format string, args ...any) {
		tb.Helper()
		msg := fmt.Sprintf("scenario %s: %s vs %s: ", a.Scenario, a.Target, b.Target) + fmt.Sprintf(format, args...)
		if a.Racy || b.Racy {
			tb.Log(msg + " (timing-dependent: not a failure)")
			return
		}
		tb.Error(msg)
	}
	if len(a.Orders) != len(b.Orders) {
		tb.Errorf("scenario %s: %s has %d orders, %s has %d", a.Scenario, a.Target, len(a.Orders), b.Target, len(b.Orders))
	}
	for _, name := range a.OrderNames() {
		oa := a.Orders[name]
		ob, ok := b.Orders[name]
		if !ok {
			tb.Errorf("scenario %s: order %s only on %s", a.Scenario, name, a.Target)
			continue
		}
		switch {
		case oa.Status != ob.Status || oa.FailureReason != ob.FailureReason || !slices.EqualFunc(oa.Steps, ob.Steps, sameOutcome):
			diff("order %s ended %q %q %v vs %q %q %v", name,
				oa.Status, oa.FailureReason, oa.Steps, ob.Status, ob.FailureReason, ob.Steps)
		case !slices.Equal(oa.Steps, ob.Steps):
			tb.Logf("scenario %s: order %s: the cancel reached a step at a different moment: %s %v vs %s %v (both hold nothing)",
				a.Scenario, name, a.Target, oa.Steps, b.Target, ob.Steps)
		}
	}
	for _, name := range b.OrderNames() {
		if _, ok := a.Orders[name]; !ok {
			tb.Errorf("scenario %s: order %s only on %s", a.Scenario, name, b.Target)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(a.Products)) {
		pb, ok := b.Products[name]
		if da, db := a.Products[name].StockDelta(), pb.StockDelta(); !ok || da != db {
			diff("product %s stock changed by %d vs %d (present on both: %v)", name, da, db, ok)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(a.Customers)) {
		cb, ok := b.Customers[name]
		if da, db := a.Customers[name].CreditDelta(), cb.CreditDelta(); !ok || da != db {
			diff("customer %s credit changed by %d vs %d (present on both: %v)", name, da, db, ok)
		}
	}
}

// Table formats results as a text table: scenario, stack, orders by final
// status, time from the first order placed to the last final, and the
// slowest order.
func Table(rs ...Result) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "scenario\tstack\torders\tcompleted\tfailed\tcancelled\telapsed\tslowest order")
	for _, r := range rs {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%v\t%v\n", r.Scenario, r.Target, len(r.Orders),
			r.Count(domain.StatusCompleted), r.Count(domain.StatusFailed), r.Count(domain.StatusCancelled),
			r.Elapsed.Round(time.Millisecond), r.MaxTook().Round(time.Millisecond))
	}
	_ = w.Flush() // writes to a strings.Builder, which cannot fail
	return b.String()
}

// sameOutcome reports whether two steps ended alike. A step "skipped" on one
// stack and "compensated" on the other ended alike: both hold nothing, and
// which of the two a cancelled order shows depends only on whether the
// cancel reached the step before or after its action ran — the moment at
// which each variant's cancel reaches a running step, which the suite
// reports but does not require to match.
func sameOutcome(a, b Step) bool {
	if a == b {
		return true
	}
	undone := func(s domain.StepStatus) bool { return s == domain.StepSkipped || s == domain.StepCompensated }
	return a.Step == b.Step && undone(a.Status) && undone(b.Status)
}
