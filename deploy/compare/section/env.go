package section

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/ordersaga/ordersaga/deploy/bench/rig"
	"github.com/ordersaga/ordersaga/deploy/compare/report"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// Env is what every section runs against: the run's settings and the
// stacks, started in-process or given by URL.
type Env struct {
	// Quick says the run is in quick mode: fewer orders and shorter
	// measures.
	Quick bool
	// PostgresURL, when set, is the PostgreSQL server the in-process
	// stacks' service databases and the embedded Temporal server's
	// persistence are on (databases <PostgresDBPrefix>_…); else they are
	// SQLite files in Dir.
	PostgresURL      string
	PostgresDBPrefix string
	// Binary is the ordersaga binary whose processes the failure section
	// kills and restarts (the running executable when empty).
	Binary string
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
	Setup *report.Setup
	log   *slog.Logger
	out   io.Writer
}

// NewEnv returns an Env with no stack yet, whose stacks log to logger and
// whose sections write their progress lines to progress.
func NewEnv(logger *slog.Logger, progress io.Writer) *Env {
	return &Env{URLs: map[string]string{}, External: map[string]bool{}, log: logger, out: progress}
}

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
	e.Setup.Settings = append(e.Setup.Settings, report.Setting{Name: name, Value: value})
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
	for _, v := range report.Variants() {
		if e.External[v] {
			urls[v] = e.URLs[v]
		}
	}
	if len(urls) < len(report.Variants()) {
		// On SQLite whatever the run's store: a second set of PostgreSQL
		// databases and pools would take more connections than a default
		// server allows beside the first.
		rc := rig.Config{
			Dir:            filepath.Join(e.Dir, "short-deadline"),
			Orchestrated:   !e.External[report.Orchestrated],
			Choreographed:  !e.External[report.Choreographed],
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
		for _, v := range report.Variants() {
			if !e.External[v] {
				urls[v] = r.URL(v)
			}
		}
	}
	e.shortURLs = urls
	return urls, nil
}

// Close stops the stacks: those with the short step deadline, if started,
// and the Rig.
func (e *Env) Close() {
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
