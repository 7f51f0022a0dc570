package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progressEvery is how often the live progress line is refreshed.
const progressEvery = time.Second

// progress writes what the run is doing: a line per finished point and,
// when live, a line rewritten in place every second while a point runs.
type progress struct {
	w     io.Writer
	live  bool
	mu    sync.Mutex
	width int // of the live line on screen, to blank it
}

func newProgress(w io.Writer, live bool) *progress { return &progress{w: w, live: live} }

// note writes a line of its own.
func (p *progress) note(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// start shows the progress of the point named label until the returned
// function is called with its result, which then writes the point's line.
func (p *progress) start(label string, rec *recorder) func(Point) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	if p.live {
		wg.Go(func() {
			t := time.NewTicker(progressEvery)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case now := <-t.C:
					p.show(liveLine(label, rec, now))
				}
			}
		})
	}
	return func(pt Point) {
		close(done)
		wg.Wait()
		line := fmt.Sprintf("%s  %6.1f/s  p50 %7.1f ms  p99 %7.1f ms  final %d  errors %d",
			label, pt.Throughput, pt.Latency.P50, pt.Latency.P99, pt.Final, pt.Errors)
		if pt.BusinessFail > 0 {
			line += fmt.Sprintf("  business-failed %d", pt.BusinessFail)
		}
		if pt.Refused > 0 {
			line += fmt.Sprintf("  refused %d", pt.Refused)
		}
		if pt.OfferedRate > 0 { // an open loop's
			line += fmt.Sprintf("  goodput %.1f/s  completed %.1f/s", pt.Goodput, pt.CompletionRate)
		}
		p.note("%s", line)
	}
}

// liveLine describes a running point.
func liveLine(label string, rec *recorder, now time.Time) string {
	s := rec.snapshot(now)
	ws, we, ok := rec.window()
	var phase string
	switch {
	case !ok || now.Before(ws):
		phase = "warm-up"
	case now.Before(we):
		phase = fmt.Sprintf("%.0fs/%.0fs", now.Sub(ws).Seconds(), we.Sub(ws).Seconds())
	default:
		phase = "draining"
	}
	return fmt.Sprintf("%s  %-9s done %d  %.1f/s  p50 %.1f ms  errors %d",
		label, phase, s.done, s.rate, ms(s.p50), s.errors)
}

// show rewrites the live line.
func (p *progress) show(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pad := max(0, p.width-len(line))
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
	p.width = len(line)
}

// clear blanks the live line, if any. The caller holds p.mu.
func (p *progress) clear() {
	if p.width > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
		p.width = 0
	}
}
