package bench

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Outcome is how one operation ended.
type Outcome int

// The outcomes. An order that reached a final status is either Succeeded
// (completed) or BusinessFailed (failed or cancelled by the business
// rules); every other end is an error.
const (
	Succeeded       Outcome = iota // final, completed (for a ceiling: done)
	BusinessFailed                 // final, but failed or cancelled by a business rule
	ErrTransport                   // no answer: connection refused, reset, …
	ErrServer                      // 5xx answer
	ErrClient                      // unexpected 4xx answer
	ErrTimeout                     // not final before the operation's deadline
	ErrOther                       // anything else (e.g. a body that does not parse)
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
	}
	return "unknown"
}

// final reports whether the operation ended in a final status (its
// latency counts).
func (o Outcome) final() bool { return o == Succeeded || o == BusinessFailed }

// Result is the end of one operation: its outcome and, for an error, what
// went wrong.
type Result struct {
	Outcome Outcome
	Detail  string
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

// recorder collects the results of one point. Only operations that
// started (or, in an open loop, were scheduled) inside the measured window
// count; the others are warm-up.
type recorder struct {
	mu          sync.Mutex
	windowStart time.Time
	windowEnd   time.Time
	samples     []time.Duration // latencies of final operations
	counts      [numOutcomes]int
	lastDone    time.Time // latest end of a counted operation
	errSamples  []string
	warmupDone  int
	inFlight    int
	maxInFlight int
}

func newRecorder(windowStart, windowEnd time.Time) *recorder {
	return &recorder{windowStart: windowStart, windowEnd: windowEnd}
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
	if start.Before(r.windowStart) || !start.Before(r.windowEnd) {
		r.warmupDone++
		return
	}
	r.counts[res.Outcome]++
	if res.Outcome.final() {
		r.samples = append(r.samples, end.Sub(start))
	} else if res.Detail != "" && len(r.errSamples) < maxErrorSamples && !slices.Contains(r.errSamples, res.Detail) {
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
	rate   float64       // final operations per second of window so far
}

func (r *recorder) snapshot(now time.Time) snapshot {
	r.mu.Lock()
	samples := slices.Clone(r.samples)
	var s snapshot
	for o, n := range r.counts {
		s.done += n
		if !Outcome(o).final() {
			s.errors += n
		}
	}
	r.mu.Unlock()
	slices.Sort(samples)
	s.p50 = Percentile(samples, 50)
	if elapsed := now.Sub(r.windowStart); elapsed > 0 {
		s.rate = float64(len(samples)) / elapsed.Seconds()
	}
	return s
}

// point returns the measured point. Its throughput counts the final
// operations over the window, stretched to the last one's end when
// operations in flight at the window's end finished after it.
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
	}
	for o, n := range r.counts {
		if Outcome(o).final() || n == 0 {
			continue
		}
		p.Errors += n
		if p.ErrorKinds == nil {
			p.ErrorKinds = map[string]int{}
		}
		p.ErrorKinds[Outcome(o).String()] = n
	}
	span := r.windowEnd.Sub(r.windowStart)
	if r.lastDone.After(r.windowEnd) {
		span = r.lastDone.Sub(r.windowStart)
	}
	p.SpanSeconds = math.Round(span.Seconds()*1000) / 1000
	if span > 0 {
		p.Throughput = math.Round(float64(p.Final)/span.Seconds()*100) / 100
	}
	if p.Final > 0 {
		p.BusinessFailShare = math.Round(float64(p.BusinessFail)/float64(p.Final)*10000) / 10000
	}
	return p
}
