package scenario

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing the
// real test, so a test can assert that the suite reports a broken stack.
// Logs go to the real test. Its Fatal and SkipNow end only the goroutine
// that record started.
type recorder struct {
	testing.TB // the real test: names, logs, temp dirs, context

	mu       sync.Mutex
	failed   bool
	messages []string
	cleanups []func()
}

// record runs f with a recorder in its own goroutine, runs the cleanups f
// registered, and returns the recorder.
func record(tb testing.TB, f func(tb testing.TB)) *recorder {
	tb.Helper()
	r := &recorder{TB: tb}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer r.runCleanups()
		f(r)
	}()
	<-done
	return r
}

func (r *recorder) runCleanups() {
	for {
		r.mu.Lock()
		if len(r.cleanups) == 0 {
			r.mu.Unlock()
			return
		}
		f := r.cleanups[len(r.cleanups)-1]
		r.cleanups = r.cleanups[:len(r.cleanups)-1]
		r.mu.Unlock()
		f()
	}
}

func (r *recorder) add(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.messages = append(r.messages, strings.TrimSuffix(msg, "\n"))
}

func (r *recorder) Helper()                           {}
func (r *recorder) Cleanup(f func())                  { r.mu.Lock(); r.cleanups = append(r.cleanups, f); r.mu.Unlock() }
func (r *recorder) Error(args ...any)                 { r.add(fmt.Sprintln(args...)) }
func (r *recorder) Errorf(format string, args ...any) { r.add(fmt.Sprintf(format, args...)) }
func (r *recorder) Fail()                             { r.mu.Lock(); r.failed = true; r.mu.Unlock() }
func (r *recorder) FailNow()                          { r.Fail(); runtime.Goexit() }
func (r *recorder) Fatal(args ...any)                 { r.Error(args...); runtime.Goexit() }
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); runtime.Goexit() }
func (r *recorder) SkipNow()                          { runtime.Goexit() }
func (r *recorder) Skip(args ...any)                  { r.Log(args...); runtime.Goexit() }
func (r *recorder) Skipf(format string, args ...any)  { r.Logf(format, args...); runtime.Goexit() }

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// Messages returns the failures recorded so far.
func (r *recorder) Messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.messages...)
}

// expectReported fails the real test unless the recorder recorded a
// failure containing each of the substrings.
func expectReported(tb testing.TB, r *recorder, substrings ...string) {
	tb.Helper()
	msgs := r.Messages()
	if !r.Failed() {
		tb.Fatalf("the suite reported nothing, want failures containing %q", substrings)
	}
	for _, s := range substrings {
		found := false
		for _, m := range msgs {
			if strings.Contains(m, s) {
				found = true
				break
			}
		}
		if !found {
			tb.Errorf("no failure contains %q; failures:\n%s", s, strings.Join(msgs, "\n"))
		}
	}
}

// expectClean fails the real test when the recorder recorded a failure.
func expectClean(tb testing.TB, r *recorder) {
	tb.Helper()
	if r.Failed() {
		tb.Errorf("the suite reported failures, want none:\n%s", strings.Join(r.Messages(), "\n"))
	}
}
