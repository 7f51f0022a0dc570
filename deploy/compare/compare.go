package compare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/deploy/bench/rig"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// DefaultOutDir is where the report is written.
const DefaultOutDir = "compare-results"

// LogFile is the file, in the report's folder, the compare command writes
// the stacks' logs to.
const LogFile = "stacks.log"

// DefaultStepDeadline is the step deadline (saga.Policy.StepDeadline) of the
// in-process stacks the long-fault scenarios run on: short, so that a service
// down past the deadline ends its orders within seconds. The other sections'
// stacks run with the default failure model.
const DefaultStepDeadline = 4 * time.Second

// Options says what to compare and where to write the report.
type Options struct {
	// Quick runs every section with fewer orders and shorter measures
	// (the whole run in under 2 minutes; about 10 without it).
	Quick bool
	// Sections are the keys of the sections to run (SectionKeys when
	// empty).
	Sections []string
	// PostgresURL, when set, puts the in-process stacks' service databases
	// and the embedded Temporal server's persistence on that PostgreSQL
	// server (databases <PostgresDBPrefix>_…, created afresh); else SQLite
	// files in Dir.
	PostgresURL      string
	PostgresDBPrefix string
	// OrchestratedURL and ChoreographedURL, when set, are running stacks
	// to measure from outside (their API and /metrics) instead of starting
	// that variant in-process. Keys must then be the keys they verify
	// tokens with.
	OrchestratedURL  string
	ChoreographedURL string
	// Keys sign the run's tokens; nil makes keys of the run's own for the
	// in-process stacks.
	Keys *auth.Keys
	// StepDeadline is the step deadline of the in-process stacks of the
	// long-fault scenarios (DefaultStepDeadline when zero).
	StepDeadline time.Duration
	// Binary is the ordersaga binary whose processes the failure section
	// kills and restarts (the running executable when empty).
	Binary string
	// Dir holds the in-process stacks' SQLite databases and the failure
	// section's processes' data (a temporary folder, removed after, when
	// empty).
	Dir string
	// OutDir is where report.md, report.html and report.json are written
	// (DefaultOutDir; nothing is written when "-").
	OutDir string
	// Logger receives the stacks' logs (discarded when nil).
	Logger *slog.Logger
	// Progress receives a line per stage and step (nothing when nil).
	Progress io.Writer
}

// Env is what every section runs against: the run's options and the
// stacks, started in-process or given by URL.
type Env struct {
	Opts Options
	// Rig is the in-process stacks, Temporal server and broker (nil when
	// both variants are external).
	Rig *rig.Rig
	// URLs are the stacks' base URLs by variant.
	URLs map[string]string
	// External says, by variant, whether the stack is one given by URL.
	External map[string]bool
	// Keys sign the run's tokens (operator and customers).
	Keys *auth.Keys
	// Policy is the saga policy of the long-fault stacks (ShortDeadlineURLs);
	// the main stacks run with the defaults.
	Policy saga.Policy
	// short are the long-fault stacks, once started.
	short     *rig.Rig
	shortURLs map[string]string
	// Dir is the run's working folder.
	Dir string
	// Setup is the report's setup, which sections may add settings to.
	Setup *Setup
	log   *slog.Logger
	out   io.Writer
}

// Quick reports whether the run is in quick mode.
func (e *Env) Quick() bool { return e.Opts.Quick }

// Logger returns the stacks' logger.
func (e *Env) Logger() *slog.Logger { return e.log }

// Progressf prints a progress line.
func (e *Env) Progressf(format string, args ...any) {
	fmt.Fprintf(e.out, "  "+format+"\n", args...)
}

// Progress returns the writer of progress lines.
func (e *Env) Progress() io.Writer { return e.out }

// Setting adds a setting to the report's setup.
func (e *Env) Setting(name, value string) {
	e.Setup.Settings = append(e.Setup.Settings, Setting{Name: name, Value: value})
}

// stage is one section of the run.
type stage struct {
	key, title string
	run        func(ctx context.Context, e *Env) (*Section, error)
}

// stages returns every stage in the report's order.
func stages() []stage {
	return []stage{
		{SectionOutcomes, "Outcomes: every scenario on both variants", outcomesSection},
		{SectionSpeed, "Speed: closed and open loop, with the framework ceilings", speedSection},
		{SectionCost, "Cost per order", costSection},
		{SectionFailure, "Failure: compensation, crashes and outages", failureSection},
		{SectionChange, "Change: what a new step touches", changeSection},
	}
}

// Run runs the comparison and writes the report to Options.OutDir. It
// returns the report; the error joins the sections' errors (each section
// also carries its own).
func Run(ctx context.Context, opts Options) (*Report, error) {
	started := time.Now()
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.OutDir == "" {
		opts.OutDir = DefaultOutDir
	}
	if opts.StepDeadline == 0 {
		opts.StepDeadline = DefaultStepDeadline
	}
	want := map[string]bool{}
	for _, k := range opts.Sections {
		want[k] = true
	}
	for k := range want {
		if !validSection(k) {
			return nil, fmt.Errorf("unknown section %q (%s)", k, strings.Join(SectionKeys(), ", "))
		}
	}
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "ordersaga-compare-")
		if err != nil {
			return nil, fmt.Errorf("compare: working folder: %w", err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	rep := &Report{Setup: newSetup(started, opts)}
	e := &Env{Opts: opts, URLs: map[string]string{}, External: map[string]bool{}, Dir: dir, Setup: &rep.Setup,
		log: opts.Logger, out: opts.Progress, Policy: saga.Policy{StepDeadline: opts.StepDeadline}}
	e.Setting("step deadline", fmt.Sprintf("%v (the default) on the stacks of every section; %v on the stacks of the long-fault scenarios (SQLite)",
		saga.DefaultStepDeadline, opts.StepDeadline))
	if err := e.start(ctx); err != nil {
		return nil, err
	}
	defer e.close()
	var errs []error
	for _, st := range stages() {
		if len(want) > 0 && !want[st.key] {
			continue
		}
		t0 := time.Now()
		fmt.Fprintf(e.out, "[%s] %s\n", st.key, st.title)
		sec, err := st.run(ctx, e)
		if sec == nil {
			sec = &Section{}
		}
		sec.Key, sec.Took = st.key, Duration(time.Since(t0))
		if sec.Title == "" {
			sec.Title = st.title
		}
		if err != nil {
			sec.Error = err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", st.key, err))
			fmt.Fprintf(e.out, "[%s] failed after %s: %v\n", st.key, sec.Took, err)
		} else {
			fmt.Fprintf(e.out, "[%s] done in %s: %d figures\n", st.key, sec.Took, len(sec.Figures))
		}
		rep.Sections = append(rep.Sections, sec)
		if ctx.Err() != nil {
			break
		}
	}
	rep.Headlines = headlines(rep)
	rep.Setup.Took = Duration(time.Since(started))
	if opts.OutDir != "-" {
		if err := Write(rep, opts.OutDir); err != nil {
			errs = append(errs, err)
		} else {
			fmt.Fprintf(e.out, "report: %s, %s, %s (took %s)\n", filepath.Join(opts.OutDir, "report.md"),
				filepath.Join(opts.OutDir, "report.html"), filepath.Join(opts.OutDir, "report.json"), rep.Setup.Took)
		}
	}
	return rep, errors.Join(errs...)
}

func validSection(k string) bool {
	for _, s := range SectionKeys() {
		if s == k {
			return true
		}
	}
	return false
}

// start starts what runs in-process and fills the URLs.
func (e *Env) start(ctx context.Context) error {
	o := e.Opts
	e.Keys = o.Keys
	if e.Keys == nil {
		if o.OrchestratedURL != "" || o.ChoreographedURL != "" {
			return errors.New("compare: a running stack verifies tokens with its own secret: give its keys")
		}
		secret, err := auth.GenerateSecret()
		if err != nil {
			return fmt.Errorf("compare: signing secret: %w", err)
		}
		raw, err := auth.ParseSecret(secret)
		if err != nil {
			return fmt.Errorf("compare: signing secret: %w", err)
		}
		if e.Keys, err = auth.NewKeys(raw); err != nil {
			return fmt.Errorf("compare: signing keys: %w", err)
		}
	}
	e.External[Orchestrated] = o.OrchestratedURL != ""
	e.External[Choreographed] = o.ChoreographedURL != ""
	e.URLs[Orchestrated] = strings.TrimRight(o.OrchestratedURL, "/")
	e.URLs[Choreographed] = strings.TrimRight(o.ChoreographedURL, "/")
	if e.External[Orchestrated] && e.External[Choreographed] {
		e.Setup.Stacks = map[string]string{Orchestrated: e.URLs[Orchestrated], Choreographed: e.URLs[Choreographed]}
		return nil
	}
	fmt.Fprintf(e.out, "[start] the in-process stacks (%s)\n", e.Setup.Store)
	rc := rig.Config{
		Dir:              filepath.Join(e.Dir, "stacks"),
		PostgresURL:      o.PostgresURL,
		PostgresDBPrefix: o.PostgresDBPrefix,
		Orchestrated:     !e.External[Orchestrated],
		Choreographed:    !e.External[Choreographed],
		Temporal:         true,
		Kafka:            true,
		TemporalStore:    temporaldev.DefaultStoreSettings(),
		Keys:             e.Keys,
		FaultInjection:   true,
		Logger:           e.log,
	}
	if err := os.MkdirAll(rc.Dir, 0o755); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	r, err := rig.Start(ctx, rc)
	if err != nil {
		return fmt.Errorf("compare: starting the stacks: %w", err)
	}
	e.Rig = r
	e.Setup.Stacks = map[string]string{}
	for _, v := range Variants() {
		if !e.External[v] {
			e.URLs[v] = r.URL(v)
			e.Setup.Stacks[v] = "in-process, " + e.Setup.Store
		} else {
			e.Setup.Stacks[v] = e.URLs[v]
		}
	}
	return nil
}

// ShortDeadlineURLs returns the base URLs, by variant, of stacks whose sagas
// run with the short step deadline e.Policy, for the long-fault scenarios: a
// second pair of in-process stacks on SQLite (with their own Temporal server
// and broker), started at the first call and stopped with the run, or a
// stack given by URL as it is.
func (e *Env) ShortDeadlineURLs(ctx context.Context) (map[string]string, error) {
	if e.shortURLs != nil {
		return e.shortURLs, nil
	}
	urls := map[string]string{}
	for _, v := range Variants() {
		if e.External[v] {
			urls[v] = e.URLs[v]
		}
	}
	if len(urls) < len(Variants()) {
		// On SQLite whatever the run's store: a second set of PostgreSQL
		// databases and pools would take more connections than a default
		// server allows beside the first.
		rc := rig.Config{
			Dir:            filepath.Join(e.Dir, "short-deadline"),
			Orchestrated:   !e.External[Orchestrated],
			Choreographed:  !e.External[Choreographed],
			TemporalStore:  temporaldev.DefaultStoreSettings(),
			Keys:           e.Keys,
			FaultInjection: true,
			Policy:         e.Policy,
			Logger:         e.log,
		}
		if err := os.MkdirAll(rc.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("stacks with a short step deadline: %w", err)
		}
		r, err := rig.Start(ctx, rc)
		if err != nil {
			return nil, fmt.Errorf("starting the stacks with a short step deadline: %w", err)
		}
		e.short = r
		for _, v := range Variants() {
			if !e.External[v] {
				urls[v] = r.URL(v)
			}
		}
	}
	e.shortURLs = urls
	return urls, nil
}

func (e *Env) close() {
	if e.short != nil {
		if err := e.short.Close(); err != nil {
			e.log.Warn("stopping the stacks with a short step deadline", "error", err)
		}
	}
	if e.Rig != nil {
		if err := e.Rig.Close(); err != nil {
			e.log.Warn("stopping the stacks", "error", err)
		}
	}
}

// newSetup describes the machine and the build.
func newSetup(started time.Time, o Options) Setup {
	s := Setup{Started: started, Mode: "full", GoVersion: runtime.Version(), Store: "SQLite", Modules: map[string]string{},
		Machine: fmt.Sprintf("%s/%s, %d CPUs%s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())}
	if o.Quick {
		s.Mode = "quick"
	}
	if o.PostgresURL != "" {
		s.Store = "PostgreSQL"
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if slices.Contains(reportedModules(), d.Path) {
				s.Modules[d.Path] = d.Version
			}
		}
	}
	if len(s.Modules) == 0 { // a test binary: its build information lists no dependency
		if root, err := findModuleRoot("."); err == nil {
			if b, err := os.ReadFile(filepath.Join(root, "go.mod")); err == nil {
				s.Modules = requiredVersions(b, reportedModules())
			}
		}
	}
	return s
}

// reportedModules are the dependencies whose versions a report names.
func reportedModules() []string {
	return []string{"go.temporal.io/sdk", "go.temporal.io/server", "github.com/segmentio/kafka-go",
		"github.com/jackc/pgx/v5", "modernc.org/sqlite", "github.com/gin-gonic/gin", "github.com/golang-migrate/migrate/v4"}
}

// requiredVersions returns the versions go.mod requires of the modules.
func requiredVersions(gomod []byte, modules []string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "require "))
		if len(f) >= 2 && slices.Contains(modules, f[0]) {
			out[f[0]] = f[1]
		}
	}
	return out
}

// cpuModel returns ", <model name>" from /proc/cpuinfo, or "".
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return ", " + strings.TrimSpace(v)
		}
	}
	return ""
}
