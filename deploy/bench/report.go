package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Mode is how a point loads its target.
type Mode string

// The modes.
const (
	ModeClosed Mode = "closed" // a fixed number of clients, each waiting for its last order
	ModeOpen   Mode = "open"   // orders arriving at a fixed rate
)

// Report is what a run measured. It round-trips through JSON.
type Report struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Setup    Setup     `json:"setup"`
	Settings Settings  `json:"settings"`
	// Calibration is what the run measured of its database server, which
	// the closed-loop points' PerCalibration divide by; nil when the run
	// did not calibrate.
	Calibration *Calibration    `json:"calibration,omitempty"`
	Variants    []VariantResult `json:"variants"`
	Ceilings    []CeilingResult `json:"ceilings,omitempty"`
}

// Setup describes where the figures were measured.
type Setup struct {
	Machine   string `json:"machine"`
	GoVersion string `json:"go_version"`
	// Databases, Temporal and Broker say what the stacks and the ceilings
	// ran on (e.g. "SQLite files, one per service").
	Databases string   `json:"databases,omitempty"`
	Temporal  string   `json:"temporal,omitempty"`
	Broker    string   `json:"broker,omitempty"`
	Notes     []string `json:"notes,omitempty"`
}

// Settings are the options the run used.
type Settings struct {
	Concurrencies []int     `json:"concurrencies"`
	Rates         []float64 `json:"rates_per_s,omitempty"`
	DurationS     float64   `json:"duration_s"`
	WarmupS       float64   `json:"warmup_s"`
	Wait          string    `json:"wait"`
	OrderTimeoutS float64   `json:"order_timeout_s"`
	MaxInFlight   int       `json:"max_in_flight"`
	Products      int       `json:"products"`
	Customers     int       `json:"customers"`
	FailureShare  float64   `json:"failure_share"`
	Seed          uint64    `json:"seed"`
	RunID         string    `json:"run_id"`
	// SLOSeconds is the latency objective of the open loop's goodput.
	SLOSeconds float64 `json:"slo_s,omitempty"`
}

// VariantResult is what one target measured.
type VariantResult struct {
	Name      string    `json:"name"`
	BaseURL   string    `json:"base_url"`
	Framework Framework `json:"framework,omitempty"`
	Closed    []Point   `json:"closed"`
	Open      []Point   `json:"open,omitempty"`
	// PeakShareOfCeiling is the best closed-loop throughput over the best
	// ceiling throughput of its framework (0 without a ceiling).
	PeakShareOfCeiling float64 `json:"peak_share_of_ceiling,omitempty"`
	// TemporalCommits is the count of the Temporal server's persistence
	// commits per order (Options.TemporalCommits), nil when not counted.
	TemporalCommits *CommitCount `json:"temporal_commits,omitempty"`
}

// CeilingResult is what one ceiling run measured.
type CeilingResult struct {
	Framework   Framework `json:"framework"`
	Description string    `json:"description"`
	Closed      []Point   `json:"closed"`
	Error       string    `json:"error,omitempty"`
	// TemporalCommits is the count of the Temporal server's persistence
	// commits per no-op workflow (Options.TemporalCommits), nil when not
	// counted.
	TemporalCommits *CommitCount `json:"temporal_commits,omitempty"`
}

// Point is one measured load. Throughput is in operations that reached a
// final status (an order completed, failed or cancelled; a workflow or
// message done) per second: in a closed loop, the number of clients over
// the mean duration of an operation (Little's law: every client is always
// busy), counting final ones only; in an open loop, those that ended
// during the measured window over its length. The other figures count the
// operations that started in the window (in an open loop: were scheduled
// in it), including those that ended during the drain after it; latencies
// are of those that reached a final status.
type Point struct {
	Mode    Mode    `json:"mode"`
	Clients int     `json:"clients,omitempty"`
	Rate    float64 `json:"rate_per_s,omitempty"`
	// Skipped says why the point was not run ("" when it was).
	Skipped string `json:"skipped,omitempty"`
	// WarmupSeconds is how long the warm-up lasted: Settings.WarmupS, or
	// longer when the first orders took longer to end.
	WarmupSeconds float64 `json:"warmup_s"`
	// WindowSeconds is how long the measured window lasted:
	// Settings.DurationS, or, in a closed loop, longer until every client
	// had started an order in it.
	WindowSeconds float64 `json:"window_s"`
	// DrainSeconds is how long the operations in flight at the window's
	// end took to end.
	DrainSeconds      float64        `json:"drain_s"`
	Throughput        float64        `json:"throughput_per_s"`
	Final             int            `json:"final"`
	Succeeded         int            `json:"succeeded"`
	BusinessFail      int            `json:"business_failed"`
	BusinessFailShare float64        `json:"business_failed_share"`
	Errors            int            `json:"errors"`
	ErrorKinds        map[string]int `json:"error_kinds,omitempty"`
	ErrorSamples      []string       `json:"error_samples,omitempty"`
	Latency           Latency        `json:"latency"`
	MaxInFlight       int            `json:"max_in_flight"`
	// Counters are notable events of the point, by name (e.g. workflow
	// closes found by polling).
	Counters map[string]int `json:"counters,omitempty"`
	// ShareOfCeiling is Throughput over the ceiling's at the same number of
	// clients (closed loop, with a ceiling).
	ShareOfCeiling float64 `json:"share_of_ceiling,omitempty"`
	// PerCalibration is Throughput over the calibration's rate at the
	// nearest calibrated number of clients (Calibration.For; closed loop,
	// with a calibration): orders/s (ops/s for a ceiling) per pgbench tps,
	// or per SQLite commits/s (Calibration.Unit).
	PerCalibration float64 `json:"per_calibration,omitempty"`
	// Refused counts the orders the target refused to take (503 with
	// Retry-After, nothing placed: admission control): not retried, not
	// errors, without a latency. RefusedShare is their share of the orders
	// sent (final, errors and refused). In a closed loop a refused client
	// waits the Retry-After delay before its next order, and Throughput is
	// then, as in an open loop, the final orders that ended in the window
	// over its length (the clients are not all busy with orders, which
	// Little's law assumes).
	Refused      int     `json:"refused,omitempty"`
	RefusedShare float64 `json:"refused_share,omitempty"`
	// Open loop only, over the whole time of the point's orders (the
	// window and the drain after it, WindowSeconds + DrainSeconds), so
	// that a target that drains a backlog after the window is not read as
	// a collapse: OfferedRate is the orders scheduled in the window per
	// second of it; CompletionRate the orders that reached a final status
	// per second of the whole time; Goodput those final within the latency
	// objective (Settings.SLOSeconds, counted from the scheduled arrival),
	// WithinSLO of them, per second of the whole time.
	OfferedRate    float64 `json:"offered_per_s,omitempty"`
	CompletionRate float64 `json:"completed_per_s,omitempty"`
	Goodput        float64 `json:"goodput_per_s,omitempty"`
	WithinSLO      int     `json:"within_slo,omitempty"`
}

// Measured reports whether the report holds any measured point.
func (r Report) Measured() bool {
	for _, v := range r.Variants {
		if len(v.Closed) > 0 || len(v.Open) > 0 {
			return true
		}
	}
	for _, c := range r.Ceilings {
		if len(c.Closed) > 0 {
			return true
		}
	}
	return false
}

// newReport starts the report of a run with opts.
func newReport(opts Options, started time.Time) Report {
	setup := opts.Setup
	if setup.Machine == "" {
		setup.Machine = machine()
	}
	if setup.GoVersion == "" {
		setup.GoVersion = runtime.Version()
	}
	rep := Report{
		Started: started.UTC(),
		Setup:   setup,
		Settings: Settings{
			Concurrencies: opts.Concurrencies,
			DurationS:     opts.Duration.Seconds(),
			WarmupS:       opts.Warmup.Seconds(),
			Wait:          opts.Wait.String(),
			OrderTimeoutS: opts.OrderTimeout.Seconds(),
			MaxInFlight:   opts.MaxInFlight,
			SLOSeconds:    opts.SLO.Seconds(),
			Products:      opts.Products,
			Customers:     opts.Customers,
			FailureShare:  opts.FailureShare,
			Seed:          opts.Seed,
			RunID:         opts.RunID,
		},
	}
	if !opts.NoOpenLoop {
		rep.Settings.Rates = opts.Rates
	}
	if opts.Calibration != nil {
		c := *opts.Calibration
		c.Points = slices.Clone(c.Points)
		rep.Calibration = &c
	}
	for _, t := range opts.Targets {
		rep.Variants = append(rep.Variants, VariantResult{Name: t.Name, BaseURL: t.BaseURL, Framework: t.Framework})
	}
	return rep
}

// fillShares sets the variants' shares of their frameworks' ceilings.
func (r *Report) fillShares() {
	for vi := range r.Variants {
		v := &r.Variants[vi]
		v.PeakShareOfCeiling = 0
		var ceil *CeilingResult
		for ci := range r.Ceilings {
			if r.Ceilings[ci].Framework == v.Framework && v.Framework != "" {
				ceil = &r.Ceilings[ci]
			}
		}
		if ceil == nil {
			continue
		}
		byClients := map[int]float64{}
		var ceilPeak, peak float64
		for _, p := range ceil.Closed {
			byClients[p.Clients] = p.Throughput
			ceilPeak = max(ceilPeak, p.Throughput)
		}
		for pi := range v.Closed {
			p := &v.Closed[pi]
			peak = max(peak, p.Throughput)
			if c := byClients[p.Clients]; c > 0 {
				p.ShareOfCeiling = round4(p.Throughput / c)
			}
		}
		if ceilPeak > 0 {
			v.PeakShareOfCeiling = round4(peak / ceilPeak)
		}
	}
}

func round4(x float64) float64 { return math.Round(x*10000) / 10000 }

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// ReadJSON reads a report that WriteJSON wrote.
func ReadJSON(rd io.Reader) (Report, error) {
	var r Report
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Report{}, fmt.Errorf("reading a report: %w", err)
	}
	return r, nil
}

// WriteTable writes the report as tables for a terminal: for each point,
// the variants one under the other, then the ceilings and the shares.
func (r Report) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Setup: %s; %s", r.Setup.Machine, r.Setup.GoVersion)
	for _, s := range []string{r.Setup.Databases, r.Setup.Temporal, r.Setup.Broker} {
		if s != "" {
			fmt.Fprintf(bw, "; %s", s)
		}
	}
	fmt.Fprintf(bw, "\nEach point: %gs measured after at least %gs of warm-up; latency from POST to the final status seen.\n", r.Settings.DurationS, r.Settings.WarmupS)
	for _, n := range r.Setup.Notes {
		fmt.Fprintf(bw, "Note: %s\n", n)
	}
	for _, l := range r.calibrationLines() {
		fmt.Fprintln(bw, l)
	}

	header := "\tvariant\torders/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\tfinal\terrors\tbiz-failed\t"
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(bw, "\nClosed loop: N clients, each placing its next order once the last is final.\n")
	fmt.Fprintln(tw, "clients"+header+"of ceiling\t"+r.ratioHeader("orders/s"))
	for _, n := range r.Settings.Concurrencies {
		for _, v := range r.Variants {
			for _, p := range v.Closed {
				if p.Clients == n {
					fmt.Fprintf(tw, "%d\t%s\t%s%s\n", n, v.Name, pointCells(p, share(p.ShareOfCeiling)), r.ratioCell(p))
				}
			}
		}
	}
	tw.Flush()

	if len(r.Settings.Rates) > 0 {
		fmt.Fprintf(bw, "\nOpen loop: orders arrive at a fixed rate; latency counts from each order's scheduled arrival.\n")
		fmt.Fprintf(bw, "Goodput: orders final within %gs; it and completed/s count over the window and the drain after it. "+
			"Refused: 503 with Retry-After (admission control), not retried; latencies are of admitted orders.\n", r.Settings.SLOSeconds)
		tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "rate/s\tvariant\toffered/s\tgoodput/s\tcompleted/s\trefused\trefused %\tp50 ms\tp99 ms\terrors\tdrain s\tmax in flight\t")
		for _, rate := range r.Settings.Rates {
			for _, v := range r.Variants {
				for _, p := range v.Open {
					if p.Rate != rate {
						continue
					}
					if p.Skipped != "" {
						fmt.Fprintf(tw, "%s\t%s\tskipped\t-\t-\t-\t-\t-\t-\t-\t-\t-\t\n", formatRate(rate), v.Name)
						continue
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", formatRate(rate), v.Name, openCells(p))
				}
			}
		}
		tw.Flush()
	}

	if len(r.Ceilings) > 0 {
		fmt.Fprintf(bw, "\nCeilings: the same Temporal server and broker with no business logic.\n")
		tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "clients\tceiling\tops/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\tdone\terrors\t"+r.ratioHeader("ops/s"))
		for _, c := range r.Ceilings {
			if c.Error != "" {
				fmt.Fprintf(tw, "-\t%s\tfailed\t-\t-\t-\t-\t-\t-\t\n", c.Framework)
			}
			for _, p := range c.Closed {
				fmt.Fprintf(tw, "%d\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d\t%s\n", p.Clients, c.Framework,
					p.Throughput, p.Latency.P50, p.Latency.P95, p.Latency.P99, p.Latency.Max, p.Final, p.Errors, r.ratioCell(p))
			}
		}
		tw.Flush()
		for _, c := range r.Ceilings {
			fmt.Fprintf(bw, "  %s: %s\n", c.Framework, c.Description)
			if c.Error != "" {
				fmt.Fprintf(bw, "  %s ceiling failed: %s\n", c.Framework, c.Error)
			}
			for _, p := range c.Closed {
				for _, name := range slices.Sorted(maps.Keys(p.Counters)) {
					fmt.Fprintf(bw, "  %s, %s: %s %d\n", c.Framework, pointName(p), name, p.Counters[name])
				}
			}
		}
		for _, v := range r.Variants {
			if v.PeakShareOfCeiling > 0 {
				fmt.Fprintf(bw, "Peak throughput of %s: %s of the %s ceiling's peak.\n", v.Name, share(v.PeakShareOfCeiling), v.Framework)
			}
		}
	}
	for _, v := range r.Variants {
		for _, p := range v.Open {
			if p.Skipped != "" {
				fmt.Fprintf(bw, "Skipped (%s, %s): %s\n", v.Name, pointName(p), p.Skipped)
			}
		}
		for _, p := range v.Closed {
			if p.Refused > 0 {
				fmt.Fprintf(bw, "Refused (%s, %s): %d orders (%.1f%%), past the stack's bound of orders in flight; "+
					"each refused client waited its Retry-After before its next order\n", v.Name, pointName(p), p.Refused, 100*p.RefusedShare)
			}
		}
		for _, p := range append(append([]Point(nil), v.Closed...), v.Open...) {
			for _, s := range p.ErrorSamples {
				fmt.Fprintf(bw, "Error seen (%s, %s): %s\n", v.Name, pointName(p), s)
			}
		}
	}
	for _, c := range r.Ceilings {
		for _, p := range c.Closed {
			for _, s := range p.ErrorSamples {
				fmt.Fprintf(bw, "Error seen (%s ceiling, %s): %s\n", c.Framework, pointName(p), s)
			}
		}
	}
	for _, l := range r.commitLines() {
		fmt.Fprintln(bw, l)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	return nil
}

// pointCells formats the measured cells of a point's row, last the given
// extra cell.
func pointCells(p Point, last string) string {
	return fmt.Sprintf("%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d\t%.1f%%\t%s\t",
		p.Throughput, p.Latency.P50, p.Latency.P95, p.Latency.P99, p.Latency.Max,
		p.Final, p.Errors, 100*p.BusinessFailShare, last)
}

// openCells formats the measured cells of an open-loop point's row.
func openCells(p Point) string {
	return fmt.Sprintf("%.1f\t%.1f\t%.1f\t%d\t%.1f%%\t%.1f\t%.1f\t%d\t%.1f\t%d\t",
		p.OfferedRate, p.Goodput, p.CompletionRate, p.Refused, 100*p.RefusedShare,
		p.Latency.P50, p.Latency.P99, p.Errors, p.DrainSeconds, p.MaxInFlight)
}

// pointName names a point for messages: "c=8" or "50/s".
func pointName(p Point) string {
	if p.Mode == ModeOpen {
		return formatRate(p.Rate) + "/s"
	}
	return fmt.Sprintf("c=%d", p.Clients)
}

// share formats a share as a percentage, "" for none.
func share(s float64) string {
	if s <= 0 {
		return ""
	}
	return fmt.Sprintf("%.0f%%", 100*s)
}

// cpuModel returns the processor's model name from /proc/cpuinfo, "" when
// it cannot be read.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
