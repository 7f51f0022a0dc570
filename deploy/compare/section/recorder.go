package section

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Recorder is a testing.TB for running the scenario suite's code (written
// for tests) in the compare command: it records failures and log lines
// instead of reporting to a test, runs cleanups when the run ends, and
// ends the run's goroutine on FailNow, as a test would.
//
// It embeds testing.TB only to have the interface's unexported method;
// every exported method is its own, and the embedded value stays nil.
type Recorder struct {
	testing.TB

	name string
	ctx  context.Context
	log  io.Writer // log lines go there too when not nil

	mu       sync.Mutex
	failures []string
	lines    []string
	failed   bool
	skipped  bool
	cleanups []func()
	tempDirs []string
}

var _ testing.TB = (*Recorder)(nil)

// RunRecorded runs f with a Recorder named name in a goroutine of its own,
// as a test runs, waits for it (FailNow and SkipNow end it early), runs the
// cleanups and returns the Recorder.
func RunRecorded(ctx context.Context, name string, log io.Writer, f func(tb testing.TB)) *Recorder {
	r := &Recorder{name: name, ctx: ctx, log: log}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				r.fail(fmt.Sprintf("panic: %v", p))
			}
		}()
		f(r)
	}()
	<-done
	r.runCleanups()
	return r
}

// Failures returns the recorded failure messages.
func (r *Recorder) Failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.failures...)
}

// Lines returns every line logged or failed, in order.
func (r *Recorder) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

func (r *Recorder) line(s string) {
	r.lines = append(r.lines, s)
	if r.log != nil {
		fmt.Fprintf(r.log, "    %s: %s\n", r.name, strings.TrimRight(s, "\n"))
	}
}

func (r *Recorder) fail(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.failures = append(r.failures, msg)
	r.line(msg)
}

func (r *Recorder) runCleanups() {
	for {
		r.mu.Lock()
		n := len(r.cleanups)
		if n == 0 {
			dirs := r.tempDirs
			r.tempDirs = nil
			r.mu.Unlock()
			for _, d := range dirs {
				_ = os.RemoveAll(d)
			}
			return
		}
		f := r.cleanups[n-1]
		r.cleanups = r.cleanups[:n-1]
		r.mu.Unlock()
		f()
	}
}

// ArtifactDir returns a temporary folder.
func (r *Recorder) ArtifactDir() string { return r.TempDir() }

// Attr logs the attribute.
func (r *Recorder) Attr(key, value string) { r.Logf("%s=%s", key, value) }

// Cleanup registers f to run when the recorded run ends, last first.
func (r *Recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

// Error records a failure.
func (r *Recorder) Error(args ...any) { r.fail(fmt.Sprintln(args...)) }

// Errorf records a failure.
func (r *Recorder) Errorf(format string, args ...any) { r.fail(fmt.Sprintf(format, args...)) }

// Fail marks the run failed.
func (r *Recorder) Fail() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
}

// FailNow marks the run failed and ends its goroutine.
func (r *Recorder) FailNow() {
	r.Fail()
	runtime.Goexit()
}

// Failed reports whether the run failed.
func (r *Recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// Fatal records a failure and ends the run's goroutine.
func (r *Recorder) Fatal(args ...any) {
	r.fail(fmt.Sprintln(args...))
	runtime.Goexit()
}

// Fatalf records a failure and ends the run's goroutine.
func (r *Recorder) Fatalf(format string, args ...any) {
	r.fail(fmt.Sprintf(format, args...))
	runtime.Goexit()
}

// Helper does nothing.
func (r *Recorder) Helper() {}

// Log records a line.
func (r *Recorder) Log(args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.line(fmt.Sprintln(args...))
}

// Logf records a line.
func (r *Recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.line(fmt.Sprintf(format, args...))
}

// Name returns the run's name.
func (r *Recorder) Name() string { return r.name }

// Setenv is refused: the command's environment is shared.
func (r *Recorder) Setenv(key, _ string) { r.Fatalf("Setenv(%q) outside a test", key) }

// Chdir is refused: the command's working directory is shared.
func (r *Recorder) Chdir(dir string) { r.Fatalf("Chdir(%q) outside a test", dir) }

// Skip records the reason and ends the run's goroutine.
func (r *Recorder) Skip(args ...any) {
	r.Log(args...)
	r.SkipNow()
}

// SkipNow marks the run skipped and ends its goroutine.
func (r *Recorder) SkipNow() {
	r.mu.Lock()
	r.skipped = true
	r.mu.Unlock()
	runtime.Goexit()
}

// Skipf records the reason and ends the run's goroutine.
func (r *Recorder) Skipf(format string, args ...any) {
	r.Logf(format, args...)
	r.SkipNow()
}

// Skipped reports whether the run was skipped.
func (r *Recorder) Skipped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.skipped
}

// TempDir returns a new temporary folder, removed when the run ends.
func (r *Recorder) TempDir() string {
	d, err := os.MkdirTemp("", "ordersaga-compare-")
	if err != nil {
		r.Fatalf("temporary folder: %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tempDirs = append(r.tempDirs, d)
	return d
}

// Context returns the run's context.
func (r *Recorder) Context() context.Context { return r.ctx }

// Output returns a writer of log lines.
func (r *Recorder) Output() io.Writer { return recorderOutput{r} }

type recorderOutput struct{ r *Recorder }

func (o recorderOutput) Write(p []byte) (int, error) {
	o.r.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
