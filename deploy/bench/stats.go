package bench

import (
	"maps"
	"math"
	"slices"
	"sync"
	"time"
)

// Outcome is how one operation ended.
type Outcome int

// The outcomes. An order that reached a final status is either Succeeded
// (completed) or BusinessFailed (failed or cancelled by the business
// rules); an order the target refused to take (503 with Retry-After:
// admission control) is Refused, neither final nor an error; every other
// end is an error.
const (
	Succeeded      Outcome = iota // final, completed (for a ceiling: done)
	BusinessFailed                // final, but failed or cancelled by a business rule
	ErrTransport                  // no answer: connection refused, reset, …
	ErrServer                     // 5xx answer
	ErrClient                     // unexpected 4xx answer
	ErrTimeout                    // not final before the operation's deadline
	ErrOther                      // anything else (e.g. a body that does not parse)
	Refused                       // not taken: 503 with Retry-After, nothing placed; not retried
	numOutcomes
)

// String names the outcome as the report does.
func (o Outcome) String() string {
	switch o {
	case Succeeded:
		return "succeeded"
	case BusinessFailed:
		return "business_failed"
	case ErrTransport:
		return "transport"
	case ErrServer:
		return "http_5xx"
	case ErrClient:
		return "http_4xx"
	case ErrTimeout:
		return "timeout"
	case ErrOther:
		return "other"
	case Refused:
		return "refused"
	}
	return "unknown"
}

// final reports whether the operation ended in a final status (its
// latency counts).
func (o Outcome) final() bool { return o == Succeeded || o == BusinessFailed }

// failed reports whether the operation ended in an error.
func (o Outcome) failed() bool { return !o.final() && o != Refused }

// Result is the end of one operation: its outcome and, for an error, what
// went wrong.
type Result struct {
	Outcome Outcome
	Detail  string
	// Note, when set, counts the operation under that name in the point's
	// counters.
	Note string
	// End, when set, is when the operation ended if the driver learned it
	// later (e.g. a workflow's close time found by polling); by default the
	// operation ends when it returns.
	End time.Time
	// RetryAfter is the delay a Refused operation was told to wait before
	// trying again.
	RetryAfter time.Duration
}

// maxErrorSamples bounds the distinct error messages a point keeps.
const maxErrorSamples = 5

// Latency summarizes the latencies of the final operations of a point, in
// milliseconds.
type Latency struct {
	P50  float64 `json:"p50_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest sample such that at least p% of the
// samples are at or below it. It returns 0 for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// summarize returns the latency summary of samples (sorted in place).
func summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, s := range samples {
		sum += s
	}
	return Latency{
		P50:  ms(Percentile(samples, 50)),
		P95:  ms(Percentile(samples, 95)),
		P99:  ms(Percentile(samples, 99)),
		Max:  ms(samples[len(samples)-1]),
		Mean: ms(sum / time.Duration(len(samples))),
	}
}

// ms converts d to milliseconds, rounded to the microsecond.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// recorder collects the results of one point. The point's measured
// window opens after its warm-up: at least warmup after its start, and not
// before need operations ended (every client of a closed loop has
// finished an order; the first order of an open loop is through), so a
// slow system is measured in its steady state rather than while its first
// orders are still on their way. Only operations that started (in an open
// loop: were scheduled) inside the window count; the others are warm-up.
//
// In a closed loop the window lasts duration and, beyond it, until every
// client has started an operation in it (at most maxExtend longer), so
// that each client's latency is in the figures even when one operation
// takes longer than the window.
type recorder struct {
	start     time.Time
	warmup    time.Duration
	duration  time.Duration
	need      int
	clients   int // of a closed loop; 0 for an open loop
	maxExtend time.Duration
	slo       time.Duration // latency objective of the goodput; 0 for none

	mu          sync.Mutex
	windowSet   bool
	windowStart time.Time
	windowEnd   time.Time
	represented []bool // by client: started an operation in the window
	nRepr       int
	ended       int             // operations ended, warm-up included
	samples     []time.Duration // latencies of final operations
	busy        time.Duration   // summed durations of every counted operation
	counts      [numOutcomes]int
	errSamples  []string
	counters    map[string]int
	lastDone    time.Time // latest end of a counted operation
	finishedIn  int       // final operations that ended inside the window
	warmupDone  int
	inFlight    int
	maxInFlight int
}

// newRecorder returns the recorder of an open-loop point that starts at
// start, whose window opens once need operations ended (and warmup
// passed).
func newRecorder(start time.Time, warmup, duration time.Duration, need int) *recorder {
	r := &recorder{start: start, warmup: warmup, duration: duration, need: need}
	if need <= 0 {
		r.setWindow(start.Add(warmup))
	}
	return r
}

// newClosedRecorder returns the recorder of a closed-loop point of clients
// clients.
func newClosedRecorder(start time.Time, warmup, duration time.Duration, clients int, maxExtend time.Duration) *recorder {
	r := newRecorder(start, warmup, duration, clients)
	r.clients, r.maxExtend, r.represented = clients, maxExtend, make([]bool, clients)
	return r
}

// setWindow opens the window at ws. The caller holds r.mu or owns r.
func (r *recorder) setWindow(ws time.Time) {
	r.windowSet, r.windowStart, r.windowEnd = true, ws, ws.Add(r.duration)
}

// window returns the measured window, and false while the warm-up goes
// on. A closed loop's window may still grow.
func (r *recorder) window() (start, end time.Time, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.windowStart, r.windowEnd, r.windowSet
}

// accepts reports whether an operation of an open loop scheduled at t is
// part of the point: the window has not ended by then.
func (r *recorder) accepts(t time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.windowSet || t.Before(r.windowEnd)
}

// admit reports whether client (of a closed loop) may start an operation
// at t: the window has not ended, or not every client has started one in
// it yet, which makes the window last until t.
func (r *recorder) admit(client int, t time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.windowSet || t.Before(r.windowStart) {
		return true
	}
	if !t.Before(r.windowEnd) {
		if r.nRepr >= r.clients || !t.Before(r.windowStart.Add(r.duration+r.maxExtend)) {
			return false
		}
		r.windowEnd = t.Add(time.Nanosecond)
	}
	if !r.represented[client] {
		r.represented[client] = true
		r.nRepr++
	}
	return true
}

// begin notes that an operation is in flight.
func (r *recorder) begin() {
	r.mu.Lock()
	r.inFlight++
	r.maxInFlight = max(r.maxInFlight, r.inFlight)
	r.mu.Unlock()
}

// add records an operation that started at start (its scheduled time in an
// open loop) and ended at end.
func (r *recorder) add(start, end time.Time, res Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inFlight--
	r.ended++
	if !r.windowSet && r.ended >= r.need {
		r.setWindow(later(end, r.start.Add(r.warmup)))
	}
	if !r.windowSet {
		r.warmupDone++
		return
	}
	if !res.End.IsZero() {
		end = res.End
	}
	if res.Outcome.final() && !end.Before(r.windowStart) && end.Before(r.windowEnd) {
		r.finishedIn++
	}
	if start.Before(r.windowStart) || !start.Before(r.windowEnd) {
		r.warmupDone++
		return
	}
	r.counts[res.Outcome]++
	r.busy += end.Sub(start)
	if res.Note != "" {
		if r.counters == nil {
			r.counters = map[string]int{}
		}
		r.counters[res.Note]++
	}
	if res.Outcome.final() {
		r.samples = append(r.samples, end.Sub(start))
	} else if res.Outcome.failed() && res.Detail != "" && len(r.errSamples) < maxErrorSamples && !slices.Contains(r.errSamples, res.Detail) {
		r.errSamples = append(r.errSamples, res.Detail)
	}
	if end.After(r.lastDone) {
		r.lastDone = end
	}
}

// snapshot is the progress of a point so far.
type snapshot struct {
	done   int           // counted operations that ended
	errors int           // of which errors
	p50    time.Duration // of the final ones
	rate   float64       // throughput so far
}

func (r *recorder) snapshot(now time.Time) snapshot {
	r.mu.Lock()
	samples := slices.Clone(r.samples)
	var s snapshot
	for o, n := range r.counts {
		s.done += n
		if Outcome(o).failed() {
			s.errors += n
		}
	}
	s.rate = r.throughput(now)
	r.mu.Unlock()
	slices.Sort(samples)
	s.p50 = Percentile(samples, 50)
	return s
}

// throughput returns the operations reaching a final status per second,
// as of now. In a closed loop every client is always busy, so it is the
// number of clients over the mean time of an operation (Little's law),
// counting only final ones: clients × final / summed durations. That holds
// however the operations' ends fall against the window's edges, which
// matters when an operation takes about as long as the window. In an open
// loop it is the final operations that ended in the window over its
// length; so is a closed loop's whose orders were refused (its clients
// then spend part of their time waiting out a Retry-After rather than in
// orders, which Little's law above assumes; admitted orders being short,
// the window counts them well). The caller holds r.mu.
func (r *recorder) throughput(now time.Time) float64 {
	if !r.windowSet {
		return 0
	}
	if r.clients > 0 && r.counts[Refused] == 0 {
		if r.busy <= 0 {
			return 0
		}
		final := r.counts[Succeeded] + r.counts[BusinessFailed]
		return float64(r.clients) * float64(final) / r.busy.Seconds()
	}
	if now.After(r.windowEnd) {
		now = r.windowEnd
	}
	if elapsed := now.Sub(r.windowStart); elapsed > 0 {
		return float64(r.finishedIn) / elapsed.Seconds()
	}
	return 0
}

// point returns the measured point: its throughput (see throughput), and
// the figures of the operations that started (were scheduled) in the
// window, including those that ended during the drain.
func (r *recorder) point() Point {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := Point{
		Final:        r.counts[Succeeded] + r.counts[BusinessFailed],
		Succeeded:    r.counts[Succeeded],
		BusinessFail: r.counts[BusinessFailed],
		Latency:      summarize(slices.Clone(r.samples)),
		ErrorSamples: slices.Clone(r.errSamples),
		MaxInFlight:  r.maxInFlight,
		Counters:     maps.Clone(r.counters),
	}
	p.Refused = r.counts[Refused]
	for o, n := range r.counts {
		if !Outcome(o).failed() || n == 0 {
			continue
		}
		p.Errors += n
		if p.ErrorKinds == nil {
			p.ErrorKinds = map[string]int{}
		}
		p.ErrorKinds[Outcome(o).String()] = n
	}
	if !r.windowSet {
		return p
	}
	p.WarmupSeconds = round3(r.windowStart.Sub(r.start).Seconds())
	p.WindowSeconds = round3(r.windowEnd.Sub(r.windowStart).Seconds())
	if r.lastDone.After(r.windowEnd) {
		p.DrainSeconds = round3(r.lastDone.Sub(r.windowEnd).Seconds())
	}
	p.Throughput = math.Round(r.throughput(r.windowEnd)*100) / 100
	if p.Final > 0 {
		p.BusinessFailShare = round4(float64(p.BusinessFail) / float64(p.Final))
	}
	if sent := p.Final + p.Errors + p.Refused; sent > 0 {
		p.RefusedShare = round4(float64(p.Refused) / float64(sent))
	}
	if r.clients == 0 {
		r.openFigures(&p)
	}
	return p
}

// openFigures sets the figures of an open-loop point that count over the
// whole time of its orders, the window and the drain after it (Point's
// OfferedRate, CompletionRate and Goodput). The caller holds r.mu and has
// set p's counts, window and drain.
func (r *recorder) openFigures(p *Point) {
	if p.WindowSeconds <= 0 {
		return
	}
	hundredths := func(x float64) float64 { return math.Round(x*100) / 100 }
	p.OfferedRate = hundredths(float64(p.Final+p.Errors+p.Refused) / p.WindowSeconds)
	whole := p.WindowSeconds + p.DrainSeconds
	p.CompletionRate = hundredths(float64(p.Final) / whole)
	if r.slo > 0 {
		good := 0
		for _, d := range r.samples {
			if d <= r.slo {
				good++
			}
		}
		p.WithinSLO = good
		p.Goodput = hundredths(float64(good) / whole)
	}
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
