package speed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/deploy/bench"
	"github.com/ordersaga/ordersaga/deploy/compare/report"
	"github.com/ordersaga/ordersaga/deploy/compare/section"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

// speedPlan is what the speed section measures, by mode.
type speedPlan struct {
	// clients are the closed-loop client counts, ascending, at least two:
	// also the ceilings'. The first is measured with the open loop, the
	// others before it, so that the open loop's rates come from their
	// peaks.
	clients  []int
	duration time.Duration
	warmup   time.Duration
	// products and customers are created on each stack per bench run.
	products, customers int
	// calibration is the measured time of each calibrated client count.
	calibration        time.Duration
	calibrationClients []int
	// bothPeaks runs the open loop at openFactor times each variant's
	// closed-loop peak; else at openFactor times the orchestrated one's
	// only.
	openFactor float64
	bothPeaks  bool
	// openBy is how long the section may have run when the open loop is
	// due for it to run (0: always).
	openBy time.Duration
}

// speedPlanFor returns the plan of quick or full mode.
func speedPlanFor(quick bool) speedPlan {
	if quick {
		return speedPlan{
			clients: []int{1, 8}, duration: 1500 * time.Millisecond, warmup: 500 * time.Millisecond,
			products: 20, customers: 40,
			calibration: time.Second, calibrationClients: bench.DefaultCalibrationClients(),
			openFactor: 2, openBy: 20 * time.Second,
		}
	}
	return speedPlan{
		clients: []int{1, 10, 32}, duration: 4 * time.Second, warmup: time.Second,
		products: bench.DefaultProducts, customers: bench.DefaultCustomers,
		calibration: 2 * time.Second, calibrationClients: bench.DefaultCalibrationClients(),
		openFactor: 2, bothPeaks: true,
	}
}

// speedCeilingName names a framework's ceiling in figures and charts.
func speedCeilingName(f bench.Framework) string {
	switch f {
	case bench.FrameworkTemporal:
		return "Temporal ceiling"
	case bench.FrameworkKafka:
		return "Kafka ceiling"
	}
	return string(f) + " ceiling"
}

// speedFrameworks pairs each variant with the framework it is built on.
func speedFrameworks() map[string]bench.Framework {
	return map[string]bench.Framework{report.Orchestrated: bench.FrameworkTemporal, report.Choreographed: bench.FrameworkKafka}
}

// Section measures throughput and latency of both variants, closed
// and open loop, with the Temporal and Kafka ceilings and a calibration.
func Section(ctx context.Context, e *section.Env) (*report.Section, error) {
	started := time.Now()
	plan := speedPlanFor(e.Quick)
	sec := &report.Section{}
	prog := &speedIndent{w: e.Progress(), start: true}
	var errs []error
	var notes []string
	e.Setting("speed: closed-loop points", fmt.Sprintf("%s clients, %s measured after %s of warm-up each", speedJoinInts(plan.clients), plan.duration, plan.warmup))

	// Calibration, with the stacks running idle.
	when := "in the speed section, the in-process stacks running idle"
	if e.Rig == nil {
		when = "in the speed section"
	}
	var cal bench.Calibration
	var calErr error
	if e.PostgresURL != "" {
		e.Progressf("calibration: pgbench on the PostgreSQL server")
		cal, calErr = bench.CalibratePgbench(ctx, bench.PgbenchCalibration{
			URL: e.PostgresURL, Duration: plan.calibration, Clients: plan.calibrationClients, When: when, Progress: prog,
		})
	} else {
		e.Progressf("calibration: SQLite commits/s in the run's folder")
		dir := filepath.Join(e.Dir, "speed")
		if calErr = os.MkdirAll(dir, 0o755); calErr == nil {
			cal, calErr = bench.CalibrateSQLite(ctx, bench.SQLiteCalibration{
				Dir: dir, Duration: plan.calibration, Clients: plan.calibrationClients, When: when, Progress: prog,
			})
		}
	}
	var calp *bench.Calibration
	if cal.Method != "" {
		calp = &cal
	}
	if calErr != nil {
		errs = append(errs, fmt.Errorf("calibration: %w", calErr))
	} else if cal.Unavailable != "" {
		notes = append(notes, "no calibration, so no ratios: "+cal.Unavailable)
	}
	if err := ctx.Err(); err != nil {
		return sec, err
	}

	base := bench.Options{
		Duration:    plan.duration,
		Warmup:      plan.warmup,
		MaxInFlight: httpapi.DefaultLimits().MaxWaiting,
		Products:    plan.products,
		Customers:   plan.customers,
		Keys:        e.Keys,
		Calibration: calp,
		Logger:      e.Logger(),
		Progress:    prog,
		Setup:       speedBenchSetup(e),
	}
	fw := speedFrameworks()
	for _, v := range report.Variants() {
		t := bench.Target{Name: v, BaseURL: e.URLs[v]}
		if !e.External[v] {
			t.Framework = fw[v]
		}
		base.Targets = append(base.Targets, t)
	}

	// The closed loop at the higher client counts. (The Temporal commits
	// per order are the cost section's.)
	runID := "speed-" + strconv.FormatInt(started.UnixMilli(), 36)
	hi := base
	hi.RunID, hi.Concurrencies, hi.NoOpenLoop = runID+"-a", plan.clients[1:], true
	e.Progressf("closed loop at %s clients, both variants", speedJoinInts(hi.Concurrencies))
	rep, err := bench.Run(ctx, hi)
	if err != nil {
		errs = append(errs, fmt.Errorf("closed loop: %w", err))
	}

	// The first client count, and the open loop at rates from the peaks.
	if err == nil && ctx.Err() == nil {
		lo := base
		lo.RunID, lo.Concurrencies = runID+"-b", plan.clients[:1]
		lo.Rates = speedOpenRates(rep, plan)
		switch took := time.Since(started); {
		case len(lo.Rates) == 0:
			lo.NoOpenLoop = true
			notes = append(notes, "the open loop was left out: no closed-loop peak to derive its rates from")
		case plan.openBy > 0 && took > plan.openBy:
			lo.NoOpenLoop = true
			notes = append(notes, fmt.Sprintf("the open loop was left out: the section had run %s by then, past the %s by which it must start in this mode",
				took.Round(100*time.Millisecond), plan.openBy))
		}
		if lo.NoOpenLoop {
			e.Progressf("closed loop at %d clients, both variants", lo.Concurrencies[0])
		} else {
			e.Progressf("closed loop at %d clients and open loop at %s orders/s, both variants", lo.Concurrencies[0], speedJoinRates(lo.Rates))
		}
		loRep, err := bench.Run(ctx, lo)
		if err != nil {
			errs = append(errs, fmt.Errorf("closed loop at %d clients and open loop: %w", lo.Concurrencies[0], err))
		}
		speedMerge(&rep, loRep)
	}

	// The ceilings, on the same Temporal server and broker, the stacks
	// still running (the next sections need them).
	if e.Rig != nil && ctx.Err() == nil {
		ceil := base
		ceil.Targets, ceil.RunID, ceil.Concurrencies, ceil.NoOpenLoop = nil, runID+"-c", plan.clients, true
		hp, ns := e.Rig.TemporalAddress()
		if hp != "" {
			ceil.Temporal = &bench.TemporalCeiling{HostPort: hp, Namespace: ns}
		}
		if b := e.Rig.KafkaBrokers(); len(b) > 0 {
			ceil.Kafka = &bench.KafkaCeiling{Brokers: b}
		}
		if ceil.Temporal != nil || ceil.Kafka != nil {
			e.Progressf("ceilings at %s clients", speedJoinInts(ceil.Concurrencies))
			ceilRep, err := bench.Run(ctx, ceil)
			if err != nil {
				errs = append(errs, fmt.Errorf("ceilings: %w", err))
			}
			rep.Ceilings = append(rep.Ceilings, ceilRep.Ceilings...)
			for _, c := range ceilRep.Ceilings {
				if c.Error != "" {
					errs = append(errs, fmt.Errorf("%s: %s", speedCeilingName(c.Framework), c.Error))
				}
			}
		}
	} else if e.Rig == nil {
		notes = append(notes, "no framework ceiling: both stacks are external, and the ceilings run on the in-process Temporal server and broker only")
	}
	if rep.Calibration == nil {
		rep.Calibration = calp
	}
	rep.Settings.Concurrencies = slices.Clone(plan.clients)
	speedFillShares(&rep)
	rep.Finished = time.Now().UTC()

	speedFill(sec, rep, speedContext{quick: e.Quick, store: e.Setup.Store, external: e.External, rig: e.Rig != nil, bothPeaks: plan.bothPeaks})
	sec.Notes = append(sec.Notes, notes...)
	sec.Data = rep
	return sec, errors.Join(errs...)
}

// speedBenchSetup describes the machine and the stacks for the bench
// report.
func speedBenchSetup(e *section.Env) bench.Setup {
	s := bench.Setup{Machine: e.Setup.Machine, GoVersion: e.Setup.GoVersion}
	if e.Rig != nil {
		var d bench.Setup
		e.Rig.Describe(&d)
		s.Databases, s.Temporal, s.Broker = d.Databases, d.Temporal, d.Broker
		s.Notes = append(s.Notes, "in one process with the driver: the in-process stacks, Temporal server and broker; "+
			"the stacks keep running (idle) while the ceilings run")
	}
	var bounds []string
	for _, v := range report.Variants() {
		if e.External[v] {
			s.Notes = append(s.Notes, fmt.Sprintf("%s: an external stack at %s", v, e.URLs[v]))
			continue
		}
		bounds = append(bounds, fmt.Sprintf("%s %d", v, httpapi.Limits{}.InFlightBound(v)))
	}
	if len(bounds) > 0 {
		s.Notes = append(s.Notes, "admission control: at most "+strings.Join(bounds, ", ")+
			" orders in flight per in-process stack; past it POST /v1/orders answers 503 with Retry-After (a refusal)")
	}
	return s
}

// speedOpenRates returns the open loop's rates: plan.openFactor times the
// closed-loop peak of the orchestrated variant, and with plan.bothPeaks of
// the choreographed one too, rounded to two significant digits, ascending,
// without duplicates. A variant without a measured peak gives none.
func speedOpenRates(rep bench.Report, plan speedPlan) []float64 {
	var rates []float64
	for _, v := range rep.Variants {
		if v.Name != report.Orchestrated && !(plan.bothPeaks && v.Name == report.Choreographed) {
			continue
		}
		peak, _ := speedPeak(v.Closed)
		if r := speedRound(plan.openFactor*peak, 2); r > 0 {
			rates = append(rates, r)
		}
	}
	slices.Sort(rates)
	return slices.Compact(rates)
}

// speedPeak returns the best throughput of measured points and its
// number of clients (0, 0 for none).
func speedPeak(points []bench.Point) (float64, int) {
	var peak float64
	clients := 0
	for _, p := range points {
		if p.Skipped == "" && p.Throughput > peak {
			peak, clients = p.Throughput, p.Clients
		}
	}
	return peak, clients
}

// speedMerge adds the variants' points of other, a run of the same
// targets, to rep: closed points by number of clients, open points after
// rep's.
func speedMerge(rep *bench.Report, other bench.Report) {
	for _, ov := range other.Variants {
		for i := range rep.Variants {
			v := &rep.Variants[i]
			if v.Name != ov.Name {
				continue
			}
			v.Closed = append(v.Closed, ov.Closed...)
			slices.SortStableFunc(v.Closed, func(a, b bench.Point) int { return a.Clients - b.Clients })
			v.Open = append(v.Open, ov.Open...)
			if v.TemporalCommits == nil {
				v.TemporalCommits = ov.TemporalCommits
			}
		}
	}
	rep.Settings.Rates = append(rep.Settings.Rates, other.Settings.Rates...)
	if rep.Calibration == nil {
		rep.Calibration = other.Calibration
	}
}

// speedFillShares sets the variants' closed-loop points' shares of their
// frameworks' ceilings at the same number of clients, and their peaks'
// share of the ceiling's peak (the ceilings ran apart from the variants).
func speedFillShares(rep *bench.Report) {
	for vi := range rep.Variants {
		v := &rep.Variants[vi]
		v.PeakShareOfCeiling = 0
		for pi := range v.Closed {
			v.Closed[pi].ShareOfCeiling = 0
		}
		c := speedCeiling(*rep, v.Framework)
		if c == nil || v.Framework == "" {
			continue
		}
		byClients := map[int]float64{}
		for _, p := range c.Closed {
			byClients[p.Clients] = p.Throughput
		}
		for pi := range v.Closed {
			p := &v.Closed[pi]
			if ct := byClients[p.Clients]; ct > 0 && p.Skipped == "" {
				p.ShareOfCeiling = math.Round(p.Throughput/ct*10000) / 10000
			}
		}
		peak, _ := speedPeak(v.Closed)
		if cpeak, _ := speedPeak(c.Closed); cpeak > 0 {
			v.PeakShareOfCeiling = math.Round(peak/cpeak*10000) / 10000
		}
	}
}

// speedCeiling returns the report's ceiling of framework f, nil for none.
func speedCeiling(rep bench.Report, f bench.Framework) *bench.CeilingResult {
	for i := range rep.Ceilings {
		if rep.Ceilings[i].Framework == f && f != "" {
			return &rep.Ceilings[i]
		}
	}
	return nil
}

// speedContext is what the section's text says of the run beside the
// bench report.
type speedContext struct {
	quick    bool
	store    string
	external map[string]bool
	rig      bool
	// bothPeaks says the open loop's rates are twice both variants'
	// peaks, not the orchestrated one's only.
	bothPeaks bool
}

// speedFill fills the section's figures, tables, charts, method, summary
// and notes from the bench report.
func speedFill(sec *report.Section, rep bench.Report, sc speedContext) {
	sec.Title = "Speed: closed and open loop, with the framework ceilings"
	sec.Method = speedMethod(rep, sc)
	cal := rep.Calibration
	hasCal := cal != nil && len(cal.Points) > 0
	ratioUnit := ""
	if hasCal {
		ratioUnit = "orders/s per " + cal.Unit
	}
	clientsMethod := func(p bench.Point) string {
		return fmt.Sprintf("closed loop, %s, %.3gs measured after %.3gs of warm-up; %d orders final, %d errors, %d refused",
			Clients(p.Clients), p.WindowSeconds, p.WarmupSeconds, p.Final, p.Errors, p.Refused)
	}

	// Figures of the variants.
	for _, v := range rep.Variants {
		ceil := speedCeiling(rep, v.Framework)
		for _, p := range v.Closed {
			if p.Skipped != "" {
				continue
			}
			n := Clients(p.Clients)
			sec.Add(v.Name, "throughput, "+n, p.Throughput, "orders/s", clientsMethod(p))
			sec.Add(v.Name, "p50 latency, "+n, p.Latency.P50, "ms", "from POST /v1/orders to the final status seen")
			sec.Add(v.Name, "p99 latency, "+n, p.Latency.P99, "ms", "from POST /v1/orders to the final status seen")
			if p.ShareOfCeiling > 0 && ceil != nil {
				sec.Add(v.Name, "share of the "+speedCeilingName(v.Framework)+", "+n, 100*p.ShareOfCeiling, "%",
					"throughput over the "+speedCeilingName(v.Framework)+"'s at the same number of clients")
			}
			if hasCal && p.PerCalibration > 0 {
				sec.Add(v.Name, "throughput per calibration, "+n, p.PerCalibration, ratioUnit, cal.Ratio)
			}
		}
		if peak, at := speedPeak(v.Closed); peak > 0 {
			sec.Add(v.Name, "peak throughput (closed loop)", peak, "orders/s", "the best closed-loop point, at "+Clients(at))
		}
		if v.PeakShareOfCeiling > 0 && ceil != nil {
			sec.Add(v.Name, "peak share of the "+speedCeilingName(v.Framework), 100*v.PeakShareOfCeiling, "%",
				"the best closed-loop throughput over the best of the "+speedCeilingName(v.Framework))
		}
		for _, p := range v.Open {
			if p.Skipped != "" {
				continue
			}
			r := speedRate(p.Rate) + " orders/s"
			m := fmt.Sprintf("open loop at %s, %.3gs measured after %.3gs of warm-up, %.3gs of drain; offered %.1f/s",
				r, p.WindowSeconds, p.WarmupSeconds, p.DrainSeconds, p.OfferedRate)
			sec.Add(v.Name, "open-loop goodput at "+r, p.Goodput, "orders/s",
				fmt.Sprintf("orders final within %gs of their scheduled arrival, per second of the window and drain; %s", rep.Settings.SLOSeconds, m))
			sec.Add(v.Name, "open-loop refusals at "+r, float64(p.Refused), "orders", "503 with Retry-After (admission control), not retried; "+m)
			sec.Add(v.Name, "open-loop p99 latency at "+r, p.Latency.P99, "ms", "from each admitted order's scheduled arrival to its final status; "+m)
		}
		if c := v.TemporalCommits; c != nil && c.Error == "" {
			m := fmt.Sprintf("PostgreSQL transactions (reads included) of the Temporal server's database over %d orders one at a time, the server's background taken off", c.Sagas)
			sec.Add(v.Name, "Temporal persistence commits per order", c.PerSaga, "commits/order", m)
			sec.Add(v.Name, "Temporal visibility commits per order", c.VisibilityPerSaga, "commits/order", m)
		}
	}

	// Figures of the ceilings and the calibration.
	for _, c := range rep.Ceilings {
		name := speedCeilingName(c.Framework)
		noop := strings.TrimSuffix(name, " ceiling") + " no-op ceiling"
		for _, p := range c.Closed {
			n := Clients(p.Clients)
			sec.Add("", noop+", "+n, p.Throughput, "ops/s", c.Description)
			sec.Add("", noop+" p99 latency, "+n, p.Latency.P99, "ms", c.Description)
			if hasCal && p.PerCalibration > 0 {
				sec.Add("", noop+" per calibration, "+n, p.PerCalibration, "ops/s per "+cal.Unit, cal.Ratio)
			}
		}
		if tc := c.TemporalCommits; tc != nil && tc.Error == "" {
			sec.Add("", noop+": persistence commits per workflow", tc.PerSaga, "commits/workflow", "as the orchestrated variant's count")
		}
	}
	if hasCal {
		for _, p := range cal.Points {
			sec.Add("", "calibration, "+Clients(p.Clients), p.TPS, cal.Unit, cal.Description)
		}
	}

	sec.Tables = append(sec.Tables, speedClosedTable(rep))
	if t, ok := speedCeilingTable(rep); ok {
		sec.Tables = append(sec.Tables, t)
	}
	if t, ok := speedOpenTable(rep); ok {
		sec.Tables = append(sec.Tables, t)
	}
	sec.Charts = append(sec.Charts, speedThroughputChart(rep), speedLatencyChart(rep))
	sec.Summary = speedSummary(rep)
	sec.Notes = append(sec.Notes, speedNotes(rep, sc)...)
}

// speedMethod says how the section measured.
func speedMethod(rep bench.Report, sc speedContext) string {
	st := rep.Settings
	var b strings.Builder
	where := "Both variants ran in-process, in this one process, on this machine, in the same run, one after the other"
	var ext []string
	for _, v := range report.Variants() {
		if sc.external[v] {
			ext = append(ext, v)
		}
	}
	if len(ext) > 0 {
		where = "The " + strings.Join(ext, " and ") + " stack" + map[bool]string{true: "s", false: ""}[len(ext) > 1] +
			" ran outside, measured through its URL, the others in-process; all measured from this machine in the same run, one after the other"
	}
	fmt.Fprintf(&b, "%s (service databases: %s), through their REST API by the benchmark's driver (package deploy/bench). ", where, sc.store)
	fmt.Fprintf(&b, "An order is POST /v1/orders?wait=%s followed by GET polls until its status is final; its latency runs from the POST to the final status seen. ", st.Wait)
	fmt.Fprintf(&b, "Order mix: 1 to 3 products, 1 to 3 units each, of %d products and %d customers created per run with ample stock and credit, to supported countries, %s. ",
		st.Products, st.Customers, speedFailureMix(st.FailureShare))
	fmt.Fprintf(&b, "Closed loop: N clients, each placing its next order as soon as its last one is final, at %s clients, each point %gs measured after at least %gs of warm-up (not counted); "+
		"throughput is clients over the mean time of an order. ", speedJoinInts(st.Concurrencies), st.DurationS, st.WarmupS)
	if len(st.Rates) > 0 {
		peaks := "the orchestrated variant's"
		if sc.bothPeaks {
			peaks = "each variant's"
		}
		fmt.Fprintf(&b, "Open loop, after the closed loop: orders scheduled on a clock at %s orders/s (twice %s closed-loop peak, measured before), latency counted from each order's scheduled arrival; "+
			"goodput is the orders final within %gs per second of the window and the drain after it; an order the stack refuses (503 with Retry-After, admission control) is counted, not retried. ",
			speedJoinRates(st.Rates), peaks, st.SLOSeconds)
	}
	if len(rep.Ceilings) > 0 {
		fmt.Fprintf(&b, "Ceilings: on the same embedded Temporal server and broker, with no business logic, at the same client counts: a no-op workflow of three no-op activities (Temporal), "+
			"and a no-op four-hop kafka-go pipeline with the choreographed variant's settings (Kafka); the stacks keep running, idle, meanwhile. "+
			"A variant's share of its ceiling is its throughput over its framework's at the same number of clients. ")
	}
	if c := rep.Calibration; c != nil && len(c.Points) > 0 {
		fmt.Fprintf(&b, "Calibration, %s: %s; the throughputs are also given per %s (at the calibrated client count nearest on a log scale), so that they compare across machines as ratios.", c.When, c.Description, c.Unit)
	} else if c != nil {
		fmt.Fprintf(&b, "Calibration: none (%s), so no ratios.", c.Unavailable)
	}
	return strings.TrimSpace(b.String())
}

// speedFailureMix describes the orders' failure share.
func speedFailureMix(share float64) string {
	if share <= 0 {
		return "every order meant to complete"
	}
	return fmt.Sprintf("%.0f%% of them to a refused country (failing after payment, compensated)", 100*share)
}

// speedClosedTable is the closed loop, both variants side by side.
func speedClosedTable(rep bench.Report) report.Table {
	cols := []string{"clients"}
	for _, v := range rep.Variants {
		cols = append(cols, v.Name+" orders/s", "p50 ms", "p99 ms")
		if v.Framework != "" {
			cols = append(cols, "% of "+speedCeilingName(v.Framework))
		}
	}
	hasCal := rep.Calibration != nil && len(rep.Calibration.Points) > 0
	if hasCal {
		for _, v := range rep.Variants {
			cols = append(cols, v.Name+" per "+rep.Calibration.Unit)
		}
	}
	t := report.Table{Title: "Closed loop", Columns: cols}
	for _, n := range rep.Settings.Concurrencies {
		row := []string{strconv.Itoa(n)}
		for _, v := range rep.Variants {
			p, ok := speedPointAt(v.Closed, n)
			if !ok {
				row = append(row, "-", "-", "-")
				if v.Framework != "" {
					row = append(row, "-")
				}
				continue
			}
			row = append(row, speedNum(p.Throughput), speedNum(p.Latency.P50), speedNum(p.Latency.P99))
			if v.Framework != "" {
				row = append(row, speedShare(p.ShareOfCeiling))
			}
		}
		if hasCal {
			for _, v := range rep.Variants {
				p, ok := speedPointAt(v.Closed, n)
				if !ok || p.PerCalibration <= 0 {
					row = append(row, "-")
					continue
				}
				row = append(row, strconv.FormatFloat(speedRound(p.PerCalibration, 3), 'f', -1, 64))
			}
		}
		t.Rows = append(t.Rows, row)
	}
	for _, v := range rep.Variants {
		for _, p := range v.Closed {
			if p.Refused > 0 {
				t.Notes = append(t.Notes, fmt.Sprintf("%s, %s: %d orders refused (%.0f%%) past the stack's bound of orders in flight; each refused client waited its Retry-After",
					v.Name, Clients(p.Clients), p.Refused, 100*p.RefusedShare))
			}
		}
	}
	return t
}

// speedCeilingTable is the ceilings by number of clients; false without
// ceilings.
func speedCeilingTable(rep bench.Report) (report.Table, bool) {
	if len(rep.Ceilings) == 0 {
		return report.Table{}, false
	}
	t := report.Table{Title: "Framework ceilings (no business logic)", Columns: []string{"clients"}}
	for _, c := range rep.Ceilings {
		name := speedCeilingName(c.Framework)
		t.Columns = append(t.Columns, name+" ops/s", "p50 ms", "p99 ms")
		t.Notes = append(t.Notes, name+": "+c.Description)
		if c.Error != "" {
			t.Notes = append(t.Notes, name+" failed: "+c.Error)
		}
	}
	for _, n := range rep.Settings.Concurrencies {
		row := []string{strconv.Itoa(n)}
		for _, c := range rep.Ceilings {
			p, ok := speedPointAt(c.Closed, n)
			if !ok {
				row = append(row, "-", "-", "-")
				continue
			}
			row = append(row, speedNum(p.Throughput), speedNum(p.Latency.P50), speedNum(p.Latency.P99))
		}
		t.Rows = append(t.Rows, row)
	}
	return t, true
}

// speedOpenTable is the open loop by rate; false without an open loop.
func speedOpenTable(rep bench.Report) (report.Table, bool) {
	if len(rep.Settings.Rates) == 0 {
		return report.Table{}, false
	}
	t := report.Table{Title: "Open loop", Columns: []string{"rate orders/s"}}
	for _, v := range rep.Variants {
		t.Columns = append(t.Columns, v.Name+" goodput/s", "refused", "p99 ms")
	}
	for _, r := range rep.Settings.Rates {
		row := []string{speedRate(r)}
		for _, v := range rep.Variants {
			p, ok := speedOpenAt(v.Open, r)
			switch {
			case !ok:
				row = append(row, "-", "-", "-")
			case p.Skipped != "":
				row = append(row, "skipped", "-", "-")
				t.Notes = append(t.Notes, fmt.Sprintf("%s at %s orders/s: %s", v.Name, speedRate(r), p.Skipped))
			default:
				row = append(row, speedNum(p.Goodput), fmt.Sprintf("%d (%.0f%%)", p.Refused, 100*p.RefusedShare), speedNum(p.Latency.P99))
			}
		}
		t.Rows = append(t.Rows, row)
	}
	t.Notes = append(t.Notes, fmt.Sprintf("goodput: orders final within %gs of their scheduled arrival, per second of the window and the drain after it; "+
		"refused: 503 with Retry-After, not retried; p99 of the admitted orders, from their scheduled arrival", rep.Settings.SLOSeconds))
	return t, true
}

// speedThroughputChart is the closed-loop throughput by clients, each
// variant beside its framework's ceiling.
func speedThroughputChart(rep bench.Report) report.Chart {
	ch := report.Chart{Title: "Closed-loop throughput by clients (ceilings: no-op operations/s)", Unit: "orders/s"}
	for _, n := range rep.Settings.Concurrencies {
		g := report.BarGroup{Label: Clients(n)}
		for _, v := range rep.Variants {
			if p, ok := speedPointAt(v.Closed, n); ok {
				g.Bars = append(g.Bars, report.Bar{Series: v.Name, Value: p.Throughput})
			}
			if c := speedCeiling(rep, v.Framework); c != nil {
				if p, ok := speedPointAt(c.Closed, n); ok {
					g.Bars = append(g.Bars, report.Bar{Series: speedCeilingName(c.Framework), Value: p.Throughput})
				}
			}
		}
		ch.Groups = append(ch.Groups, g)
	}
	return ch
}

// speedLatencyChart is the closed-loop p99 latency by clients.
func speedLatencyChart(rep bench.Report) report.Chart {
	ch := report.Chart{Title: "Closed-loop p99 latency by clients", Unit: "ms", LowerIsBetter: true}
	for _, n := range rep.Settings.Concurrencies {
		g := report.BarGroup{Label: Clients(n)}
		for _, v := range rep.Variants {
			if p, ok := speedPointAt(v.Closed, n); ok {
				g.Bars = append(g.Bars, report.Bar{Series: v.Name, Value: p.Latency.P99})
			}
		}
		ch.Groups = append(ch.Groups, g)
	}
	return ch
}

// speedSummary draws the section's findings: the throughput ratio and
// the shares of the ceilings at the reference client count, the peaks,
// the latency at one client, the open loop, the calibration ratios and
// the commits per order.
func speedSummary(rep bench.Report) []string {
	var lines []string
	orch, chor := speedVariant(rep, report.Orchestrated), speedVariant(rep, report.Choreographed)
	if orch == nil || chor == nil {
		return nil
	}
	if n := speedReferenceClients(rep.Settings.Concurrencies); n > 0 {
		po, okO := speedPointAt(orch.Closed, n)
		pc, okC := speedPointAt(chor.Closed, n)
		if okO && okC && po.Throughput > 0 && pc.Throughput > 0 {
			l := fmt.Sprintf("at %s: orchestrated %s orders/s, choreographed %s orders/s: %s",
				Clients(n), speedNum(po.Throughput), speedNum(pc.Throughput), speedRatioPhrase(pc.Throughput, po.Throughput))
			var shares []string
			for _, x := range []struct {
				v *bench.VariantResult
				p bench.Point
			}{{orch, po}, {chor, pc}} {
				if x.p.ShareOfCeiling > 0 {
					shares = append(shares, fmt.Sprintf("%s at %s of its %s", x.v.Name, speedShare(x.p.ShareOfCeiling), speedCeilingName(x.v.Framework)))
				}
			}
			if len(shares) > 0 {
				l += "; " + strings.Join(shares, ", ")
			}
			lines = append(lines, l)
		}
	}
	po, atO := speedPeak(orch.Closed)
	pc, atC := speedPeak(chor.Closed)
	if po > 0 && pc > 0 {
		lines = append(lines, fmt.Sprintf("peak closed-loop throughput: orchestrated %s orders/s (%s), choreographed %s orders/s (%s): %s",
			speedNum(po), Clients(atO), speedNum(pc), Clients(atC), speedRatioPhrase(pc, po)))
	}
	if len(rep.Settings.Concurrencies) > 0 {
		n := rep.Settings.Concurrencies[0]
		o, okO := speedPointAt(orch.Closed, n)
		c, okC := speedPointAt(chor.Closed, n)
		if okO && okC && o.Latency.P99 > 0 && c.Latency.P99 > 0 {
			lines = append(lines, fmt.Sprintf("latency at %s: p50 orchestrated %s ms, choreographed %s ms; p99 orchestrated %s ms, choreographed %s ms",
				Clients(n), speedNum(o.Latency.P50), speedNum(c.Latency.P50), speedNum(o.Latency.P99), speedNum(c.Latency.P99)))
		}
	}
	for _, r := range rep.Settings.Rates {
		var parts []string
		for _, v := range []*bench.VariantResult{orch, chor} {
			p, ok := speedOpenAt(v.Open, r)
			if !ok || p.Skipped != "" {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s goodput %s orders/s, %d refused, p99 %s ms", v.Name, speedNum(p.Goodput), p.Refused, speedNum(p.Latency.P99)))
		}
		if len(parts) > 0 {
			lines = append(lines, fmt.Sprintf("open loop at %s orders/s: %s", speedRate(r), strings.Join(parts, "; ")))
		}
	}
	if cal := rep.Calibration; cal != nil && len(cal.Points) > 0 {
		if n := speedReferenceClients(rep.Settings.Concurrencies); n > 0 {
			o, okO := speedPointAt(orch.Closed, n)
			c, okC := speedPointAt(chor.Closed, n)
			if okO && okC && o.PerCalibration > 0 && c.PerCalibration > 0 {
				cp, _ := cal.For(n)
				lines = append(lines, fmt.Sprintf("per calibration at %s (%s %s with %s): orchestrated %s, choreographed %s orders/s per %s",
					Clients(n), speedNum(cp.TPS), cal.Unit, Clients(cp.Clients),
					strconv.FormatFloat(speedRound(o.PerCalibration, 3), 'f', -1, 64), strconv.FormatFloat(speedRound(c.PerCalibration, 3), 'f', -1, 64), cal.Unit))
			}
		}
	}
	if tc := orch.TemporalCommits; tc != nil && tc.Error == "" {
		l := fmt.Sprintf("orchestrated: %s Temporal persistence commits per order (visibility %s)", speedNum(tc.PerSaga), speedNum(tc.VisibilityPerSaga))
		if c := speedCeiling(rep, bench.FrameworkTemporal); c != nil && c.TemporalCommits != nil && c.TemporalCommits.Error == "" {
			l += fmt.Sprintf("; the no-op workflow %s", speedNum(c.TemporalCommits.PerSaga))
		}
		lines = append(lines, l)
	}
	return lines
}

// speedNotes are the section's remarks: what was left out, errors seen,
// open-loop points skipped.
func speedNotes(rep bench.Report, sc speedContext) []string {
	var notes []string
	for _, v := range report.Variants() {
		if sc.external[v] {
			notes = append(notes, fmt.Sprintf("%s: an external stack, measured through its URL; its throughput is not compared with a ceiling "+
				"(the ceilings run on the in-process Temporal server and broker, not the stack's own)", v))
		}
	}
	if sc.rig && len(rep.Ceilings) > 0 {
		notes = append(notes, "the ceilings ran with the stacks running idle (the next sections use them), so the stacks' idle work (pollers, consumer groups) weighs on the ceilings a little")
	}
	for _, v := range rep.Variants {
		for _, p := range append(slices.Clone(v.Closed), v.Open...) {
			if p.BusinessFail > 0 {
				notes = append(notes, fmt.Sprintf("%s, %s: %d orders failed (%.0f%%) though every order was meant to complete: a step ran past the stacks' step deadline",
					v.Name, speedPointName(p), p.BusinessFail, 100*p.BusinessFailShare))
			}
			if p.Errors > 0 {
				kinds := make([]string, 0, len(p.ErrorKinds))
				for _, k := range slices.Sorted(maps.Keys(p.ErrorKinds)) {
					kinds = append(kinds, fmt.Sprintf("%s %d", k, p.ErrorKinds[k]))
				}
				notes = append(notes, fmt.Sprintf("%s, %s: %d orders ended in an error (%s)", v.Name, speedPointName(p), p.Errors, strings.Join(kinds, ", ")))
			}
		}
		if tc := v.TemporalCommits; tc != nil && tc.Error != "" {
			notes = append(notes, fmt.Sprintf("%s: Temporal commits not counted: %s", v.Name, tc.Error))
		}
	}
	if !sc.quick {
		return notes
	}
	return append(notes, "quick mode: short points (see the method), so the figures are rougher than a full run's")
}

// speedReferenceClients returns the client count the summary's ratios are
// given at: the one nearest 10 on a log scale (0 for none).
func speedReferenceClients(clients []int) int {
	best, bd := 0, math.Inf(1)
	for _, n := range clients {
		if d := math.Abs(math.Log(float64(n)) - math.Log(10)); n > 0 && d < bd {
			best, bd = n, d
		}
	}
	return best
}

// speedRatioPhrase says how a (choreographed) compares with b
// (orchestrated), e.g. "choreographed 6.1× the orchestrated throughput".
func speedRatioPhrase(a, b float64) string {
	if a >= b {
		return fmt.Sprintf("choreographed %s× the orchestrated throughput", speedNum(a/b))
	}
	return fmt.Sprintf("orchestrated %s× the choreographed throughput", speedNum(b/a))
}

// speedVariant returns the report's result of the variant, nil for none.
func speedVariant(rep bench.Report, name string) *bench.VariantResult {
	for i := range rep.Variants {
		if rep.Variants[i].Name == name {
			return &rep.Variants[i]
		}
	}
	return nil
}

// speedPointAt returns the measured closed-loop point of n clients.
func speedPointAt(points []bench.Point, n int) (bench.Point, bool) {
	for _, p := range points {
		if p.Clients == n && p.Skipped == "" {
			return p, true
		}
	}
	return bench.Point{}, false
}

// speedOpenAt returns the open-loop point at rate r (skipped or not).
func speedOpenAt(points []bench.Point, r float64) (bench.Point, bool) {
	for _, p := range points {
		if p.Rate == r {
			return p, true
		}
	}
	return bench.Point{}, false
}

// speedPointName names a point: "8 clients" or "75 orders/s".
func speedPointName(p bench.Point) string {
	if p.Mode == bench.ModeOpen {
		return speedRate(p.Rate) + " orders/s"
	}
	return Clients(p.Clients)
}

// Clients says "1 client" or "n clients".
func Clients(n int) string {
	if n == 1 {
		return "1 client"
	}
	return strconv.Itoa(n) + " clients"
}

// speedNum formats a measured value: no decimals from 100 up, one from 10,
// two below.
func speedNum(x float64) string {
	switch a := math.Abs(x); {
	case a >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	default:
		return strconv.FormatFloat(x, 'f', 2, 64)
	}
}

// speedShare formats a share as a whole percentage, "-" for none.
func speedShare(s float64) string {
	if s <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f %%", 100*s)
}

// speedRate formats a rate without needless decimals.
func speedRate(r float64) string { return strconv.FormatFloat(r, 'f', -1, 64) }

// speedJoinInts joins numbers with commas.
func speedJoinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// speedJoinRates joins rates with commas.
func speedJoinRates(rs []float64) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = speedRate(r)
	}
	return strings.Join(s, ", ")
}

// speedRound rounds x to n significant digits.
func speedRound(x float64, n int) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	scale := math.Pow(10, float64(n)-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*scale) / scale
}

// speedIndent indents every line written through it by two spaces, as
// the compare command's progress lines.
type speedIndent struct {
	w     io.Writer
	start bool
}

// Write writes p, each line indented.
func (s *speedIndent) Write(p []byte) (int, error) {
	var b bytes.Buffer
	for _, c := range p {
		if s.start && c != '\n' && c != '\r' {
			b.WriteString("  ")
		}
		b.WriteByte(c)
		s.start = c == '\n' || c == '\r'
	}
	if _, err := s.w.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}
