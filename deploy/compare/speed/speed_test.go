package speed

import (
	"slices"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/deploy/bench"
	"github.com/ordersaga/ordersaga/deploy/compare/report"
)

// speedTestReport is a bench report as the speed section merges it: two
// variants at 1 and 10 clients, an open loop at two rates, both ceilings
// and a calibration.
func speedTestReport() bench.Report {
	closed := func(n int, tp, p50, p99 float64) bench.Point {
		return bench.Point{Mode: bench.ModeClosed, Clients: n, Throughput: tp, Final: int(tp * 4),
			Latency: bench.Latency{P50: p50, P99: p99}, WindowSeconds: 4, WarmupSeconds: 1}
	}
	open := func(r, goodput, p99 float64, refused int) bench.Point {
		return bench.Point{Mode: bench.ModeOpen, Rate: r, Goodput: goodput, Refused: refused, RefusedShare: float64(refused) / (4 * r),
			OfferedRate: r, Latency: bench.Latency{P99: p99}, WindowSeconds: 4, WarmupSeconds: 1}
	}
	cal := bench.Calibration{Method: bench.CalibrationSQLite, Unit: "SQLite commits/s", Description: "one-row updates", When: "in the speed section",
		Ratio: "orders/s per SQLite commits/s", Points: []bench.CalibrationPoint{{Clients: 1, TPS: 20000}, {Clients: 10, TPS: 25000}}}
	return bench.Report{
		Settings: bench.Settings{Concurrencies: []int{1, 10}, Rates: []float64{66, 680}, DurationS: 4, WarmupS: 1, Wait: "30s",
			Products: 100, Customers: 200, SLOSeconds: 2},
		Calibration: &cal,
		Variants: []bench.VariantResult{
			{Name: report.Orchestrated, Framework: bench.FrameworkTemporal,
				Closed:          []bench.Point{closed(1, 20, 45, 110), closed(10, 33, 290, 470)},
				Open:            []bench.Point{open(66, 30, 900, 120), open(680, 31, 950, 2500)},
				TemporalCommits: &bench.CommitCount{Sagas: 30, PerSaga: 27.5, VisibilityPerSaga: 3}},
			{Name: report.Choreographed, Framework: bench.FrameworkKafka,
				Closed: []bench.Point{closed(1, 130, 7, 30), closed(10, 340, 28, 89)},
				Open:   []bench.Point{open(66, 66, 25, 0), open(680, 400, 700, 900)}},
		},
		Ceilings: []bench.CeilingResult{
			{Framework: bench.FrameworkTemporal, Description: "no-op workflow",
				Closed:          []bench.Point{closed(1, 32, 30, 86), closed(10, 55, 180, 415)},
				TemporalCommits: &bench.CommitCount{Sagas: 30, PerSaga: 12}},
			{Framework: bench.FrameworkKafka, Description: "no-op pipeline",
				Closed: []bench.Point{closed(1, 350, 2.5, 5.5), closed(10, 3300, 3, 11.7)}},
		},
	}
}

// speedFigure returns the section's figure of the variant and name.
func speedFigure(t *testing.T, sec *report.Section, variant, name string) report.Figure {
	t.Helper()
	for _, f := range sec.Figures {
		if f.Variant == variant && f.Name == name {
			return f
		}
	}
	t.Fatalf("no figure %q of %q; figures: %+v", name, variant, sec.Figures)
	return report.Figure{}
}

func TestSpeedFillShares_DividesByTheCeilingAtTheSameClients(t *testing.T) {
	rep := speedTestReport()
	speedFillShares(&rep)
	o := rep.Variants[0]
	if got, want := o.Closed[1].ShareOfCeiling, 0.6; got != want {
		t.Errorf("orchestrated share at 10 clients = %v, want %v (33/55)", got, want)
	}
	if got, want := o.PeakShareOfCeiling, 0.6; got != want {
		t.Errorf("orchestrated peak share = %v, want %v", got, want)
	}
	c := rep.Variants[1]
	if got, want := c.Closed[0].ShareOfCeiling, 0.3714; got != want {
		t.Errorf("choreographed share at 1 client = %v, want %v (130/350)", got, want)
	}
	rep.Ceilings = nil
	speedFillShares(&rep)
	if rep.Variants[0].Closed[1].ShareOfCeiling != 0 || rep.Variants[0].PeakShareOfCeiling != 0 {
		t.Errorf("shares without a ceiling: %+v", rep.Variants[0])
	}
}

func TestSpeedOpenRates_TwiceThePeaks(t *testing.T) {
	rep := speedTestReport()
	if got, want := speedOpenRates(rep, speedPlan{openFactor: 2}), []float64{66}; !slices.Equal(got, want) {
		t.Errorf("quick rates = %v, want %v (twice the orchestrated peak)", got, want)
	}
	if got, want := speedOpenRates(rep, speedPlan{openFactor: 2, bothPeaks: true}), []float64{66, 680}; !slices.Equal(got, want) {
		t.Errorf("full rates = %v, want %v", got, want)
	}
	rep.Variants[0].Closed = nil
	if got := speedOpenRates(rep, speedPlan{openFactor: 2}); len(got) != 0 {
		t.Errorf("rates without a peak = %v, want none", got)
	}
}

func TestSpeedMerge_SortsClosedPointsAndAddsTheOpenLoop(t *testing.T) {
	full := speedTestReport()
	rep, other := full, full
	rep.Variants = []bench.VariantResult{{Name: report.Orchestrated, Closed: full.Variants[0].Closed[1:]}, {Name: report.Choreographed, Closed: full.Variants[1].Closed[1:]}}
	rep.Settings.Rates = nil
	other.Variants = []bench.VariantResult{
		{Name: report.Orchestrated, Closed: full.Variants[0].Closed[:1], Open: full.Variants[0].Open},
		{Name: report.Choreographed, Closed: full.Variants[1].Closed[:1], Open: full.Variants[1].Open}}
	speedMerge(&rep, other)
	for i, v := range rep.Variants {
		if len(v.Closed) != 2 || v.Closed[0].Clients != 1 || v.Closed[1].Clients != 10 {
			t.Errorf("%s closed points = %+v, want 1 then 10 clients", v.Name, v.Closed)
		}
		if len(v.Open) != len(full.Variants[i].Open) {
			t.Errorf("%s open points = %d, want %d", v.Name, len(v.Open), len(full.Variants[i].Open))
		}
	}
	if !slices.Equal(rep.Settings.Rates, full.Settings.Rates) {
		t.Errorf("rates = %v, want %v", rep.Settings.Rates, full.Settings.Rates)
	}
}

func TestSpeedFill_FiguresTablesChartsAndSummary(t *testing.T) {
	rep := speedTestReport()
	speedFillShares(&rep)
	for vi := range rep.Variants {
		for pi := range rep.Variants[vi].Closed {
			p := &rep.Variants[vi].Closed[pi]
			cp, _ := rep.Calibration.For(p.Clients)
			p.PerCalibration = p.Throughput / cp.TPS
		}
	}
	rep.Variants[0].Closed[1].BusinessFail, rep.Variants[0].Closed[1].BusinessFailShare = 2, 0.015
	sec := &report.Section{}
	speedFill(sec, rep, speedContext{store: "SQLite", external: map[string]bool{}, rig: true, bothPeaks: true})

	for _, f := range sec.Figures {
		if !f.Valid() || f.Unit == "" {
			t.Errorf("figure %+v: not a number or without a unit", f)
		}
	}
	if f := speedFigure(t, sec, report.Orchestrated, "throughput, 10 clients"); f.Value != 33 || f.Unit != "orders/s" {
		t.Errorf("orchestrated throughput = %+v", f)
	}
	if f := speedFigure(t, sec, report.Choreographed, "p99 latency, 1 client"); f.Value != 30 || f.Unit != "ms" {
		t.Errorf("choreographed p99 = %+v", f)
	}
	if f := speedFigure(t, sec, report.Orchestrated, "share of the Temporal ceiling, 10 clients"); f.Value != 60 || f.Unit != "%" {
		t.Errorf("orchestrated share = %+v", f)
	}
	if f := speedFigure(t, sec, report.Choreographed, "throughput per calibration, 10 clients"); f.Value != 340.0/25000 || f.Unit != "orders/s per SQLite commits/s" {
		t.Errorf("choreographed ratio = %+v", f)
	}
	if f := speedFigure(t, sec, report.Orchestrated, "open-loop refusals at 680 orders/s"); f.Value != 2500 || f.Unit != "orders" {
		t.Errorf("orchestrated refusals = %+v", f)
	}
	if f := speedFigure(t, sec, report.Choreographed, "open-loop goodput at 66 orders/s"); f.Value != 66 {
		t.Errorf("choreographed goodput = %+v", f)
	}
	if f := speedFigure(t, sec, "", "Temporal no-op ceiling, 10 clients"); f.Value != 55 || f.Unit != "ops/s" {
		t.Errorf("Temporal ceiling = %+v", f)
	}
	if f := speedFigure(t, sec, "", "Kafka no-op ceiling, 1 client"); f.Value != 350 {
		t.Errorf("Kafka ceiling = %+v", f)
	}
	if f := speedFigure(t, sec, "", "calibration, 10 clients"); f.Value != 25000 || f.Unit != "SQLite commits/s" {
		t.Errorf("calibration = %+v", f)
	}
	if f := speedFigure(t, sec, report.Orchestrated, "Temporal persistence commits per order"); f.Value != 27.5 || f.Unit != "commits/order" {
		t.Errorf("commits = %+v", f)
	}

	if len(sec.Tables) != 3 {
		t.Fatalf("tables = %d, want closed loop, ceilings, open loop", len(sec.Tables))
	}
	closed := sec.Tables[0]
	if len(closed.Rows) != 2 {
		t.Fatalf("closed-loop rows = %v", closed.Rows)
	}
	for _, r := range append(closed.Rows, sec.Tables[1].Rows...) {
		if len(r) != len(sec.Tables[0].Columns) && len(r) != len(sec.Tables[1].Columns) {
			t.Errorf("row %v does not match the columns", r)
		}
	}
	if got, want := strings.Join(closed.Rows[1][:9], "|"), "10|33.0|290|470|60 %|340|28.0|89.0|10 %"; got != want {
		t.Errorf("closed-loop row at 10 clients = %s, want %s", got, want)
	}
	if got, want := strings.Join(sec.Tables[2].Rows[1], "|"), "680|31.0|2500 (92%)|950|400|900 (33%)|700"; got != want {
		t.Errorf("open-loop row at 680/s = %s, want %s", got, want)
	}

	if len(sec.Charts) != 2 || !sec.Charts[1].LowerIsBetter {
		t.Fatalf("charts = %+v, want throughput then p99 (lower is better)", sec.Charts)
	}
	var series []string
	for _, b := range sec.Charts[0].Groups[1].Bars {
		series = append(series, b.Series)
	}
	if got, want := strings.Join(series, ","), "orchestrated,Temporal ceiling,choreographed,Kafka ceiling"; got != want {
		t.Errorf("throughput chart series = %s, want %s", got, want)
	}

	summary := strings.Join(sec.Summary, "\n")
	for _, want := range []string{
		"at 10 clients: orchestrated 33.0 orders/s, choreographed 340 orders/s: choreographed 10.3× the orchestrated throughput; orchestrated at 60 % of its Temporal ceiling, choreographed at 10 % of its Kafka ceiling",
		"peak closed-loop throughput",
		"open loop at 680 orders/s: orchestrated goodput 31.0 orders/s, 2500 refused",
		"27.5 Temporal persistence commits per order (visibility 3.00); the no-op workflow 12.0",
	} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	if notes := strings.Join(sec.Notes, "\n"); !strings.Contains(notes, "orchestrated, 10 clients: 2 orders failed (2%)") {
		t.Errorf("notes do not tell the failed orders: %s", notes)
	}
	for _, want := range []string{"1, 10 clients", "100 products and 200 customers", "66, 680 orders/s (twice each variant's closed-loop peak",
		"no-op workflow of three no-op activities", "SQLite commits/s"} {
		if !strings.Contains(sec.Method, want) {
			t.Errorf("method lacks %q: %s", want, sec.Method)
		}
	}
}

func TestSpeedFill_ExternalStackIsNotComparedWithACeiling(t *testing.T) {
	rep := speedTestReport()
	rep.Variants[1].Framework = "" // an external stack's target has no framework
	speedFillShares(&rep)
	sec := &report.Section{}
	speedFill(sec, rep, speedContext{store: "SQLite", external: map[string]bool{report.Choreographed: true}, rig: true})
	for _, f := range sec.FiguresOf(report.Choreographed) {
		if strings.Contains(f.Name, "ceiling") {
			t.Errorf("external choreographed has a ceiling figure: %+v", f)
		}
	}
	if !strings.Contains(strings.Join(sec.Notes, "\n"), "choreographed: an external stack") {
		t.Errorf("notes do not say the choreographed stack is external: %v", sec.Notes)
	}
	if !strings.Contains(sec.Method, "The choreographed stack ran outside") {
		t.Errorf("method does not say the choreographed stack ran outside: %s", sec.Method)
	}
}

func TestSpeedIndent_IndentsEveryLine(t *testing.T) {
	var b strings.Builder
	w := &speedIndent{w: &b, start: true}
	for _, s := range []string{"one\ntw", "o\n", "\nthree\n"} {
		if _, err := w.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := b.String(), "  one\n  two\n\n  three\n"; got != want {
		t.Errorf("indented = %q, want %q", got, want)
	}
}
