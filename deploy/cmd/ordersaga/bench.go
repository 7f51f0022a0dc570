package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/deploy/bench"
	"github.com/ordersaga/ordersaga/deploy/bench/rig"
	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
)

func benchCommand() command {
	return command{
		name:    "bench",
		summary: "measure both variants side by side through the REST API, and the Temporal and Kafka ceilings",
		run:     runBench,
	}
}

// benchEnvPrefix starts the environment variable of each bench flag.
const benchEnvPrefix = "ORDERSAGA_BENCH_"

// benchFlags are the bench command's settings.
type benchFlags struct {
	variants          string
	orchestratedURL   string
	choreographedURL  string
	postgres          string
	concurrency       string
	rates             string
	allRates          bool
	duration          time.Duration
	warmup            time.Duration
	wait              time.Duration
	orderTimeout      time.Duration
	maxInFlight       int
	products          int
	customers         int
	failureShare      float64
	seed              uint64
	ceilings          bool
	temporalAddress   string
	temporalNamespace string
	kafkaBrokers      string
	jsonPath          string
	svgPath           string
	dataDir           string
	logLevel          string
	cpuProfile        string
}

func (f *benchFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.variants, "variants", rig.Orchestrated+","+rig.Choreographed, "`variants` to measure, comma-separated")
	fs.StringVar(&f.orchestratedURL, "orchestrated-url", "", "base `URL` of a running orchestrated stack (e.g. http://127.0.0.1:8081 of `ordersaga run`); empty starts one in-process")
	fs.StringVar(&f.choreographedURL, "choreographed-url", "", "base `URL` of a running choreographed stack (e.g. http://127.0.0.1:8082); empty starts one in-process")
	fs.Var(envflag.DSN(&f.postgres), "postgres", "PostgreSQL server `URL` (postgres://…) for the in-process stacks' service databases (bench_<variant>_<role>) and the embedded Temporal server's persistence (bench_temporal, bench_temporal_visibility), all dropped and created afresh; empty uses SQLite files for both")
	fs.StringVar(&f.concurrency, "concurrency", joinInts(bench.DefaultConcurrencies()), "closed-loop `clients`, comma-separated (also the ceilings' points)")
	fs.StringVar(&f.rates, "rates", joinRates(bench.DefaultRates()), "open-loop arrival `rates` in orders/s, comma-separated; \"none\" skips the open loop")
	fs.BoolVar(&f.allRates, "all-rates", false, "run every rate, also those above the first one a variant could not sustain")
	fs.DurationVar(&f.duration, "duration", bench.DefaultDuration, "measured `time` of each point")
	fs.DurationVar(&f.warmup, "warmup", bench.DefaultWarmup, "warm-up `time` of each point, not counted")
	fs.DurationVar(&f.wait, "wait", bench.DefaultWait, "the ?wait= of POST /v1/orders (`duration`, at most 30s)")
	fs.DurationVar(&f.orderTimeout, "order-timeout", bench.DefaultOrderTimeout, "`time` an order may take to be final before it counts as an error")
	fs.IntVar(&f.maxInFlight, "max-in-flight", bench.DefaultMaxInFlight, "most `orders` in flight in the open loop")
	fs.IntVar(&f.products, "products", bench.DefaultProducts, "`number` of products created on each stack")
	fs.IntVar(&f.customers, "customers", bench.DefaultCustomers, "`number` of customers created on each stack")
	fs.Float64Var(&f.failureShare, "failure-share", 0, "`share` (0 to 1) of orders shipped to a refused country, which fail after payment and are compensated")
	fs.Uint64Var(&f.seed, "seed", bench.DefaultSeed, "`seed` of the orders' random content")
	fs.BoolVar(&f.ceilings, "ceilings", true, "run the ceilings: a no-op 3-activity workflow on the Temporal server, a no-op 4-hop kafka-go pipeline on the broker")
	fs.StringVar(&f.temporalAddress, "temporal-address", "", "Temporal frontend `host:port` of the ceiling run; empty uses the embedded server (the one the in-process stack uses)")
	fs.StringVar(&f.temporalNamespace, "temporal-namespace", "default", "Temporal `namespace` of the ceiling run with -temporal-address")
	fs.StringVar(&f.kafkaBrokers, "kafka-brokers", "", "Kafka `brokers` (comma-separated host:port) of the ceiling run; empty uses the embedded broker")
	fs.StringVar(&f.jsonPath, "json", filepath.Join("bench-results", "bench.json"), "`file` the JSON report is written to")
	fs.StringVar(&f.svgPath, "svg", filepath.Join("bench-results", "bench.svg"), "`file` the SVG chart is written to")
	fs.StringVar(&f.dataDir, "data-dir", "", "`folder` of the in-process stacks' SQLite databases, kept after the run; empty uses a temporary folder, removed after")
	fs.StringVar(&f.logLevel, "log-level", "warn", "lowest `level` of the stacks' logs: debug, info, warn or error")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "`file` a CPU profile of the measurement (everything in the process, the in-process stacks and servers included, not their start) is written to; empty writes none")
}

// runBench starts what is not running yet, measures, prints the table and
// writes the JSON report and the chart.
func runBench(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("ordersaga bench", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var f benchFlags
	f.register(fs)
	if err := bindEnv(fs, benchEnvPrefix, env.lookupEnv); err != nil {
		fmt.Fprintf(env.stderr, "ordersaga bench: %v\n", err)
		return errUsage
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	opts, err := f.options()
	if err != nil {
		fmt.Fprintf(env.stderr, "ordersaga bench: %v\n", err)
		return errUsage
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		fmt.Fprintf(env.stderr, "ordersaga bench: -log-level %q is not debug, info, warn or error\n", f.logLevel)
		return errUsage
	}
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: level}))
	opts.Logger = log
	opts.Progress = env.stderr
	opts.LiveProgress = isTerminal(env.stderr)

	// What runs in-process: the stacks without a URL, and the embedded
	// server and broker for the ceilings without an address.
	variants := splitList(f.variants)
	external := map[string]string{rig.Orchestrated: f.orchestratedURL, rig.Choreographed: f.choreographedURL}
	rc := rig.Config{PostgresURL: f.postgres, Logger: log}
	for _, v := range variants {
		switch v {
		case rig.Orchestrated:
			rc.Orchestrated = external[v] == ""
		case rig.Choreographed:
			rc.Choreographed = external[v] == ""
		default:
			fmt.Fprintf(env.stderr, "ordersaga bench: unknown variant %q (orchestrated, choreographed)\n", v)
			return errUsage
		}
	}
	measures := func(v string) bool { return f.ceilings && (len(variants) == 0 || slices.Contains(variants, v)) }
	rc.Temporal = measures(rig.Orchestrated) && f.temporalAddress == ""
	rc.Kafka = measures(rig.Choreographed) && f.kafkaBrokers == ""

	var r *rig.Rig
	if rc.Orchestrated || rc.Choreographed || rc.Temporal || rc.Kafka {
		dir := f.dataDir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "ordersaga-bench-"); err != nil {
				return fmt.Errorf("creating a folder for the databases: %w", err)
			}
			defer os.RemoveAll(dir)
		}
		rc.Dir = dir
		fmt.Fprintf(env.stderr, "starting in-process: %s\n", describeRig(rc))
		if r, err = rig.Start(ctx, rc); err != nil {
			return err
		}
		defer func() {
			if cerr := r.Close(); cerr != nil {
				log.Error("stopping the in-process stacks", "error", cerr)
			}
		}()
		r.Describe(&opts.Setup)
		opts.BeforeCeilings = r.StopStacks
	}

	frameworks := map[string]bench.Framework{rig.Orchestrated: bench.FrameworkTemporal, rig.Choreographed: bench.FrameworkKafka}
	for _, v := range variants {
		u := external[v]
		if u == "" {
			u = r.URL(v)
		} else {
			opts.Setup.Notes = append(opts.Setup.Notes, fmt.Sprintf("%s: an external stack at %s", v, u))
		}
		opts.Targets = append(opts.Targets, bench.Target{Name: v, BaseURL: u, Framework: frameworks[v]})
	}
	if measures(rig.Orchestrated) {
		hp, ns := f.temporalAddress, f.temporalNamespace
		if hp == "" {
			hp, ns = r.TemporalAddress()
		} else {
			opts.Setup.Notes = append(opts.Setup.Notes, "temporal ceiling on the server at "+hp)
		}
		opts.Temporal = &bench.TemporalCeiling{HostPort: hp, Namespace: ns}
	}
	if measures(rig.Choreographed) {
		brokers := splitList(f.kafkaBrokers)
		if len(brokers) == 0 {
			brokers = r.KafkaBrokers()
		} else {
			opts.Setup.Notes = append(opts.Setup.Notes, "kafka ceiling on the broker at "+f.kafkaBrokers)
		}
		opts.Kafka = &bench.KafkaCeiling{Brokers: brokers}
	}

	if f.cpuProfile != "" {
		stop, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	rep, runErr := bench.Run(ctx, opts)
	if !rep.Measured() {
		return runErr
	}
	fmt.Fprintln(env.stdout)
	errList := []error{runErr, rep.WriteTable(env.stdout)}
	errList = append(errList, writeFile(f.jsonPath, rep.WriteJSON), writeFile(f.svgPath, rep.WriteSVG))
	if err := errors.Join(errList[1:]...); err == nil {
		fmt.Fprintf(env.stdout, "\nReport: %s\nChart:  %s\n", f.jsonPath, f.svgPath)
	}
	return errors.Join(errList...)
}

// options turns the flags into the bench's options (without targets and
// ceilings).
func (f *benchFlags) options() (bench.Options, error) {
	opts := bench.Options{
		AllRates:     f.allRates,
		Duration:     f.duration,
		Warmup:       f.warmup,
		Wait:         f.wait,
		OrderTimeout: f.orderTimeout,
		MaxInFlight:  f.maxInFlight,
		Products:     f.products,
		Customers:    f.customers,
		FailureShare: f.failureShare,
		Seed:         f.seed,
	}
	if f.warmup == 0 {
		opts.Warmup = -1 // no warm-up
	}
	var errList []error
	for _, s := range splitList(f.concurrency) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			errList = append(errList, fmt.Errorf("-concurrency: %q is not a positive integer", s))
			continue
		}
		opts.Concurrencies = append(opts.Concurrencies, n)
	}
	if len(opts.Concurrencies) == 0 && len(errList) == 0 {
		errList = append(errList, errors.New("-concurrency: no value"))
	}
	switch strings.TrimSpace(f.rates) {
	case "none", "":
		opts.NoOpenLoop = true
	default:
		for _, s := range splitList(f.rates) {
			r, err := strconv.ParseFloat(s, 64)
			if err != nil || !(r > 0) {
				errList = append(errList, fmt.Errorf("-rates: %q is not a positive number", s))
				continue
			}
			opts.Rates = append(opts.Rates, r)
		}
	}
	if f.duration <= 0 {
		errList = append(errList, fmt.Errorf("-duration %v is not positive", f.duration))
	}
	if f.failureShare < 0 || f.failureShare > 1 {
		errList = append(errList, fmt.Errorf("-failure-share %v is not from 0 to 1", f.failureShare))
	}
	return opts, errors.Join(errList...)
}

// describeRig says what the bench starts in-process.
func describeRig(rc rig.Config) string {
	var parts []string
	if rc.Orchestrated {
		parts = append(parts, "orchestrated stack")
	}
	if rc.Choreographed {
		parts = append(parts, "choreographed stack")
	}
	if rc.Temporal || rc.Orchestrated {
		parts = append(parts, "Temporal server")
	}
	if rc.Kafka || rc.Choreographed {
		parts = append(parts, "Kafka-protocol broker")
	}
	where := "SQLite"
	if rc.PostgresURL != "" {
		where = "PostgreSQL"
	}
	if rc.Temporal || rc.Orchestrated {
		return strings.Join(parts, ", ") + " (service databases and Temporal persistence on " + where + ")"
	}
	return strings.Join(parts, ", ") + " (service databases on " + where + ")"
}

// startCPUProfile starts writing the process's CPU profile to path and
// returns the function that stops it and closes the file.
func startCPUProfile(path string) (func(), error) {
	out, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating the CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return nil, fmt.Errorf("starting the CPU profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		out.Close()
	}, nil
}

// writeFile writes a file through write, creating its folder.
func writeFile(path string, write func(io.Writer) error) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if err := write(out); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// bindEnv sets each flag of fs that has an environment variable (prefix
// and the flag's name in upper case with underscores) from it, and names
// the variable in the flag's help.
func bindEnv(fs *flag.FlagSet, prefix string, lookupEnv func(string) (string, bool)) error {
	var errList []error
	fs.VisitAll(func(fl *flag.Flag) {
		name := prefix + strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_"))
		fl.Usage += " [$" + name + "]"
		if v, ok := lookupEnv(name); ok {
			if err := fl.Value.Set(v); err != nil {
				errList = append(errList, fmt.Errorf("%s=%q: %w", name, v, err))
			}
			fl.DefValue = fl.Value.String()
		}
	})
	return errors.Join(errList...)
}

// isTerminal reports whether w is a terminal, where a progress line can be
// rewritten in place.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func joinRates(rs []float64) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = strconv.FormatFloat(r, 'f', -1, 64)
	}
	return strings.Join(s, ",")
}
