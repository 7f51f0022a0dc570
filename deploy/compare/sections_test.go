package compare

import (
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/deploy/bench"
	"github.com/ordersaga/ordersaga/deploy/compare/cost"
	"github.com/ordersaga/ordersaga/deploy/compare/failure"
	"github.com/ordersaga/ordersaga/deploy/compare/outcomes"
	"github.com/ordersaga/ordersaga/deploy/compare/report"
	"github.com/ordersaga/ordersaga/deploy/compare/speed"
)

// checkOutcomesSection checks the outcomes section of a quick run: both
// variants measured, every scenario passed on both, and the two ended alike
// or differ by design, with the explanation.
func checkOutcomesSection(t *testing.T, sec *report.Section, progress string) {
	t.Helper()
	if sec == nil || sec.Error != "" {
		t.Fatalf("outcomes section %+v", sec)
	}
	t.Logf("outcomes took %s", sec.Took)
	data, ok := sec.Data.(*outcomes.Data)
	if !ok {
		t.Fatalf("section data is %T, want *outcomes.Data", sec.Data)
	}
	want, _ := outcomes.Scenarios(true)
	if len(data.Scenarios) != len(want) {
		t.Errorf("%d scenarios compared, want %d", len(data.Scenarios), len(want))
	}
	for _, v := range report.Variants() {
		figs := map[string]report.Figure{}
		for _, f := range sec.FiguresOf(v) {
			if !f.Valid() || f.Unit == "" {
				t.Errorf("%s figure %+v: want a number with a unit", v, f)
			}
			figs[f.Name] = f
		}
		for _, name := range []string{"scenarios run", "scenarios passed", "orders placed", "orders final", "median scenario time", "slowest scenario time", "slowest order"} {
			if _, ok := figs[name]; !ok {
				t.Errorf("%s has no figure %q", v, name)
			}
		}
		if figs["scenarios run"].Value != float64(len(want)) || figs["scenarios passed"].Value != figs["scenarios run"].Value {
			t.Errorf("%s: %v of %v scenarios passed, want all %d", v, figs["scenarios passed"].Value, figs["scenarios run"].Value, len(want))
		}
		if figs["orders placed"].Value < float64(outcomes.QuickBurstOrders) || figs["orders final"].Value != figs["orders placed"].Value {
			t.Errorf("%s: %v orders placed, %v final: want every order final", v, figs["orders placed"].Value, figs["orders final"].Value)
		}
		if figs["slowest order"].Value <= 0 || figs["slowest scenario time"].Value <= 0 {
			t.Errorf("%s: slowest order %v ms, slowest scenario %v s: want measured times", v, figs["slowest order"].Value, figs["slowest scenario time"].Value)
		}
	}
	for _, so := range data.Scenarios {
		for _, v := range report.Variants() {
			if r := so.Runs[v]; !r.Passed {
				t.Errorf("%s on %s failed: %q", so.Scenario, v, r.Failures)
			}
		}
		switch so.Match {
		case "yes":
		case "by design":
			if so.Explanation == "" && !so.Racy {
				t.Errorf("%s differs by design without an explanation: %q", so.Scenario, so.Differences)
			}
		default:
			t.Errorf("%s ended differently on the two variants: %q", so.Scenario, so.Mismatches)
		}
	}
	if len(sec.Tables) != 1 || len(sec.Tables[0].Rows) != len(data.Scenarios) || len(sec.Charts) != 1 {
		t.Errorf("want one table with a row per scenario and one chart: %d tables, %d charts", len(sec.Tables), len(sec.Charts))
	}
	if !strings.Contains(progress, "outcomes: burst") {
		t.Errorf("no progress line for the burst: %s", progress)
	}
}

// checkSpeedSection checks the speed section of a quick run: figures for
// both variants and both ceilings.
func checkSpeedSection(t *testing.T, sec *report.Section) {
	t.Helper()
	if sec == nil {
		t.Fatal("no speed section")
	}
	t.Logf("speed section took %s", sec.Took)
	for _, tb := range sec.Tables {
		t.Logf("%s: %v", tb.Title, tb.Columns)
		for _, r := range tb.Rows {
			t.Logf("  %v", r)
		}
	}
	for _, l := range sec.Summary {
		t.Logf("summary: %s", l)
	}
	if sec.Error != "" {
		t.Errorf("section error: %s", sec.Error)
	}
	for _, f := range sec.Figures {
		if !f.Valid() {
			t.Errorf("figure %+v is not a number", f)
		}
	}
	for _, v := range report.Variants() {
		for _, n := range []int{1, 8} {
			if f := figureNamed(t, sec, v, "throughput, "+speed.Clients(n)); !(f.Value > 0) {
				t.Errorf("%s throughput at %d clients = %v, want > 0", v, n, f.Value)
			}
			if f := figureNamed(t, sec, v, "p99 latency, "+speed.Clients(n)); !(f.Value > 0) {
				t.Errorf("%s p99 at %d clients = %v, want > 0", v, n, f.Value)
			}
		}
		if f := figureNamed(t, sec, v, "throughput per calibration, 8 clients"); !(f.Value > 0) {
			t.Errorf("%s throughput per calibration = %v, want > 0", v, f.Value)
		}
	}
	for _, name := range []string{"Temporal no-op ceiling, 8 clients", "Kafka no-op ceiling, 8 clients", "calibration, 1 client"} {
		if f := figureNamed(t, sec, "", name); !(f.Value > 0) {
			t.Errorf("%s = %v, want > 0", name, f.Value)
		}
	}
	if _, ok := sec.Data.(bench.Report); !ok {
		t.Errorf("section data is %T, want bench.Report", sec.Data)
	}
}

// figureNamed returns the section's figure of the variant and name.
func figureNamed(t *testing.T, sec *report.Section, variant, name string) report.Figure {
	t.Helper()
	for _, f := range sec.Figures {
		if f.Variant == variant && f.Name == name {
			return f
		}
	}
	t.Fatalf("no figure %q of %q; figures: %+v", name, variant, sec.Figures)
	return report.Figure{}
}

// costFigure returns the section's figure of variant named
// name, and whether there is one.
func costFigure(sec *report.Section, variant, name string) (report.Figure, bool) {
	for _, f := range sec.FiguresOf(variant) {
		if f.Name == name {
			return f, true
		}
	}
	return report.Figure{}, false
}

// checkCostSection checks the cost section of a quick run on SQLite: for
// both variants the CPU, the service databases' commits and the stored
// bytes of an order, the choreographed variant's Kafka messages and the
// orchestrated variant's Temporal history.
func checkCostSection(t *testing.T, sec *report.Section) {
	t.Helper()
	if sec == nil {
		t.Fatal("no cost section")
	}
	if sec.Error != "" {
		t.Fatalf("cost section failed: %s", sec.Error)
	}
	for _, f := range sec.Figures {
		if !f.Valid() || f.Unit == "" {
			t.Errorf("figure %+v: not a number or no unit", f)
		}
	}
	positive := map[string][]string{
		report.Orchestrated:  {"CPU", "service database commits", "stored bytes", "stored bytes with the framework's store", "Temporal history events", "Temporal history bytes"},
		report.Choreographed: {"CPU", "service database commits", "stored bytes", "stored bytes with the framework's store", "Kafka messages", "Kafka bytes"},
	}
	for v, names := range positive {
		for _, name := range names {
			f, ok := costFigure(sec, v, name)
			if !ok {
				t.Errorf("%s: no figure %q", v, name)
				continue
			}
			if f.Value <= 0 {
				t.Errorf("%s: %s = %v %s, want more than 0", v, name, f.Value, f.Unit)
			}
			t.Logf("%s: %s = %v %s", v, name, f.Value, f.Unit)
		}
	}
	// A variant has no figure of the other's framework.
	if _, ok := costFigure(sec, report.Orchestrated, "Kafka messages"); ok {
		t.Error("the orchestrated variant has a Kafka messages figure")
	}
	if _, ok := costFigure(sec, report.Choreographed, "Temporal history events"); ok {
		t.Error("the choreographed variant has a Temporal history figure")
	}
	// Every order of the normal mix is several steps, each writing its
	// service's database: more than one commit per order on either variant.
	for _, v := range report.Variants() {
		if f, _ := costFigure(sec, v, "service database commits"); f.Value < 3 {
			t.Errorf("%s: %v commits per order; an order commits in the order, inventory, payment and shipping databases", v, f.Value)
		}
	}
	data, ok := sec.Data.(map[string]*cost.Result)
	if !ok {
		t.Fatalf("section data is %T", sec.Data)
	}
	for _, v := range report.Variants() {
		r := data[v]
		if r == nil {
			t.Fatalf("%s: no result", v)
		}
		if r.Outcome.Completed+r.Outcome.Failed != r.Orders || r.Outcome.Completed == 0 {
			t.Errorf("%s: %d orders, %+v", v, r.Orders, r.Outcome)
		}
	}
	if len(sec.Tables) == 0 || len(sec.Charts) == 0 || sec.Method == "" || len(sec.Summary) == 0 {
		t.Errorf("section lacks tables (%d), charts (%d), method or summary", len(sec.Tables), len(sec.Charts))
	}
	if !strings.Contains(strings.Join(sec.Notes, "\n"), "Temporal server's persistence commits are not counted") {
		t.Errorf("notes do not say what SQLite does not count: %v", sec.Notes)
	}
	t.Logf("took %v", sec.Took)
}

// checkFailureSection checks the failure section of a quick run: both
// variants compensate every failure kind, recover from the crash and the
// outage, and lose or double no order.
func checkFailureSection(t *testing.T, sec *report.Section) {
	t.Helper()
	if sec == nil {
		t.Fatal("no failure section in the report")
	}
	logFailureSection(t, sec)
	if sec.Error != "" {
		t.Errorf("the section failed: %s", sec.Error)
	}
	for _, v := range report.Variants() {
		got := map[string]float64{}
		for _, f := range sec.FiguresOf(v) {
			if !f.Valid() {
				t.Errorf("%s: figure %q is %v", v, f.Name, f.Value)
			}
			got[f.Name] = f.Value
		}
		for _, k := range failure.Kinds() {
			for _, stat := range []string{"median", "max"} {
				name := "compensation time, " + k.Label + ", " + stat
				if val, ok := got[name]; !ok || val <= 0 {
					t.Errorf("%s: %q = %v (present: %v), want a time above 0", v, name, val, ok)
				}
			}
		}
		for _, key := range []string{"kill_payment", "infra_outage"} {
			name := failure.DisruptionLabel(key)
			if val, ok := got[name+": every order final after the strike"]; !ok || val <= 0 {
				t.Errorf("%s: recovery time of %s = %v (present: %v), want above 0", v, name, val, ok)
			}
			for _, what := range []string{"orders lost", "orders doubled"} {
				if val, ok := got[name+": "+what]; !ok || val != 0 {
					t.Errorf("%s: %s: %s = %v (present: %v), want 0", v, name, what, val, ok)
				}
			}
		}
		if val, ok := got[failure.QuickLongFault+": ended as designed"]; !ok || val != 1 {
			t.Errorf("%s: %s ended as designed = %v (present: %v), want 1", v, failure.QuickLongFault, val, ok)
		}
		if val, ok := got[failure.QuickLongFault+": time to final"]; !ok || val <= 0 {
			t.Errorf("%s: %s time to final = %v (present: %v), want above 0", v, failure.QuickLongFault, val, ok)
		}
	}
	if len(sec.Tables) != 3 || len(sec.Charts) != 2 || sec.Method == "" || len(sec.Summary) == 0 {
		t.Errorf("the section has %d tables, %d charts, method %q, %d summary lines: want 3 tables, 2 charts, a method and a summary",
			len(sec.Tables), len(sec.Charts), sec.Method, len(sec.Summary))
	}
}

// logFailureSection logs the section's tables, summary and notes.
func logFailureSection(t *testing.T, sec *report.Section) {
	t.Helper()
	var b strings.Builder
	for _, tb := range sec.Tables {
		b.WriteString(tb.Title + "\n  " + strings.Join(tb.Columns, " | ") + "\n")
		for _, r := range tb.Rows {
			b.WriteString("  " + strings.Join(r, " | ") + "\n")
		}
	}
	for _, s := range sec.Summary {
		b.WriteString("- " + s + "\n")
	}
	for _, n := range sec.Notes {
		b.WriteString("note: " + n + "\n")
	}
	t.Logf("failure section (took %v):\n%s", sec.Took, b.String())
}
