// Package bench measures the two saga variants side by side through their
// REST API, and the frameworks they are built on without any business
// logic, on the same machine in one run.
//
// For every target (a base URL serving shared/API.md) it creates products
// and customers with ample stock and credit under a run-unique prefix,
// checks with one order that the flow runs end to end, then measures:
//   - a closed loop at each of Options.Concurrencies: that many clients,
//     each placing its next order as soon as its last one is final;
//   - an open loop at each of Options.Rates: orders scheduled on a clock at
//     that rate, each latency counted from its scheduled time.
//
// An order is POST /v1/orders?wait=… with a unique order_id, followed by
// GET polls when the answer is not final; its latency runs until the
// driver sees the final status. Each point has a warm-up that does not
// count, and waits for the orders in flight before the next point starts.
//
// The ceiling runs measure, on the same Temporal server and broker, a no-op
// workflow of three no-op activities and a no-op four-hop kafka-go
// pipeline at the same concurrencies, and each variant's throughput is
// also reported as a share of its framework's ceiling.
//
// Run takes addresses only; starting the stacks is the caller's business
// (package rig does it in-process).
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ordersaga/ordersaga/shared/auth"
)

// Framework names what a variant is built on, to pair it with the ceiling
// of that framework.
type Framework string

// The frameworks with a ceiling run.
const (
	FrameworkTemporal Framework = "temporal"
	FrameworkKafka    Framework = "kafka"
)

// Target is one stack to measure.
type Target struct {
	// Name names the target in the report (e.g. "orchestrated").
	Name string
	// BaseURL is where its REST API is served (e.g. http://127.0.0.1:8081).
	BaseURL string
	// Framework pairs it with a ceiling run; empty for none.
	Framework Framework
}

// TemporalCeiling locates the Temporal server of the ceiling run.
type TemporalCeiling struct {
	HostPort  string
	Namespace string
	// Pollers of each kind of the ceiling's worker (DefaultPollers, as the
	// orchestrated variant's workers).
	Pollers int
}

// KafkaCeiling locates the broker of the ceiling run.
type KafkaCeiling struct {
	Brokers []string
	// Partitions of each topic of the pipeline (DefaultPartitions).
	Partitions int
}

// Defaults of Options.
const (
	DefaultDuration       = 5 * time.Second
	DefaultWarmup         = time.Second
	DefaultWait           = 30 * time.Second
	DefaultOrderTimeout   = 60 * time.Second
	DefaultProbeTimeout   = 90 * time.Second
	DefaultPollInterval   = 20 * time.Millisecond
	DefaultMaxInFlight    = 4096
	DefaultProducts       = 100
	DefaultCustomers      = 200
	DefaultSeed           = 1
	DefaultPollers        = 8
	DefaultPartitions     = 4
	DefaultSustainedShare = 0.9
	DefaultSLO            = 2 * time.Second
)

// DefaultConcurrencies are the closed-loop points.
func DefaultConcurrencies() []int { return []int{1, 8, 32, 128} }

// DefaultRates are the open-loop points, in orders per second.
func DefaultRates() []float64 { return []float64{25, 50, 100, 200} }

// Options says what to measure and how. Zero values mean the defaults.
type Options struct {
	// Targets are the stacks to measure, in the report's order.
	Targets []Target
	// Concurrencies are the closed-loop points (DefaultConcurrencies), also
	// those of the ceiling runs.
	Concurrencies []int
	// Rates are the open-loop points in orders per second (DefaultRates).
	Rates []float64
	// NoOpenLoop skips the open loop.
	NoOpenLoop bool
	// AllRates runs every rate; by default a target's rates above the
	// first one it could not sustain (finishing less than
	// DefaultSustainedShare of the offered orders per second) without
	// refusing any (so its backlog grew without bound and the next rates
	// would only take longer to drain) are skipped. A target that refuses
	// what it cannot take (admission control) runs every rate.
	AllRates bool
	// Duration is the measured time of each point, after Warmup (negative
	// for none). The warm-up also lasts until the first orders ended (each
	// client's, in a closed loop), and a closed loop's window until every
	// client started an order in it: see Point.
	Duration time.Duration
	Warmup   time.Duration
	// Wait is the ?wait= of POST /v1/orders (DefaultWait).
	Wait time.Duration
	// OrderTimeout bounds one order from its start to its final status;
	// an order that takes longer counts as an error (DefaultOrderTimeout).
	OrderTimeout time.Duration
	// ProbeTimeout bounds the readiness wait and the first order of each
	// target and ceiling (consumer groups may take seconds to settle).
	ProbeTimeout time.Duration
	// PollInterval is how often an order that is not final yet is read
	// again.
	PollInterval time.Duration
	// MaxInFlight bounds the orders in flight of an open loop. Orders
	// waiting for a slot are late, and their latency includes it. (The
	// targets' own bound, their admission control, is theirs: an order
	// they refuse counts as refused.)
	MaxInFlight int
	// SLO is the latency objective of the open loop's goodput: orders
	// final within it from their scheduled arrival (DefaultSLO).
	SLO time.Duration
	// Products and Customers are created on each target up front.
	Products  int
	Customers int
	// FailureShare (0 to 1) of the orders ship to a country the shipping
	// service refuses, so they fail after payment and are compensated.
	FailureShare float64
	// Seed makes the orders of a run reproducible (DefaultSeed).
	Seed uint64
	// Keys, when set, are the keys the targets verify bearer tokens with:
	// the driver signs an operator token for its set-up (products,
	// customers) and a token for each customer, which that customer's
	// orders and their reads carry. Nil sends no token (a target run
	// without authentication).
	Keys *auth.Keys
	// RunID starts every id the run creates (products, customers, orders,
	// workflows, topics); empty picks one from the clock.
	RunID string
	// Calibration, when set, is what the caller measured of the targets'
	// database server (CalibratePgbench, CalibrateSQLite): the report
	// carries it, and every closed-loop point's throughput also as a ratio
	// to it.
	Calibration *Calibration
	// Temporal and Kafka, when set, run the ceilings.
	Temporal *TemporalCeiling
	Kafka    *KafkaCeiling
	// TemporalCommits, when set, counts the Temporal server's persistence
	// commits per saga of each Temporal target (before its points) and of
	// the Temporal ceiling (before its points).
	TemporalCommits *TemporalCommits
	// Setup describes the machine and the stacks, for the report. Run
	// fills Machine and GoVersion when empty.
	Setup Setup
	// BeforeCeilings, when set, is called once the targets are measured
	// and before the ceilings run, e.g. to stop in-process stacks so that
	// their idle work does not weigh on the ceilings. An error ends the
	// run.
	BeforeCeilings func() error
	// Logger receives the warnings of the ceilings' Temporal and Kafka
	// clients (discarded when nil).
	Logger *slog.Logger
	// Progress receives a line per point and, with LiveProgress, a line
	// refreshed every second while a point runs; nil for none.
	Progress     io.Writer
	LiveProgress bool
}

// withDefaults returns o with its zero fields set to their defaults.
func (o Options) withDefaults(now time.Time) Options {
	if o.Concurrencies == nil {
		o.Concurrencies = DefaultConcurrencies()
	}
	if o.Rates == nil {
		o.Rates = DefaultRates()
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDur(&o.Duration, DefaultDuration)
	setDur(&o.Wait, DefaultWait)
	setDur(&o.OrderTimeout, DefaultOrderTimeout)
	setDur(&o.ProbeTimeout, DefaultProbeTimeout)
	setDur(&o.PollInterval, DefaultPollInterval)
	setDur(&o.SLO, DefaultSLO)
	if o.Warmup < 0 {
		o.Warmup = 0
	} else if o.Warmup == 0 {
		o.Warmup = DefaultWarmup
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Products <= 0 {
		o.Products = DefaultProducts
	}
	if o.Customers <= 0 {
		o.Customers = DefaultCustomers
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.RunID == "" {
		o.RunID = "bench-" + strconv.FormatInt(now.UnixMilli(), 36)
	}
	if o.Temporal != nil && o.Temporal.Pollers <= 0 {
		t := *o.Temporal
		t.Pollers = DefaultPollers
		o.Temporal = &t
	}
	if o.Kafka != nil && o.Kafka.Partitions <= 0 {
		k := *o.Kafka
		k.Partitions = DefaultPartitions
		o.Kafka = &k
	}
	if o.Progress == nil {
		o.Progress = io.Discard
		o.LiveProgress = false
	}
	return o
}

// validate reports every option that cannot work.
func (o Options) validate() error {
	var errList []error
	bad := func(format string, args ...any) { errList = append(errList, fmt.Errorf(format, args...)) }
	if len(o.Targets) == 0 && o.Temporal == nil && o.Kafka == nil {
		bad("nothing to measure: no target and no ceiling")
	}
	names := map[string]bool{}
	for _, t := range o.Targets {
		if t.Name == "" || t.BaseURL == "" {
			bad("target %+v needs a name and a base URL", t)
		}
		if names[t.Name] {
			bad("two targets are named %q", t.Name)
		}
		names[t.Name] = true
	}
	if len(o.Concurrencies) == 0 {
		bad("no concurrency")
	}
	for _, c := range o.Concurrencies {
		if c < 1 || c > o.MaxInFlight {
			bad("concurrency %d is not from 1 to %d", c, o.MaxInFlight)
		}
	}
	if !o.NoOpenLoop && len(o.Rates) == 0 {
		bad("no rate for the open loop")
	}
	for _, r := range o.Rates {
		if !(r > 0) || math.IsInf(r, 0) {
			bad("rate %v is not a positive number", r)
		}
	}
	if o.Wait > 30*time.Second {
		bad("wait %v is over the API's 30s", o.Wait)
	}
	if o.FailureShare < 0 || o.FailureShare > 1 {
		bad("failure share %v is not from 0 to 1", o.FailureShare)
	}
	if len(o.RunID) > 40 {
		bad("run id %q is longer than 40 characters", o.RunID)
	}
	if o.Temporal != nil && o.Temporal.HostPort == "" {
		bad("the Temporal ceiling needs the frontend's address")
	}
	if o.Kafka != nil && len(o.Kafka.Brokers) == 0 {
		bad("the Kafka ceiling needs a broker")
	}
	return errors.Join(errList...)
}

// Run measures every target and then the ceilings, and returns the report.
// A target that cannot be set up ends the run with an error; a ceiling
// that fails is reported with its error and the run goes on. When ctx ends,
// Run returns what it measured so far with ctx's error.
func Run(ctx context.Context, opts Options) (Report, error) {
	started := time.Now()
	opts = opts.withDefaults(started)
	if err := opts.validate(); err != nil {
		return Report{}, fmt.Errorf("bench options: %w", err)
	}
	rep := newReport(opts, started)
	prog := newProgress(opts.Progress, opts.LiveProgress)
	err := run(ctx, opts, &rep, prog)
	rep.fillShares()
	rep.fillCalibrationRatios()
	rep.Finished = time.Now().UTC()
	return rep, err
}

func run(ctx context.Context, opts Options, rep *Report, prog *progress) error {
	var seq atomic.Uint64
	hc := newHTTPClient(max(slices.Max(opts.Concurrencies), min(opts.MaxInFlight, 1024)))
	defer hc.CloseIdleConnections()
	clients := make([]*orderClient, len(opts.Targets))
	for i, t := range opts.Targets {
		c, err := newOrderClient(hc, t.BaseURL, fmt.Sprintf("%s-%d", opts.RunID, i), &opts)
		if err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		prog.note("%s: setting up %d products and %d customers at %s", t.Name, opts.Products, opts.Customers, t.BaseURL)
		if err := prepare(ctx, c, &opts, &seq); err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		clients[i] = c
	}

	countTargetCommits(ctx, opts, rep, prog, clients, &seq)

	for _, n := range opts.Concurrencies {
		for i, t := range opts.Targets {
			label := fmt.Sprintf("%-14s closed c=%d", t.Name, n)
			p := measure(ctx, opts, prog, label, n, func(ctx context.Context, rec *recorder) {
				runClosed(ctx, rec, n, clients[i].place, &seq)
			})
			p.Mode, p.Clients = ModeClosed, n
			rep.Variants[i].Closed = append(rep.Variants[i].Closed, p)
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}

	if !opts.NoOpenLoop {
		saturated := make([]float64, len(opts.Targets))
		for _, r := range opts.Rates {
			for i, t := range opts.Targets {
				if saturated[i] > 0 {
					rep.Variants[i].Open = append(rep.Variants[i].Open, Point{
						Mode: ModeOpen, Rate: r,
						Skipped: fmt.Sprintf("not run: %s/s was not sustained", formatRate(saturated[i])),
					})
					continue
				}
				label := fmt.Sprintf("%-14s open %s/s", t.Name, formatRate(r))
				p := measure(ctx, opts, prog, label, 0, func(ctx context.Context, rec *recorder) {
					runOpen(ctx, rec, r, opts.MaxInFlight, clients[i].place, &seq)
				})
				p.Mode, p.Rate = ModeOpen, r
				rep.Variants[i].Open = append(rep.Variants[i].Open, p)
				if err := ctx.Err(); err != nil {
					return err
				}
				if !opts.AllRates && !sustained(p, r) && p.Refused == 0 {
					saturated[i] = r
				}
			}
		}
	}

	if opts.BeforeCeilings != nil && (opts.Temporal != nil || opts.Kafka != nil) {
		if err := opts.BeforeCeilings(); err != nil {
			return fmt.Errorf("before the ceilings: %w", err)
		}
	}
	if opts.Temporal != nil {
		res := runTemporalCeiling(ctx, opts, prog, &seq)
		rep.Ceilings = append(rep.Ceilings, res)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if opts.Kafka != nil {
		res := runKafkaCeiling(ctx, opts, prog, &seq)
		rep.Ceilings = append(rep.Ceilings, res)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// prepare waits until the target is ready, creates its products and
// customers, and places one order to check that the flow runs end to end
// (its consumers and workers have started).
func prepare(ctx context.Context, c *orderClient, opts *Options, seq *atomic.Uint64) error {
	pctx, cancel := context.WithTimeout(ctx, opts.ProbeTimeout)
	defer cancel()
	if err := c.waitReady(pctx); err != nil {
		return err
	}
	if err := c.setup(pctx); err != nil {
		return err
	}
	probe := *c
	probeOpts := *opts
	probeOpts.OrderTimeout = opts.ProbeTimeout
	probeOpts.FailureShare = 0
	probe.opts = &probeOpts
	if res := probe.place(pctx, seq.Add(1)); res.Outcome != Succeeded {
		return fmt.Errorf("the first order did not complete: %s %s", res.Outcome, res.Detail)
	}
	return nil
}

// measure runs one point with the progress line and returns what it
// measured: a closed loop of clients clients, or else an open loop.
func measure(ctx context.Context, opts Options, prog *progress, label string, clients int, load func(context.Context, *recorder)) Point {
	rec := newRecorder(time.Now(), opts.Warmup, opts.Duration, 1)
	if clients > 0 {
		rec = newClosedRecorder(time.Now(), opts.Warmup, opts.Duration, clients, opts.OrderTimeout)
	}
	rec.slo = opts.SLO
	stop := prog.start(label, rec)
	load(ctx, rec)
	p := rec.point()
	stop(p)
	return p
}

// formatRate prints a rate without needless decimals.
func formatRate(r float64) string { return strconv.FormatFloat(r, 'f', -1, 64) }

// machine describes the machine the run measures on.
func machine() string {
	s := fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	if m := cpuModel(); m != "" {
		s += ", " + m
	}
	return s
}

// logger returns the logger of the options.
func (o *Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// sustained reports whether an open-loop point kept up with its rate:
// it finished at least DefaultSustainedShare of the orders the rate brings
// in its window, give or take one order for the window's edges.
func sustained(p Point, rate float64) bool {
	return (p.Throughput+1/max(p.WindowSeconds, 1e-3))*(1+1e-9) >= DefaultSustainedShare*rate
}
