package failure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	chbroker "github.com/ordersaga/ordersaga/choreographed/broker"
	"github.com/ordersaga/ordersaga/deploy/chaos"
	"github.com/ordersaga/ordersaga/deploy/compare/report"
	"github.com/ordersaga/ordersaga/deploy/compare/section"
	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/scenario"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
	"github.com/ordersaga/ordersaga/shared/timeline"
)

// The failure section's settings.
const (
	// compensationOrdersQuick and compensationOrdersFull are the orders
	// placed of each failure kind.
	compensationOrdersQuick = 3
	compensationOrdersFull  = 10
	// cancelHold slows the shipping service's every call down while the
	// cancel orders are placed, so that the cancel meets the shipping step
	// running.
	cancelHold = 250 * time.Millisecond
	// burstQuick and burstFull are the orders of a disrupted burst (the
	// full one as the chaos tests'); strikeQuick and strikeFull of them are
	// accepted before the strike.
	burstQuick, strikeQuick = 24, 8
	burstFull, strikeFull   = 60, 20
	// warmUpOrders go through a cluster before its first disruption.
	warmUpOrders = 4
	// infraOutage is how long the broker or the Temporal server stays
	// down; paymentDBOutage how long the payment database refuses
	// connections: longer than the choreographed consumers' quick retries
	// (about 8 s).
	infraOutage     = 3 * time.Second
	paymentDBOutage = 12 * time.Second
	// QuickLongFault is the one long-fault scenario of quick mode.
	QuickLongFault = "outage_past_deadline_payment"
)

// Kind is a way an order is designed to fail in the compensation
// measure.
type Kind struct {
	key string // short, part of the orders' ids
	// Label names the kind in the section's figures and tables.
	Label string
	// step refuses the order with reason; "" for a cancel.
	step   domain.StepName
	reason domain.FailureReason
	undo   string // what is undone, for the report
}

// Kinds returns the kinds of the compensation measure, the cancel
// last.
func Kinds() []Kind {
	return []Kind{
		{"oos", "out of stock", domain.StepInventory, domain.ReasonOutOfStock, "nothing to undo"},
		{"declined", "payment declined", domain.StepPayment, domain.ReasonPaymentDeclined, "stock released"},
		{"noship", "shipping unavailable", domain.StepShipping, domain.ReasonShippingUnavailable, "payment refunded, stock released"},
		{"cancel", "cancel while shipping runs", "", domain.ReasonCancelled, "shipment, payment and stock undone"},
	}
}

// failureData is the failure section's detailed result.
type failureData struct {
	// Compensation is, by variant, the compensation times of each kind.
	Compensation map[string][]kindTimes `json:"compensation"`
	// Disruptions is, by variant, what each crash or outage measured.
	Disruptions map[string][]disruptionResult `json:"disruptions"`
	// LongFaults is, by variant, how each long-fault scenario ended.
	LongFaults map[string][]longFaultResult `json:"long_faults"`
}

// kindTimes are the compensation times of one failure kind.
type kindTimes struct {
	Kind      string    `json:"kind"`
	Undone    string    `json:"undone"`
	N         int       `json:"n"`
	MedianMS  float64   `json:"median_ms"`
	MaxMS     float64   `json:"max_ms"`
	SamplesMS []float64 `json:"samples_ms"`
}

// disruptionResult is what one crash or outage measured on a cluster.
type disruptionResult struct {
	Scenario string `json:"scenario"`
	What     string `json:"what"`
	Orders   int    `json:"orders"`
	// DownS runs from the strike until the cluster was back;
	// AfterStrikeS from the strike until every order was final,
	// AfterBackS from the cluster being back until then.
	DownS        float64 `json:"down_s"`
	AfterStrikeS float64 `json:"after_strike_s"`
	AfterBackS   float64 `json:"after_back_s"`
	// SlowestOrderS is the longest time from an order's first POST to its
	// final state; BoundS what each order was allowed.
	SlowestOrderS float64  `json:"slowest_order_s"`
	BoundS        float64  `json:"bound_s"`
	Retried       int64    `json:"retried_posts"`
	Lost          int      `json:"lost"`
	Doubled       int      `json:"doubled"`
	Passed        bool     `json:"passed"`
	Failures      []string `json:"failures,omitempty"`
}

// longFaultResult is how one long-fault scenario ended on a variant.
type longFaultResult struct {
	Scenario string `json:"scenario"`
	// Outcome is each order's final status and reason.
	Outcome string `json:"outcome"`
	// TimeToFinalS is the slowest order's time from its POST to its final
	// state.
	TimeToFinalS float64  `json:"time_to_final_s"`
	AsDesigned   bool     `json:"as_designed"`
	Failures     []string `json:"failures,omitempty"`
}

// Section measures, on both variants, how long a failed order
// takes to undo its steps, how a cluster of processes of the binary
// recovers from a crash of each service and from an outage of its broker
// or Temporal server, and how the long-fault scenarios end.
func Section(ctx context.Context, e *section.Env) (*report.Section, error) {
	sec := &report.Section{}
	data := failureData{Compensation: map[string][]kindTimes{}, Disruptions: map[string][]disruptionResult{},
		LongFaults: map[string][]longFaultResult{}}
	sec.Data = &data
	var errs []error

	n := compensationOrdersFull
	if e.Quick {
		n = compensationOrdersQuick
	}
	for _, v := range report.Variants() {
		if ctx.Err() != nil {
			return sec, ctx.Err()
		}
		t0 := time.Now()
		kt, err := compensationTimes(ctx, e, v, n)
		e.Progressf("compensation times on %s: %d orders of each kind in %v", v, n, time.Since(t0).Round(time.Millisecond))
		data.Compensation[v] = kt
		if err != nil {
			errs = append(errs, fmt.Errorf("compensation on %s: %w", v, err))
		}
	}

	// The rest of the section does not use the sections' stacks. On
	// PostgreSQL their pools hold up to a hundred connections, a default
	// server's whole allowance, which the crash clusters' payment database
	// and its outage need: the stacks stop here (no later section uses
	// them; their Temporal server and broker keep running until the end).
	if e.Rig != nil && e.PostgresURL != "" {
		if err := e.Rig.StopStacks(); err != nil {
			errs = append(errs, fmt.Errorf("stopping the sections' stacks before the crashes: %w", err))
		}
		e.Progressf("the sections' stacks stopped: their PostgreSQL connections are the crash clusters' now")
	}

	scs := longFaultScenarios(e.Quick)
	shortURLs, err := e.ShortDeadlineURLs(ctx)
	if err != nil {
		errs = append(errs, err)
		scs = nil
	}
	var wg sync.WaitGroup
	var crashErr error
	var crashNotes []string
	// The clusters run beside the long-fault scenarios: the scenarios
	// mostly wait out their faults on the in-process stacks.
	wg.Go(func() {
		data.Disruptions, crashNotes, crashErr = crashes(ctx, e)
	})
	for _, sc := range scs {
		if ctx.Err() != nil {
			break
		}
		t0 := time.Now()
		rs := longFault(ctx, e, shortURLs, sc)
		e.Progressf("long-fault scenario %s on both variants in %v", sc.Name, time.Since(t0).Round(time.Millisecond))
		for v, r := range rs {
			data.LongFaults[v] = append(data.LongFaults[v], r)
			if !r.AsDesigned {
				errs = append(errs, fmt.Errorf("long-fault scenario %s on %s did not end as designed: %s", sc.Name, v, strings.Join(r.Failures, "; ")))
			}
		}
	}
	wg.Wait()
	if crashErr != nil {
		errs = append(errs, crashErr)
	}

	fillFailureSection(sec, e, &data, scs)
	sec.Notes = append(sec.Notes, crashNotes...)
	if e.Quick {
		sec.Notes = append(sec.Notes, fmt.Sprintf("Quick mode: %d orders of each failure kind; only the payment service's kill and the broker or Temporal outage, "+
			"bursts of %d orders; of the long-fault scenarios only %s (a payment outage past the step deadline).", n, burstQuick, QuickLongFault))
	}
	sec.Notes = append(sec.Notes,
		fmt.Sprintf("POSTs retried: the orchestrated orders process admits at most %d orders in flight (the choreographed %d); while a crash or an outage "+
			"holds orders pending, a POST beyond that is answered 503 with Retry-After and sent again, and the count includes those answers. A POST to a "+
			"killed orders process gets no answer and is sent again too.", httpapi.DefaultMaxInFlightOrchestrated, httpapi.DefaultMaxInFlightChoreographed),
		"The cancel's time starts at the client's clock when the cancel was sent and ends at the stack's clock (the timeline): the same clock for the "+
			"in-process stacks. The other kinds are timed by the stack's timeline alone.",
		fmt.Sprintf("The crash clusters' processes run with the default step deadline and without fault injection; the compensation times are "+
			"measured on the in-process stacks of the other sections (default step deadline, fault injection on), the long-fault scenarios on a "+
			"second pair of in-process stacks on SQLite whose step deadline is %v.", e.Policy.StepDeadline))
	for _, v := range report.Variants() {
		if e.External[v] {
			sec.Notes = append(sec.Notes, fmt.Sprintf("The %s stack is given by URL: its crashes and outages are not measured (that part starts, kills and restarts "+
				"processes of its own); its compensation times and long-fault outcomes are, against the stack as given, whose step deadline the report "+
				"assumes to be %v.", v, e.Policy.StepDeadline))
		}
	}
	return sec, errors.Join(errs...)
}

// longFaultScenarios returns the long-fault scenarios of the run: all of
// scenario.FailureScenarios, or QuickLongFault alone in quick mode.
func longFaultScenarios(quick bool) []scenario.Scenario {
	all := scenario.FailureScenarios()
	if !quick {
		return all
	}
	for _, sc := range all {
		if sc.Name == QuickLongFault {
			return []scenario.Scenario{sc}
		}
	}
	return all[:1]
}

// compensationTimes places n orders of each failure kind on variant v, one
// at a time, and returns how long each kind took from the refusal to the
// order final with every done step undone, read from the orders'
// timelines.
func compensationTimes(ctx context.Context, e *section.Env, v string, n int) ([]kindTimes, error) {
	kinds := Kinds()
	samples := map[string][]time.Duration{}
	var measureErrs []string
	tg := scenario.Target{Name: v, BaseURL: e.URLs[v], Keys: e.Keys}
	rec := section.RunRecorded(ctx, v+" compensation", nil, func(tb testing.TB) {
		scenario.RunScenario(tb, tg, scenario.Scenario{Name: "compensation", Run: func(tb testing.TB, se *scenario.Env) scenario.Result {
			stock := se.Product("stock", 500, 1_000_000)
			few := se.Product("few", 100, 1)
			rich := se.Customer("rich", 1_000_000_000)
			poor := se.Customer("poor", 100)
			type placed struct {
				kind       Kind
				name       string
				cancelSent time.Time
			}
			var orders []placed
			for i := range n {
				for _, k := range kinds {
					if k.step == "" {
						continue
					}
					name := fmt.Sprintf("%s-%d", k.key, i)
					var req scenario.OrderRequest
					switch k.step {
					case domain.StepInventory:
						req = se.Request(name, rich, "DE", scenario.Line{SKU: few, Quantity: 5})
					case domain.StepPayment:
						req = se.Request(name, poor, "DE", scenario.Line{SKU: stock, Quantity: 1})
					case domain.StepShipping:
						req = se.Request(name, rich, "AQ", scenario.Line{SKU: stock, Quantity: 1})
					}
					se.Place(name, req)
					se.WaitFinal(name)
					orders = append(orders, placed{kind: k, name: name})
				}
			}
			cancel := kinds[len(kinds)-1]
			se.SetFaults(scenario.Faults{string(domain.StepShipping): {LatencyMS: cancelHold.Milliseconds()}})
			for i := range n {
				name := fmt.Sprintf("%s-%d", cancel.key, i)
				se.Place(name, se.Request(name, rich, "DE", scenario.Line{SKU: stock, Quantity: 1}))
				se.WaitStep(name, domain.StepPayment, domain.StepDone)
				sent := time.Now()
				if r := se.Cancel(name); r.Status != http.StatusAccepted {
					tb.Errorf("cancel of order %s while its shipping step ran: %v, want 202", name, r)
				}
				se.WaitFinal(name)
				orders = append(orders, placed{kind: cancel, name: name, cancelSent: sent})
			}
			se.ResetFaults()
			res := se.Finish()
			for _, o := range orders {
				want := scenario.WantCancelledAt(domain.StepShipping)
				if o.kind.step != "" {
					want = scenario.WantRefused(o.kind.step, o.kind.reason)
				}
				scenario.ExpectOrder(tb, res, o.name, want)
			}
			scenario.ExpectStock(tb, res, "stock", 0)
			scenario.ExpectStock(tb, res, "few", 0)
			scenario.ExpectCredit(tb, res, "rich", 0)
			scenario.ExpectCredit(tb, res, "poor", 0)
			for _, o := range orders {
				d, err := compensationTime(se.Timeline(o.name), o.kind, o.cancelSent)
				if err == nil {
					samples[o.kind.key] = append(samples[o.kind.key], d)
				} else {
					measureErrs = append(measureErrs, fmt.Sprintf("order %s: %v", o.name, err))
				}
			}
			return res
		}})
	})
	var out []kindTimes
	for _, k := range kinds {
		ds := samples[k.key]
		kt := kindTimes{Kind: k.Label, Undone: k.undo, N: len(ds)}
		for _, d := range ds {
			kt.SamplesMS = append(kt.SamplesMS, failureMS(d))
		}
		if len(ds) > 0 {
			med, mx := failureMedianMax(ds)
			kt.MedianMS, kt.MaxMS = failureMS(med), failureMS(mx)
		}
		out = append(out, kt)
	}
	failures := append(rec.Failures(), measureErrs...)
	if rec.Failed() || len(measureErrs) > 0 {
		return out, errors.New(strings.Join(failures, "; "))
	}
	return out, nil
}

// compensationTime returns the time from an order's refusal (its failed
// step's step_failed entry; for a cancel, cancelSent) to its last
// step_compensated or order_final entry: when it was final with every done
// step undone.
func compensationTime(entries []scenario.TimelineEntry, k Kind, cancelSent time.Time) (time.Duration, error) {
	start := cancelSent
	if k.step != "" {
		start = time.Time{}
		for _, en := range entries {
			if en.Kind == string(timeline.KindStepFailed) && en.Step == k.step {
				start = en.At
				break
			}
		}
		if start.IsZero() {
			return 0, fmt.Errorf("the timeline has no step_failed entry for %s", k.step)
		}
	}
	var end time.Time
	for _, en := range entries {
		if (en.Kind == string(timeline.KindStepCompensated) || en.Kind == string(timeline.KindOrderFinal)) && en.At.After(end) {
			end = en.At
		}
	}
	if end.IsZero() {
		return 0, errors.New("the timeline has no order_final entry")
	}
	if d := end.Sub(start); d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("the last compensation (%v) is not after the refusal (%v)", end, start)
}

// crashes runs the disruptions on a cluster of processes of each variant
// not given by URL, both at once, and returns what they measured by
// variant, with notes on what was not run.
func crashes(ctx context.Context, e *section.Env) (map[string][]disruptionResult, []string, error) {
	out := map[string][]disruptionResult{}
	var notes []string
	var vs []string
	for _, v := range report.Variants() {
		if !e.External[v] {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return out, notes, nil
	}
	bin, err := failureBinary(e)
	if err != nil {
		return out, notes, err
	}
	pg := e.PostgresURL
	if pg == "" {
		pg = sqltest.PostgresURL()
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, v := range vs {
		wg.Go(func() {
			rs, note, err := crashVariant(ctx, e, v, bin, pg)
			mu.Lock()
			defer mu.Unlock()
			out[v] = rs
			if note != "" {
				notes = append(notes, note)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("crashes on %s: %w", v, err))
			}
		})
	}
	wg.Wait()
	slices.Sort(notes)
	return out, notes, errors.Join(errs...)
}

// failureBinary returns the ordersaga binary the clusters run: the
// option's, else the running executable, unless that is a test binary.
func failureBinary(e *section.Env) (string, error) {
	if e.Binary != "" {
		return e.Binary, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("the ordersaga binary: %w", err)
	}
	if strings.HasSuffix(exe, ".test") {
		return "", fmt.Errorf("the ordersaga binary: %s is a test binary; give the built ordersaga binary as Options.Binary", exe)
	}
	return exe, nil
}

// crashVariant starts a cluster of variant v (a process of bin for each
// role, its broker or Temporal server in this process, data under the
// run's folder) and runs the disruptions of the mode on it, one after
// another, each as a run of its own; it stops at the first that fails. It
// returns what each measured and a note on the payment database.
func crashVariant(ctx context.Context, e *section.Env, v, bin, pg string) ([]disruptionResult, string, error) {
	dir := filepath.Join(e.Dir, "failure", v)
	var (
		out  []disruptionResult
		note string
		errs []error
	)
	rec := section.RunRecorded(ctx, v+" cluster", nil, func(tb testing.TB) {
		for _, d := range []string{"data", "infra"} {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
				tb.Fatalf("data folder: %v", err)
			}
		}
		var in chaos.Infra
		pv := process.Variant(v)
		if pv == process.Orchestrated {
			in = chaos.NewTemporal(tb, filepath.Join(dir, "infra"))
		} else {
			in = chaos.NewBroker(tb, filepath.Join(dir, "infra"))
		}
		payDB, err := chaos.PostgresDatabase(tb, pg)
		if err != nil {
			note = fmt.Sprintf("The %s cluster's payment database is a SQLite file: PostgreSQL did not answer (%v), so its outage was not measured.", v, err)
			payDB = ""
		}
		e.Progressf("crashes on %s: starting a process for each role", v)
		t0 := time.Now()
		c := chaos.StartCluster(tb, pv, in, chaos.Config{Binary: bin, Dir: filepath.Join(dir, "data"), PaymentDB: payDB})
		e.Progressf("crashes on %s: cluster ready in %v", v, time.Since(t0).Round(time.Millisecond))
		for _, d := range failureDisruptions(c, e.Quick) {
			if ctx.Err() != nil {
				errs = append(errs, ctx.Err())
				return
			}
			var m chaos.Measure
			ran, t1 := false, time.Now()
			drec := section.RunRecorded(ctx, v+" "+d.Scenario, nil, func(tb testing.TB) {
				m = chaos.RunDisruption(tb, c, d)
				ran = true
			})
			r := disruptionResult{Scenario: d.Scenario, What: d.What, Orders: d.Orders, Passed: !drec.Failed() && ran, Failures: drec.Failures()}
			if ran {
				r.DownS, r.AfterStrikeS, r.AfterBackS = failureSecs(m.Down), failureSecs(m.AfterStrike), failureSecs(m.AfterBack)
				r.SlowestOrderS, r.BoundS = failureSecs(m.SlowestOrder), failureSecs(m.Bound)
				r.Retried, r.Lost, r.Doubled = m.Retried(), m.Lost, m.Doubled
			}
			out = append(out, r)
			e.Progressf("crashes on %s: %s: every order final %.1f s after the strike, %d POSTs retried, %d lost, %d doubled (burst of %d in %v)%s",
				v, d.What, r.AfterStrikeS, r.Retried, r.Lost, r.Doubled, d.Orders, time.Since(t1).Round(time.Millisecond), failedText(r.Passed))
			if !r.Passed {
				errs = append(errs, fmt.Errorf("%s: %s", d.Scenario, strings.Join(r.Failures, "; ")))
				return // the cluster may be left broken
			}
		}
	})
	if rec.Failed() {
		errs = append(errs, fmt.Errorf("the cluster: %s", strings.Join(rec.Failures(), "; ")))
	}
	return out, note, errors.Join(errs...)
}

// failedText is " (FAILED)" for a run that did not pass.
func failedText(passed bool) string {
	if passed {
		return ""
	}
	return " (FAILED)"
}

// disruptions returns the disruptions of the mode, after a warm-up: in
// quick mode the payment service's kill and the infrastructure's outage;
// else every service's kill, the payment database's outage (when it is on
// PostgreSQL) and the infrastructure's outage.
func failureDisruptions(c *chaos.Cluster, quick bool) []chaos.Disruption {
	orders, strike := burstFull, strikeFull
	roles := hosted.AllRoles()
	if quick {
		orders, strike = burstQuick, strikeQuick
		roles = []hosted.Role{hosted.RolePayment}
	}
	ds := []chaos.Disruption{chaos.Undisturbed("warm_up", "none (first orders)", warmUpOrders)}
	for _, r := range roles {
		ds = append(ds, c.KillRestart(r, orders))
	}
	if !quick && c.PaymentOnPostgres() {
		ds = append(ds, c.PaymentDBOutage(paymentDBOutage, orders))
	}
	ds = append(ds, c.InfraOutage(infraOutage, orders))
	for i := range ds {
		ds[i].StrikeAfter = strike
	}
	return ds
}

// longFault runs the scenario on both variants at once and returns how it
// ended on each.
func longFault(ctx context.Context, e *section.Env, urls map[string]string, sc scenario.Scenario) map[string]longFaultResult {
	out := map[string]longFaultResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, v := range report.Variants() {
		wg.Go(func() {
			tg := scenario.Target{Name: v, BaseURL: urls[v], Keys: e.Keys, StepDeadline: e.Policy.StepDeadline}
			var res scenario.Result
			rec := section.RunRecorded(ctx, v+" "+sc.Name, nil, func(tb testing.TB) { res = scenario.RunScenario(tb, tg, sc) })
			r := longFaultResult{Scenario: sc.Name, Outcome: longFaultOutcome(res), TimeToFinalS: failureSecs(res.MaxTook()),
				AsDesigned: !rec.Failed() && res.Scenario != "", Failures: rec.Failures()}
			mu.Lock()
			out[v] = r
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// longFaultOutcome says how each order of r ended: "failed step_unavailable",
// or "name: status reason" for each of several.
func longFaultOutcome(r scenario.Result) string {
	names := r.OrderNames()
	if len(names) == 0 {
		return "-"
	}
	var parts []string
	for _, n := range names {
		o := r.Orders[n]
		s := string(o.Status)
		if o.FailureReason != "" {
			s += " " + string(o.FailureReason)
		}
		if len(names) > 1 {
			s = n + ": " + s
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// fillFailureSection adds the figures, tables, charts, method and summary
// of what was measured.
func fillFailureSection(sec *report.Section, e *section.Env, d *failureData, scs []scenario.Scenario) {
	vs := report.Variants()
	sec.Method = fmt.Sprintf("Compensation: on the in-process stacks (fault injection on, step deadline %v), orders designed to fail at each step are placed "+
		"one at a time: out of stock (inventory refuses, nothing to undo), payment declined (the stock reservation released), shipping unavailable "+
		"(a country no shipping service serves: the payment refunded and the stock released), and a cancel sent while the shipping step runs "+
		"(its service slowed by %v a call, so the cancel waits for the running call and for the shipment's compensation). The time runs from the "+
		"refusal (the failed step's step_failed entry of GET /v1/orders/{id}/timeline; for the cancel, when the cancel was sent) to the order's "+
		"last step_compensated or order_final entry, read once the order is final and settled. "+
		"Crashes and outages: each variant runs as a process of the ordersaga binary per role (SQLite files; the payment database on PostgreSQL "+
		"when it answers), the broker or the Temporal server embedded in the comparing process; both variants' clusters run at once, beside the "+
		"long-fault scenarios. After a warm-up, each disruption strikes in the middle of a burst (%d orders, %d clients, some designed to fail; "+
		"%d in quick mode) once some orders are accepted and the service it hits has work in hand: kill -9 of a service's process and a restart "+
		"on the same data, the payment database refusing connections for %v, the broker or the Temporal server down %v and started again. "+
		"Every accepted order must end final with its designed outcome, listed exactly once, stock and credit exact, each within %v of its first "+
		"POST; a POST that gets no answer or a 503 is sent again with the same order_id. What bounds a take-over: the choreographed consumer "+
		"group's session timeout (%v) and rebalance timeout (%v); the orchestrated activities' attempt timeout (%v) and longest retry backoff (%v), "+
		"and the Temporal client's call timeout (10 s); the processes' step deadline is the default %v. "+
		"Long faults: scenario.FailureScenarios on both in-process stacks at once (a service failing past the quick retries and recovering before the "+
		"step deadline, failing past it, a cancel while compensating), each checked by the suite; time to final is the slowest order's, POST to final.",
		e.Policy.StepDeadline, cancelHold, burstFull, chaos.BurstClients, burstQuick, paymentDBOutage, infraOutage, chaos.FinalBound,
		chbroker.DefaultSessionTimeout, chbroker.RebalanceTimeout, workflow.AttemptTimeout, workflow.RetryMaxInterval, saga.DefaultStepDeadline)

	// Compensation.
	ct := report.Table{Title: "Compensation time per failure kind (refusal to final with every step undone)",
		Columns: []string{"kind", "undone", "orchestrated median", "orchestrated max", "choreographed median", "choreographed max", "orders each"}}
	cc := report.Chart{Title: "Compensation time per failure kind (median)", Unit: "ms", LowerIsBetter: true}
	for i, k := range Kinds() {
		row := []string{k.Label, k.undo}
		g := report.BarGroup{Label: k.Label}
		ns := []string{}
		for _, v := range vs {
			if i >= len(d.Compensation[v]) || d.Compensation[v][i].N == 0 {
				row = append(row, "-", "-")
				continue
			}
			kt := d.Compensation[v][i]
			sec.Add(v, "compensation time, "+k.Label+", median", kt.MedianMS, "ms", "")
			sec.Add(v, "compensation time, "+k.Label+", max", kt.MaxMS, "ms", "")
			row = append(row, fmt.Sprintf("%.0f ms", kt.MedianMS), fmt.Sprintf("%.0f ms", kt.MaxMS))
			g.Bars = append(g.Bars, report.Bar{Series: v, Value: kt.MedianMS})
			ns = append(ns, fmt.Sprint(kt.N))
		}
		ct.Rows = append(ct.Rows, append(row, strings.Join(ns, "/")))
		cc.Groups = append(cc.Groups, g)
	}
	sec.Tables = append(sec.Tables, ct)
	sec.Charts = append(sec.Charts, cc)
	sec.Summary = append(sec.Summary, compensationSummary(d)...)

	// Disruptions.
	dt := report.Table{Title: "Crashes and outages mid-burst (clusters of processes)",
		Columns: []string{"disruption", "orchestrated: all final after strike", "choreographed: all final after strike",
			"orchestrated: down", "choreographed: down", "POSTs retried (orch./chor.)", "lost (orch./chor.)", "doubled (orch./chor.)"}}
	rc := report.Chart{Title: "Recovery time per disruption (strike to every order of the burst final)", Unit: "s", LowerIsBetter: true}
	for _, key := range disruptionKeys(d) {
		row := []string{DisruptionLabel(key)}
		var after, down, retried, lost, doubled []string
		g := report.BarGroup{Label: DisruptionLabel(key)}
		for _, v := range vs {
			r, ok := findDisruption(d.Disruptions[v], key)
			if !ok || !r.Passed {
				after, down = append(after, "-"), append(down, "-")
				retried, lost, doubled = append(retried, "-"), append(lost, "-"), append(doubled, "-")
				continue
			}
			name := DisruptionLabel(key)
			sec.Add(v, name+": every order final after the strike", r.AfterStrikeS, "s", "")
			sec.Add(v, name+": down", r.DownS, "s", "from the strike until the process was ready or the server answered again")
			sec.Add(v, name+": POSTs retried", float64(r.Retried), "POSTs", "POST attempts that got no answer or a 503 and were sent again")
			sec.Add(v, name+": orders lost", float64(r.Lost), "orders", "accepted orders not final or not listed")
			sec.Add(v, name+": orders doubled", float64(r.Doubled), "orders", "listings beyond one per accepted order")
			after = append(after, fmt.Sprintf("%.1f s", r.AfterStrikeS))
			down = append(down, fmt.Sprintf("%.1f s", r.DownS))
			retried, lost, doubled = append(retried, fmt.Sprint(r.Retried)), append(lost, fmt.Sprint(r.Lost)), append(doubled, fmt.Sprint(r.Doubled))
			g.Bars = append(g.Bars, report.Bar{Series: v, Value: r.AfterStrikeS})
		}
		row = append(row, after...)
		row = append(row, down...)
		row = append(row, strings.Join(retried, "/"), strings.Join(lost, "/"), strings.Join(doubled, "/"))
		dt.Rows = append(dt.Rows, row)
		rc.Groups = append(rc.Groups, g)
	}
	if len(dt.Rows) > 0 {
		sec.Tables = append(sec.Tables, dt)
		sec.Charts = append(sec.Charts, rc)
	}
	// The disruptions' findings lead the section's summary (its first line
	// is the report's headline of the section).
	sec.Summary = append(disruptionSummary(d), sec.Summary...)

	// Long faults.
	lt := report.Table{Title: "Long faults (scenario.FailureScenarios): how the orders ended",
		Columns: []string{"scenario", "orchestrated: outcome", "orchestrated: time to final", "choreographed: outcome", "choreographed: time to final", "as designed (orch./chor.)"}}
	for _, sc := range scs {
		row := []string{sc.Name}
		var designed []string
		for _, v := range vs {
			r, ok := findLongFault(d.LongFaults[v], sc.Name)
			if !ok {
				row = append(row, "-", "-")
				designed = append(designed, "-")
				continue
			}
			yes := 0.0
			if r.AsDesigned {
				yes = 1
			}
			sec.Add(v, sc.Name+": time to final", r.TimeToFinalS, "s", "")
			sec.Add(v, sc.Name+": ended as designed", yes, "1 = yes", "")
			row = append(row, r.Outcome, fmt.Sprintf("%.1f s", r.TimeToFinalS))
			designed = append(designed, failureYesNo(r.AsDesigned))
		}
		lt.Rows = append(lt.Rows, append(row, strings.Join(designed, "/")))
	}
	sec.Tables = append(sec.Tables, lt)
	sec.Summary = append(sec.Summary, longFaultSummary(d, scs)...)
}

// compensationSummary says per kind how the variants' medians compare.
func compensationSummary(d *failureData) []string {
	var out []string
	for i, k := range Kinds() {
		o, c := d.Compensation[report.Orchestrated], d.Compensation[report.Choreographed]
		if i >= len(o) || i >= len(c) || o[i].N == 0 || c[i].N == 0 {
			continue
		}
		from := "the refusal"
		if k.step == "" {
			from = "the cancel was sent"
		}
		out = append(out, fmt.Sprintf("%s (%s): final and undone %.0f ms after %s on the orchestrated variant, %.0f ms on the choreographed (median; max %.0f / %.0f ms).",
			failureCapitalize(k.Label), k.undo, o[i].MedianMS, from, c[i].MedianMS, o[i].MaxMS, c[i].MaxMS))
	}
	return out
}

// disruptionSummary says per disruption how long the variants took to
// finish the burst, and whether any order was lost or doubled.
func disruptionSummary(d *failureData) []string {
	var out []string
	lost, doubled, runs := 0, 0, 0
	for _, key := range disruptionKeys(d) {
		var parts []string
		for _, v := range report.Variants() {
			if r, ok := findDisruption(d.Disruptions[v], key); ok && r.Passed {
				parts = append(parts, fmt.Sprintf("%.1f s on the %s variant", r.AfterStrikeS, v))
				lost, doubled, runs = lost+r.Lost, doubled+r.Doubled, runs+1
			}
		}
		if len(parts) > 0 {
			out = append(out, fmt.Sprintf("%s: every order of the burst final %s after the strike.", failureCapitalize(DisruptionLabel(key)), strings.Join(parts, ", ")))
		}
	}
	if runs > 0 {
		var worst []string
		for _, v := range report.Variants() {
			w, retried, n := 0.0, int64(0), 0
			for _, r := range d.Disruptions[v] {
				if r.Passed {
					w, retried, n = max(w, r.AfterStrikeS), retried+r.Retried, n+1
				}
			}
			if n > 0 {
				worst = append(worst, fmt.Sprintf("%s within %.1f s of the strike (%d POSTs sent again)", v, w, retried))
			}
		}
		out = append([]string{fmt.Sprintf("Over %d disrupted bursts (kill -9 of a service, a database or the broker or Temporal server away): %d orders lost, "+
			"%d doubled; every order final, %s.", runs, lost, doubled, strings.Join(worst, ", "))}, out...)
	}
	return out
}

// longFaultSummary says how the long-fault scenarios ended.
func longFaultSummary(d *failureData, scs []scenario.Scenario) []string {
	var out []string
	for _, sc := range scs {
		var parts []string
		for _, v := range report.Variants() {
			if r, ok := findLongFault(d.LongFaults[v], sc.Name); ok {
				state := "as designed"
				if !r.AsDesigned {
					state = "NOT as designed"
				}
				parts = append(parts, fmt.Sprintf("%s %s in %.1f s (%s)", v, r.Outcome, r.TimeToFinalS, state))
			}
		}
		out = append(out, fmt.Sprintf("Long fault %s: %s.", sc.Name, strings.Join(parts, "; ")))
	}
	return out
}

// disruptionKeys returns the disruptions either variant ran, warm-up
// aside, in the order run; the infrastructure's outage of each variant
// under one key.
func disruptionKeys(d *failureData) []string {
	var keys []string
	for _, v := range report.Variants() {
		for _, r := range d.Disruptions[v] {
			k := disruptionKey(r.Scenario)
			if k != "warm_up" && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// disruptionKey names a disruption alike on both variants: the broker's
// and the Temporal server's outages are "infra_outage".
func disruptionKey(scenario string) string {
	if scenario == "broker_outage" || scenario == "temporal_outage" {
		return "infra_outage"
	}
	return scenario
}

// DisruptionLabel says what a disruption key is, for the report.
func DisruptionLabel(key string) string {
	switch {
	case key == "infra_outage":
		return fmt.Sprintf("broker / Temporal server down %v", infraOutage)
	case key == "payment_db_outage":
		return fmt.Sprintf("payment database down %v", paymentDBOutage)
	case strings.HasPrefix(key, "kill_"):
		return "kill -9 " + strings.TrimPrefix(key, "kill_")
	}
	return key
}

func findDisruption(rs []disruptionResult, key string) (disruptionResult, bool) {
	for _, r := range rs {
		if disruptionKey(r.Scenario) == key {
			return r, true
		}
	}
	return disruptionResult{}, false
}

func findLongFault(rs []longFaultResult, name string) (longFaultResult, bool) {
	for _, r := range rs {
		if r.Scenario == name {
			return r, true
		}
	}
	return longFaultResult{}, false
}

// failureMedianMax returns the median and the largest of ds (not empty).
func failureMedianMax(ds []time.Duration) (time.Duration, time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return med, s[len(s)-1]
}

func failureMS(d time.Duration) float64   { return float64(d.Microseconds()) / 1000 }
func failureSecs(d time.Duration) float64 { return d.Seconds() }

func failureYesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// failureCapitalize upper-cases the first letter of s.
func failureCapitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
