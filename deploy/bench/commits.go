package bench

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults of TemporalCommits.
const (
	// DefaultCommitSagas is how many sagas a count runs.
	DefaultCommitSagas = 40
	// DefaultCommitSettle is how long a count waits, before reading the
	// counters, for the database's statistics to take in what its
	// connections committed: PostgreSQL (15 and later) passes on an idle
	// connection's counts only after 10 s.
	DefaultCommitSettle = 11 * time.Second
	// DefaultCommitBackground is the window, between two settled reads
	// before the sagas, over which a count measures what the Temporal
	// server commits with no saga running (membership heartbeats,
	// namespace refreshes, queue and lease upkeep), which it then takes
	// off the sagas' count.
	DefaultCommitBackground = 5 * time.Second
)

// TemporalCommits says how to count the Temporal server's persistence
// commits per saga: sagas run one after the other (one client), and the
// server's databases' commit counters are read before and after.
type TemporalCommits struct {
	// Read returns the transactions the Temporal server's databases
	// committed so far: its default store's and its visibility store's
	// (PostgreSQL's pg_stat_database.xact_commit, which counts read-only
	// transactions too).
	Read func(ctx context.Context) (main, visibility int64, err error)
	// Sagas is how many sagas each count runs (DefaultCommitSagas).
	Sagas int
	// Settle and Background are DefaultCommitSettle and
	// DefaultCommitBackground when zero.
	Settle     time.Duration
	Background time.Duration
}

// CommitCount is what a count of Temporal persistence commits found for
// one kind of saga: a variant's order or the ceiling's no-op workflow.
type CommitCount struct {
	// Sagas is how many sagas the count ran, one after the other.
	Sagas int `json:"sagas"`
	// PerSaga and VisibilityPerSaga are the transactions committed per
	// saga in the default store's and the visibility store's database,
	// the background taken off.
	PerSaga           float64 `json:"per_saga"`
	VisibilityPerSaga float64 `json:"visibility_per_saga"`
	// BackgroundPerS is what both databases committed per second with no
	// saga running.
	BackgroundPerS float64 `json:"background_per_s"`
	// Error says why the count failed; the other fields are then zero.
	Error string `json:"error,omitempty"`
}

// withDefaults returns tc with its zero fields set to their defaults.
func (tc TemporalCommits) withDefaults() TemporalCommits {
	if tc.Sagas <= 0 {
		tc.Sagas = DefaultCommitSagas
	}
	if tc.Settle <= 0 {
		tc.Settle = DefaultCommitSettle
	}
	if tc.Background <= 0 {
		tc.Background = DefaultCommitBackground
	}
	return tc
}

// counterRead is one read of the counters.
type counterRead struct {
	at               time.Time
	main, visibility int64
}

// countCommits counts the Temporal persistence commits of the sagas that
// run starts: it waits for the counters to settle and reads them twice,
// Background apart, for what the server commits on its own; runs Sagas
// sagas one after the other; waits for the counters to settle and reads
// them again.
func countCommits(ctx context.Context, tc TemporalCommits, prog *progress, label string, run func(context.Context, uint64) Result, seq *atomic.Uint64) CommitCount {
	tc = tc.withDefaults()
	res := CommitCount{Sagas: tc.Sagas}
	fail := func(format string, args ...any) CommitCount {
		return CommitCount{Sagas: tc.Sagas, Error: fmt.Sprintf(format, args...)}
	}
	read := func(wait time.Duration) (counterRead, error) {
		select {
		case <-ctx.Done():
			return counterRead{}, ctx.Err()
		case <-time.After(wait):
		}
		r := counterRead{at: time.Now()}
		var err error
		r.main, r.visibility, err = tc.Read(ctx)
		return r, err
	}
	prog.note("%s: counting Temporal persistence commits over %d sagas, one at a time (about %v)", label, tc.Sagas, 2*tc.Settle+tc.Background)
	quiet, err := read(tc.Settle)
	if err != nil {
		return fail("reading the commit counters: %v", err)
	}
	before, err := read(tc.Background)
	if err != nil {
		return fail("reading the commit counters: %v", err)
	}
	idle := before.at.Sub(quiet.at).Seconds()
	bgMain := float64(before.main-quiet.main) / idle
	bgVisibility := float64(before.visibility-quiet.visibility) / idle
	for range tc.Sagas {
		if r := run(ctx, seq.Add(1)); r.Outcome != Succeeded {
			return fail("a saga did not complete: %s %s", r.Outcome, r.Detail)
		}
	}
	after, err := read(tc.Settle)
	if err != nil {
		return fail("reading the commit counters: %v", err)
	}
	span := after.at.Sub(before.at).Seconds()
	n := float64(tc.Sagas)
	res.PerSaga = round2((float64(after.main-before.main) - bgMain*span) / n)
	res.VisibilityPerSaga = round2((float64(after.visibility-before.visibility) - bgVisibility*span) / n)
	res.BackgroundPerS = round2(bgMain + bgVisibility)
	return res
}

// round2 rounds to two decimals.
func round2(x float64) float64 { return math.Round(x*100) / 100 }

// commitLines are the report's lines on the Temporal persistence commits
// per saga, none when nothing was counted.
func (r Report) commitLines() []string {
	var lines []string
	add := func(name string, c *CommitCount) {
		switch {
		case c == nil:
		case c.Error != "":
			lines = append(lines, fmt.Sprintf("  %s: not counted: %s", name, c.Error))
		default:
			lines = append(lines, fmt.Sprintf("  %s: %.1f (visibility %.1f) over %d sagas one at a time; %.1f/s with no saga, taken off",
				name, c.PerSaga, c.VisibilityPerSaga, c.Sagas, c.BackgroundPerS))
		}
	}
	for _, v := range r.Variants {
		add(v.Name, v.TemporalCommits)
	}
	for _, c := range r.Ceilings {
		add(string(c.Framework)+" ceiling", c.TemporalCommits)
	}
	if len(lines) == 0 {
		return nil
	}
	head := "Temporal persistence commits per saga (PostgreSQL transactions of its database, reads included; visibility's database apart):"
	return append([]string{"", head}, lines...)
}

// commitsSummary is one line of the counts, for the progress output.
func commitsSummary(c CommitCount) string {
	if c.Error != "" {
		return "not counted: " + c.Error
	}
	return strings.TrimSpace(fmt.Sprintf("%.1f commits per saga (visibility %.1f)", c.PerSaga, c.VisibilityPerSaga))
}

// countTargetCommits counts the commits per order of each target built on
// Temporal, when opts asks for it, with orders that do not fail.
func countTargetCommits(ctx context.Context, opts Options, rep *Report, prog *progress, clients []*orderClient, seq *atomic.Uint64) {
	if opts.TemporalCommits == nil {
		return
	}
	for i, t := range opts.Targets {
		if t.Framework != FrameworkTemporal || ctx.Err() != nil {
			continue
		}
		c := *clients[i]
		o := *c.opts
		o.FailureShare = 0
		c.opts = &o
		count := countCommits(ctx, *opts.TemporalCommits, prog, t.Name, c.place, seq)
		prog.note("%s: %s", t.Name, commitsSummary(count))
		rep.Variants[i].TemporalCommits = &count
	}
}
