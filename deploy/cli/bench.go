package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/deploy/allinone"
	"github.com/ordersaga/ordersaga/deploy/bench"
	"github.com/ordersaga/ordersaga/deploy/bench/rig"
	"github.com/ordersaga/ordersaga/deploy/internal/apiflag"
	"github.com/ordersaga/ordersaga/deploy/internal/dblayout"
	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/deploy/internal/output"
	"github.com/ordersaga/ordersaga/deploy/internal/temporalflag"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

func benchCommand() Command {
	return Command{
		Name:    "bench",
		Summary: "measure both variants side by side through the REST API, and the Temporal and Kafka ceilings",
		bind:    bindBench,
	}
}

// benchEnvPrefix starts the environment variable of each bench flag.
const benchEnvPrefix = envflag.Prefix + "BENCH_"

// benchFlags are the bench command's settings.
type benchFlags struct {
	variants          []string
	orchestratedURL   string
	choreographedURL  string
	postgres          string
	postgresDBPrefix  string
	concurrency       []string
	rates             []string
	allRates          bool
	duration          time.Duration
	warmup            time.Duration
	wait              time.Duration
	orderTimeout      time.Duration
	maxInFlight       int
	slo               time.Duration
	products          int
	customers         int
	failureShare      float64
	seed              uint64
	ceilings          bool
	temporalAddress   string
	temporalNamespace string
	kafkaBrokers      []string
	jsonPath          string
	svgPath           string
	dataDir           string
	logLevel          slog.Level
	cpuProfile        string
	calibrate         bool
	calibrateDuration time.Duration
	authSecret        string
	authSecretFile    string
	temporalStore     temporaldev.StoreSettings
	commitSagas       int
}

// defaultBenchFlags returns the bench's defaults.
func defaultBenchFlags() benchFlags {
	f := benchFlags{
		variants:          []string{rig.Orchestrated, rig.Choreographed},
		duration:          bench.DefaultDuration,
		warmup:            bench.DefaultWarmup,
		wait:              bench.DefaultWait,
		orderTimeout:      bench.DefaultOrderTimeout,
		maxInFlight:       bench.DefaultMaxInFlight,
		slo:               bench.DefaultSLO,
		products:          bench.DefaultProducts,
		customers:         bench.DefaultCustomers,
		seed:              bench.DefaultSeed,
		ceilings:          true,
		calibrate:         true,
		calibrateDuration: bench.DefaultCalibrationDuration,
		temporalNamespace: "default",
		jsonPath:          filepath.Join("bench-results", "bench.json"),
		svgPath:           filepath.Join("bench-results", "bench.svg"),
		logLevel:          slog.LevelWarn,
		temporalStore:     temporaldev.DefaultStoreSettings(),
		postgresDBPrefix:  rig.DefaultDBPrefix,
		commitSagas:       bench.DefaultCommitSagas,
	}
	for _, n := range bench.DefaultConcurrencies() {
		f.concurrency = append(f.concurrency, strconv.Itoa(n))
	}
	for _, r := range bench.DefaultRates() {
		f.rates = append(f.rates, strconv.FormatFloat(r, 'f', -1, 64))
	}
	return f
}

// vars lists the bench's settings, bound to f.
func (f *benchFlags) vars() []envflag.Var {
	return []envflag.Var{
		{Name: "variants", Usage: "`variants` to measure, comma-separated", Value: envflag.List(&f.variants)},
		{Name: "orchestrated-url", Usage: "base `URL` of a running orchestrated stack (e.g. http://127.0.0.1:8081 of `ordersaga run`); empty starts one in-process", Value: envflag.String(&f.orchestratedURL)},
		{Name: "choreographed-url", Usage: "base `URL` of a running choreographed stack (e.g. http://127.0.0.1:8082); empty starts one in-process", Value: envflag.String(&f.choreographedURL)},
		{Name: "postgres", Usage: "PostgreSQL server `URL` (postgres://…) for the in-process stacks' service databases (bench_<variant>_<role>) and the embedded Temporal server's persistence (bench_temporal, bench_temporal_visibility), all dropped and created afresh; empty uses SQLite files for both", Value: envflag.DSN(&f.postgres)},
		{Name: "postgres-db-prefix", Usage: "`prefix` of the PostgreSQL database names with -postgres (<prefix>_<variant>_<role>, <prefix>_temporal, <prefix>_temporal_visibility): runs sharing a server need prefixes of their own", Value: envflag.String(&f.postgresDBPrefix)},
		{Name: "concurrency", Usage: "closed-loop `clients`, comma-separated (also the ceilings' points)", Value: envflag.List(&f.concurrency)},
		{Name: "rates", Usage: "open-loop arrival `rates` in orders/s, comma-separated; \"none\" skips the open loop", Value: envflag.List(&f.rates)},
		{Name: "all-rates", Usage: "run every rate, also those above the first one a variant could not sustain", Value: envflag.Bool(&f.allRates)},
		{Name: "duration", Usage: "measured `time` of each point", Value: envflag.Duration(&f.duration)},
		{Name: "warmup", Usage: "warm-up `time` of each point, not counted", Value: envflag.Duration(&f.warmup)},
		{Name: "wait", Usage: "the ?wait= of POST /v1/orders (`duration`, at most 30s)", Value: envflag.Duration(&f.wait)},
		{Name: "order-timeout", Usage: "`time` an order may take to be final before it counts as an error", Value: envflag.Duration(&f.orderTimeout)},
		{Name: "max-in-flight", Usage: "most `orders` the driver keeps in flight in the open loop (the in-process stacks keep their own bound, each variant's default; an order they refuse counts as refused)", Value: envflag.Int(&f.maxInFlight)},
		{Name: "slo", Usage: "latency `objective` of the open loop's goodput: orders final within it from their scheduled arrival", Value: envflag.Duration(&f.slo)},
		{Name: "products", Usage: "`number` of products created on each stack", Value: envflag.Int(&f.products)},
		{Name: "customers", Usage: "`number` of customers created on each stack", Value: envflag.Int(&f.customers)},
		{Name: "failure-share", Usage: "`share` (0 to 1) of orders shipped to a refused country, which fail after payment and are compensated", Value: envflag.Float(&f.failureShare)},
		{Name: "seed", Usage: "`seed` of the orders' random content", Value: envflag.Uint64(&f.seed)},
		{Name: "ceilings", Usage: "run the ceilings: a no-op 3-activity workflow on the Temporal server, a no-op 4-hop kafka-go pipeline on the broker", Value: envflag.Bool(&f.ceilings)},
		{Name: "calibrate", Usage: "calibrate the run before the variants: pgbench TPC-B (scale 10, 1 and 10 clients, tps without connection time) on the -postgres server in a scratch database the run creates and drops, or, without -postgres, the commits/s of a one-row update on a SQLite file through the services' database package; every closed-loop throughput is also printed per pgbench tps (or per SQLite commits/s)", Value: envflag.Bool(&f.calibrate)},
		{Name: "calibrate-duration", Usage: "measured `time` of each client count of the calibration (whole seconds for pgbench)", Value: envflag.Duration(&f.calibrateDuration)},
		{Name: "temporal-address", Usage: "Temporal frontend `host:port` of the ceiling run; empty uses the embedded server (the one the in-process stack uses)", Value: envflag.String(&f.temporalAddress)},
		{Name: "temporal-namespace", Usage: "Temporal `namespace` of the ceiling run with -temporal-address", Value: envflag.String(&f.temporalNamespace)},
		{Name: "kafka-brokers", Usage: "Kafka `brokers` (comma-separated host:port) of the ceiling run; empty uses the embedded broker", Value: envflag.List(&f.kafkaBrokers)},
		{Name: "temporal-commit-sagas", Usage: "`number` of sagas, one at a time, over which the Temporal server's persistence commits per saga are counted, for the orchestrated variant and the Temporal ceiling (with -postgres and the in-process stack and server only; each count also waits about 30s for PostgreSQL's statistics); 0 counts none", Value: envflag.Int(&f.commitSagas)},
		{Name: "json", Usage: "`file` the JSON report is written to", Value: envflag.String(&f.jsonPath)},
		{Name: "svg", Usage: "`file` the SVG chart is written to", Value: envflag.String(&f.svgPath)},
		{Name: "data-dir", Usage: "`folder` of the in-process stacks' SQLite databases, kept after the run; empty uses a temporary folder, removed after", Value: envflag.String(&f.dataDir)},
		{Name: "log-level", Usage: "lowest `level` of the stacks' logs: debug, info, warn or error", Value: envflag.Level(&f.logLevel)},
		{Name: "cpuprofile", Usage: "`file` a CPU profile of the measurement (everything in the process, the in-process stacks and servers included, not their start) is written to; empty writes none", Value: envflag.String(&f.cpuProfile)},
	}
}

// bind registers the bench's flags on fs, each set first from its
// ORDERSAGA_BENCH_ variable, but the signing secrets', which every command
// reads from the same ORDERSAGA_ variables.
func (f *benchFlags) bind(fs *flag.FlagSet, lookupEnv envflag.LookupEnv) error {
	secrets := apiflag.SecretVars(&f.authSecret, &f.authSecretFile)
	for i := range secrets {
		secrets[i].Usage += "; the stacks' (a running stack's -orchestrated-url or -choreographed-url needs it: " +
			"data/auth-secret for `ordersaga run`'s); empty, the in-process stacks get a secret of their own"
	}
	vars := append(f.vars(), temporalflag.Vars(&f.temporalStore)...)
	return errors.Join(envflag.Bind(fs, benchEnvPrefix, lookupEnv, vars...), envflag.Bind(fs, envflag.Prefix, lookupEnv, secrets...))
}

// bindBench registers the flags of bench.
func bindBench(fs *flag.FlagSet, lookupEnv envflag.LookupEnv) (runner, error) {
	f := defaultBenchFlags()
	err := f.bind(fs, lookupEnv)
	return func(ctx context.Context, env *Env, _ []string) error {
		return runBench(ctx, env, &f)
	}, err
}

// runBench starts what is not running yet, measures, prints the table and
// writes the JSON report and the chart.
func runBench(ctx context.Context, env *Env, f *benchFlags) error {
	opts, err := f.options()
	if err != nil {
		return usageErrorf("%v", err)
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: f.logLevel}))
	opts.Logger = log
	opts.Progress = env.Stderr
	opts.LiveProgress = output.IsTerminal(env.Stderr)

	// What runs in-process: the stacks without a URL, and the embedded
	// server and broker for the ceilings without an address.
	variants := f.variants
	external := map[string]string{rig.Orchestrated: f.orchestratedURL, rig.Choreographed: f.choreographedURL}
	rc := rig.Config{PostgresURL: f.postgres, PostgresDBPrefix: f.postgresDBPrefix, TemporalStore: f.temporalStore, Logger: log}
	for _, v := range variants {
		switch v {
		case rig.Orchestrated:
			rc.Orchestrated = external[v] == ""
		case rig.Choreographed:
			rc.Choreographed = external[v] == ""
		default:
			return usageErrorf("unknown variant %q (orchestrated, choreographed)", v)
		}
	}
	if opts.Keys, err = f.keys(rc.Orchestrated || rc.Choreographed, external); err != nil {
		return usageErrorf("%v", err)
	}
	rc.Keys = opts.Keys
	rc.Limits = benchLimits(f.maxInFlight)
	measures := func(v string) bool { return f.ceilings && (len(variants) == 0 || slices.Contains(variants, v)) }
	rc.Temporal = measures(rig.Orchestrated) && f.temporalAddress == ""
	rc.Kafka = measures(rig.Choreographed) && len(f.kafkaBrokers) == 0

	var r *rig.Rig
	inProcess := rc.Orchestrated || rc.Choreographed || rc.Temporal || rc.Kafka
	if inProcess || (f.calibrate && f.postgres == "") {
		dir := f.dataDir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "ordersaga-bench-"); err != nil {
				return fmt.Errorf("creating a folder for the databases: %w", err)
			}
			defer os.RemoveAll(dir)
		}
		rc.Dir = dir
	}
	if f.calibrate {
		cal, err := f.calibration(ctx, env, rc.Dir, inProcess)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			log.Warn("calibration", "error", err)
			if len(cal.Points) > 0 {
				opts.Setup.Notes = append(opts.Setup.Notes, "calibration: "+err.Error())
			}
		}
		opts.Calibration = &cal
	}
	if inProcess {
		fmt.Fprintf(env.Stderr, "starting in-process: %s\n", describeRig(rc))
		if r, err = rig.Start(ctx, rc); err != nil {
			return fmt.Errorf("starting in-process: %w", err)
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
	if read := r.TemporalCommits(); read != nil && f.commitSagas > 0 && external[rig.Orchestrated] == "" && f.temporalAddress == "" {
		opts.TemporalCommits = &bench.TemporalCommits{Read: read, Sagas: f.commitSagas}
	}
	if measures(rig.Choreographed) {
		brokers := f.kafkaBrokers
		if len(brokers) == 0 {
			brokers = r.KafkaBrokers()
		} else {
			opts.Setup.Notes = append(opts.Setup.Notes, "kafka ceiling on the broker at "+strings.Join(brokers, ","))
		}
		opts.Kafka = &bench.KafkaCeiling{Brokers: brokers}
	}

	if f.cpuProfile != "" {
		stop, err := output.StartCPUProfile(f.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	rep, runErr := bench.Run(ctx, opts)
	if !rep.Measured() {
		return runErr
	}
	fmt.Fprintln(env.Stdout)
	errList := []error{runErr, rep.WriteTable(env.Stdout)}
	errList = append(errList, output.WriteFile(f.jsonPath, rep.WriteJSON), output.WriteFile(f.svgPath, rep.WriteSVG))
	if err := errors.Join(errList[1:]...); err == nil {
		fmt.Fprintf(env.Stdout, "\nReport: %s\nChart:  %s\n", f.jsonPath, f.svgPath)
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
		SLO:          f.slo,
		Products:     f.products,
		Customers:    f.customers,
		FailureShare: f.failureShare,
		Seed:         f.seed,
	}
	if f.warmup == 0 {
		opts.Warmup = -1 // no warm-up
	}
	var errList []error
	if f.slo <= 0 {
		errList = append(errList, fmt.Errorf("-slo %v is not a positive duration", f.slo))
	}
	for _, s := range f.concurrency {
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
	switch {
	case len(f.rates) == 0, len(f.rates) == 1 && f.rates[0] == "none":
		opts.NoOpenLoop = true
	default:
		for _, s := range f.rates {
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
	if f.calibrate && f.calibrateDuration <= 0 {
		errList = append(errList, fmt.Errorf("-calibrate-duration %v is not positive", f.calibrateDuration))
	}
	if f.failureShare < 0 || f.failureShare > 1 {
		errList = append(errList, fmt.Errorf("-failure-share %v is not from 0 to 1", f.failureShare))
	}
	if !dblayout.ValidPrefix(f.postgresDBPrefix) {
		errList = append(errList, fmt.Errorf("-postgres-db-prefix %q is not lower-case letters, digits and underscores", f.postgresDBPrefix))
	}
	errList = append(errList, temporalflag.Problems(f.temporalStore)...)
	if f.commitSagas < 0 {
		errList = append(errList, fmt.Errorf("-temporal-commit-sagas %d is negative", f.commitSagas))
	}
	return opts, errors.Join(errList...)
}

// calibration measures the run's calibration, before anything
// in-process starts: pgbench on the -postgres server, or else the SQLite
// commit rate on a file in dir.
func (f *benchFlags) calibration(ctx context.Context, env *Env, dir string, inProcess bool) (bench.Calibration, error) {
	when := "at the start of the run, before the variants were measured"
	if inProcess {
		when = "at the start of the run, before anything in-process started"
	}
	if f.postgres != "" {
		return bench.CalibratePgbench(ctx, bench.PgbenchCalibration{
			URL: f.postgres, Duration: f.calibrateDuration, When: when, Progress: env.Stderr,
		})
	}
	return bench.CalibrateSQLite(ctx, bench.SQLiteCalibration{
		Dir: dir, Duration: f.calibrateDuration, When: when, Progress: env.Stderr,
	})
}

// keys returns the keys the bench signs its tokens with: the configured
// secrets, or, for in-process stacks alone, a new secret; a running stack
// (an external URL) needs its own.
func (f *benchFlags) keys(inProcess bool, external map[string]string) (*auth.Keys, error) {
	keys, err := apiflag.Keys(f.authSecret, f.authSecretFile)
	if err != nil || keys != nil {
		return keys, err
	}
	for _, v := range f.variants {
		if u := external[v]; u != "" {
			return nil, fmt.Errorf("the %s stack at %s verifies tokens with its own secret: give it with -%s or -%s (data/%s for `ordersaga run`)",
				v, u, apiflag.SecretFlag, apiflag.SecretFileFlag, allinone.DevSecretFile)
		}
	}
	if !inProcess {
		return nil, nil
	}
	secret, err := auth.GenerateSecret()
	if err != nil {
		return nil, err
	}
	return apiflag.ParseSecret(secret)
}

// benchLimits returns the limits of the in-process stacks: the defaults,
// raised so that every order the open loop keeps in flight may wait and
// be read. The bound of orders in flight stays each variant's default
// (MaxInFlight 0), so that the open loop measures the admission control a
// stack runs with.
func benchLimits(maxInFlight int) httpapi.Limits {
	l := httpapi.DefaultLimits()
	l.MaxWaiting = max(l.MaxWaiting, maxInFlight)
	l.MaxRequests = max(l.MaxRequests, maxInFlight+64)
	return l
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
