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
	"github.com/ordersaga/ordersaga/deploy/compare/change"
	"github.com/ordersaga/ordersaga/deploy/compare/cost"
	"github.com/ordersaga/ordersaga/deploy/compare/failure"
	"github.com/ordersaga/ordersaga/deploy/compare/outcomes"
	"github.com/ordersaga/ordersaga/deploy/compare/report"
	"github.com/ordersaga/ordersaga/deploy/compare/section"
	"github.com/ordersaga/ordersaga/deploy/compare/speed"
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
	// Sections are the keys of the sections to run (report.SectionKeys when
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

// stage is one section of the run.
type stage struct {
	key, title string
	run        func(ctx context.Context, e *section.Env) (*report.Section, error)
}

// stages returns every stage in the report's order.
func stages() []stage {
	return []stage{
		{report.SectionOutcomes, "Outcomes: every scenario on both variants", outcomes.Section},
		{report.SectionSpeed, "Speed: closed and open loop, with the framework ceilings", speed.Section},
		{report.SectionCost, "Cost per order", cost.Section},
		{report.SectionFailure, "Failure: compensation, crashes and outages", failure.Section},
		{report.SectionChange, "Change: what a new step touches", change.Section},
	}
}

// Run runs the comparison and writes the report to Options.OutDir. It
// returns the report; the error joins the sections' errors (each section
// also carries its own).
func Run(ctx context.Context, opts Options) (*report.Report, error) {
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
			return nil, fmt.Errorf("unknown section %q (%s)", k, strings.Join(report.SectionKeys(), ", "))
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
	rep := &report.Report{Setup: newSetup(started, opts)}
	e := section.NewEnv(opts.Logger, opts.Progress)
	e.Quick, e.PostgresURL, e.PostgresDBPrefix, e.Binary = opts.Quick, opts.PostgresURL, opts.PostgresDBPrefix, opts.Binary
	e.Dir, e.Setup, e.Policy = dir, &rep.Setup, saga.Policy{StepDeadline: opts.StepDeadline}
	e.Setting("step deadline", fmt.Sprintf("%v (the default) on the stacks of every section; %v on the stacks of the long-fault scenarios (SQLite)",
		saga.DefaultStepDeadline, opts.StepDeadline))
	if err := start(ctx, e, opts); err != nil {
		return nil, err
	}
	defer e.Close()
	var errs []error
	for _, st := range stages() {
		if len(want) > 0 && !want[st.key] {
			continue
		}
		t0 := time.Now()
		fmt.Fprintf(e.Progress(), "[%s] %s\n", st.key, st.title)
		sec, err := st.run(ctx, e)
		if sec == nil {
			sec = &report.Section{}
		}
		sec.Key, sec.Took = st.key, report.Duration(time.Since(t0))
		if sec.Title == "" {
			sec.Title = st.title
		}
		if err != nil {
			sec.Error = err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", st.key, err))
			fmt.Fprintf(e.Progress(), "[%s] failed after %s: %v\n", st.key, sec.Took, err)
		} else {
			fmt.Fprintf(e.Progress(), "[%s] done in %s: %d figures\n", st.key, sec.Took, len(sec.Figures))
		}
		rep.Sections = append(rep.Sections, sec)
		if ctx.Err() != nil {
			break
		}
	}
	rep.Headlines = report.Headlines(rep)
	rep.Setup.Took = report.Duration(time.Since(started))
	if opts.OutDir != "-" {
		if err := report.Write(rep, opts.OutDir); err != nil {
			errs = append(errs, err)
		} else {
			fmt.Fprintf(e.Progress(), "report: %s, %s, %s (took %s)\n", filepath.Join(opts.OutDir, "report.md"),
				filepath.Join(opts.OutDir, "report.html"), filepath.Join(opts.OutDir, "report.json"), rep.Setup.Took)
		}
	}
	return rep, errors.Join(errs...)
}

func validSection(k string) bool {
	for _, s := range report.SectionKeys() {
		if s == k {
			return true
		}
	}
	return false
}

// start starts what runs in-process, as the options say, and fills the
// Env's keys, URLs and stacks.
func start(ctx context.Context, e *section.Env, o Options) error {
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
	e.External[report.Orchestrated] = o.OrchestratedURL != ""
	e.External[report.Choreographed] = o.ChoreographedURL != ""
	e.URLs[report.Orchestrated] = strings.TrimRight(o.OrchestratedURL, "/")
	e.URLs[report.Choreographed] = strings.TrimRight(o.ChoreographedURL, "/")
	if e.External[report.Orchestrated] && e.External[report.Choreographed] {
		e.Setup.Stacks = map[string]string{report.Orchestrated: e.URLs[report.Orchestrated], report.Choreographed: e.URLs[report.Choreographed]}
		return nil
	}
	fmt.Fprintf(e.Progress(), "[start] the in-process stacks (%s)\n", e.Setup.Store)
	rc := rig.Config{
		Dir:              filepath.Join(e.Dir, "stacks"),
		PostgresURL:      o.PostgresURL,
		PostgresDBPrefix: o.PostgresDBPrefix,
		Orchestrated:     !e.External[report.Orchestrated],
		Choreographed:    !e.External[report.Choreographed],
		Temporal:         true,
		Kafka:            true,
		TemporalStore:    temporaldev.DefaultStoreSettings(),
		Keys:             e.Keys,
		FaultInjection:   true,
		Logger:           e.Logger(),
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
	for _, v := range report.Variants() {
		if !e.External[v] {
			e.URLs[v] = r.URL(v)
			e.Setup.Stacks[v] = "in-process, " + e.Setup.Store
		} else {
			e.Setup.Stacks[v] = e.URLs[v]
		}
	}
	return nil
}

// newSetup describes the machine and the build.
func newSetup(started time.Time, o Options) report.Setup {
	s := report.Setup{Started: started, Mode: "full", GoVersion: runtime.Version(), Store: "SQLite", Modules: map[string]string{},
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
		if root, err := change.FindModuleRoot("."); err == nil {
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
