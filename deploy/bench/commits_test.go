package bench

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeCounters are commit counters that grow at a steady background rate
// and by a fixed number per saga run.
type fakeCounters struct {
	mu             sync.Mutex
	start          time.Time
	sagas          int
	perSaga        float64
	visibility     float64
	backgroundPerS float64
}

func (f *fakeCounters) read(context.Context) (int64, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	bg := f.backgroundPerS * time.Since(f.start).Seconds()
	return int64(math.Round(1000 + bg + f.perSaga*float64(f.sagas))), int64(math.Round(50 + f.visibility*float64(f.sagas))), nil
}

func (f *fakeCounters) run(context.Context, uint64) Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sagas++
	time.Sleep(2 * time.Millisecond)
	return Result{Outcome: Succeeded}
}

// A count takes the background off what the sagas committed, per saga.
func TestCountCommits_TakesTheBackgroundOffPerSaga(t *testing.T) {
	f := &fakeCounters{start: time.Now(), perSaga: 31, visibility: 4, backgroundPerS: 400}
	tc := TemporalCommits{Read: f.read, Sagas: 25, Settle: 30 * time.Millisecond, Background: 200 * time.Millisecond}
	var seq atomic.Uint64
	got := countCommits(context.Background(), tc, newProgress(io.Discard, false), "test", f.run, &seq)
	if got.Error != "" {
		t.Fatal(got.Error)
	}
	if f.sagas != 25 || got.Sagas != 25 || seq.Load() != 25 {
		t.Errorf("ran %d sagas (count says %d, sequence %d), want 25", f.sagas, got.Sagas, seq.Load())
	}
	// The background is read over 200 ms: a few ms of timing error is a
	// few percent of it, spread over 25 sagas.
	if math.Abs(got.PerSaga-31) > 1 || got.VisibilityPerSaga != 4 {
		t.Errorf("per saga %.2f (visibility %.2f), want 31 (4)", got.PerSaga, got.VisibilityPerSaga)
	}
	if math.Abs(got.BackgroundPerS-400) > 40 {
		t.Errorf("background %.1f/s, want about 400", got.BackgroundPerS)
	}
}

// A saga that fails, or counters that cannot be read, make a count with
// an error and no figures.
func TestCountCommits_FailedSagaOrRead_IsAnError(t *testing.T) {
	tc := TemporalCommits{Sagas: 3, Settle: time.Millisecond, Background: time.Millisecond}
	var seq atomic.Uint64
	tc.Read = func(context.Context) (int64, int64, error) { return 1, 1, nil }
	got := countCommits(context.Background(), tc, newProgress(io.Discard, false), "test", func(context.Context, uint64) Result {
		return Result{Outcome: ErrTimeout, Detail: "not final"}
	}, &seq)
	if !strings.Contains(got.Error, "did not complete") || got.PerSaga != 0 {
		t.Errorf("count %+v, want an error for the failed saga", got)
	}
	tc.Read = func(context.Context) (int64, int64, error) { return 0, 0, errors.New("no server") }
	got = countCommits(context.Background(), tc, newProgress(io.Discard, false), "test", func(context.Context, uint64) Result {
		return Result{Outcome: Succeeded}
	}, &seq)
	if !strings.Contains(got.Error, "no server") {
		t.Errorf("count %+v, want the read's error", got)
	}
}

// The table has a line per count, the variant's and the ceiling's, and
// none without counts.
func TestReport_CommitLines(t *testing.T) {
	var r Report
	if lines := r.commitLines(); lines != nil {
		t.Errorf("lines %q without a count", lines)
	}
	r.Variants = []VariantResult{{Name: "orchestrated", TemporalCommits: &CommitCount{Sagas: 40, PerSaga: 98.5, VisibilityPerSaga: 6.2, BackgroundPerS: 7.6}}}
	r.Ceilings = []CeilingResult{{Framework: FrameworkTemporal, TemporalCommits: &CommitCount{Sagas: 40, Error: "a saga did not complete"}}}
	text := strings.Join(r.commitLines(), "\n")
	for _, want := range []string{"Temporal persistence commits per saga", "orchestrated: 98.5 (visibility 6.2) over 40 sagas", "temporal ceiling: not counted: a saga did not complete"} {
		if !strings.Contains(text, want) {
			t.Errorf("lines %q lack %q", text, want)
		}
	}
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "orchestrated: 98.5 (visibility 6.2)") {
		t.Errorf("the table lacks the count:\n%s", b.String())
	}
}
