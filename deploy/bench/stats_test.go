package bench

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile_KnownSamples_NearestRank(t *testing.T) {
	var samples []time.Duration
	for i := 1; i <= 100; i++ {
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{
		{50, 50 * time.Millisecond},
		{95, 95 * time.Millisecond},
		{99, 99 * time.Millisecond},
		{99.5, 100 * time.Millisecond},
		{100, 100 * time.Millisecond},
		{0.1, 1 * time.Millisecond},
	} {
		if got := Percentile(samples, tc.p); got != tc.want {
			t.Errorf("Percentile(1..100 ms, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	ten := samples[:10]
	if got := Percentile(ten, 99); got != 10*time.Millisecond {
		t.Errorf("p99 of 10 samples = %v, want the largest, 10ms", got)
	}
	if got := Percentile(ten, 50); got != 5*time.Millisecond {
		t.Errorf("p50 of 1..10 ms = %v, want 5ms", got)
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("p50 of no samples = %v, want 0", got)
	}
}

func TestSummarize_UnsortedSamples_ReportsMillisecondsAndMean(t *testing.T) {
	samples := []time.Duration{40 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond, 20 * time.Millisecond}
	got := summarize(samples)
	want := Latency{P50: 20, P95: 40, P99: 40, Max: 40, Mean: 25}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
}

func TestRecorder_WarmupAndErrors_CountedApart(t *testing.T) {
	t0 := time.Now()
	rec := newRecorder(t0, time.Second, time.Second, 0)
	add := func(start, end time.Duration, res Result) {
		rec.begin()
		rec.add(t0.Add(start), t0.Add(end), res)
	}
	add(0, 100*time.Millisecond, Result{Outcome: Succeeded})                           // warm-up
	add(1100*time.Millisecond, 1150*time.Millisecond, Result{Outcome: Succeeded})      // 50 ms
	add(1200*time.Millisecond, 1230*time.Millisecond, Result{Outcome: BusinessFailed}) // 30 ms
	add(1300*time.Millisecond, 1310*time.Millisecond, Result{Outcome: ErrServer, Detail: "HTTP 503"})
	add(1900*time.Millisecond, 2500*time.Millisecond, Result{Outcome: Succeeded}) // 600 ms, ends after the window
	add(2000*time.Millisecond, 2100*time.Millisecond, Result{Outcome: Succeeded}) // after the window
	p := rec.point()
	if p.Final != 3 || p.Succeeded != 2 || p.BusinessFail != 1 || p.Errors != 1 {
		t.Fatalf("counts: final %d succeeded %d business %d errors %d, want 3 2 1 1", p.Final, p.Succeeded, p.BusinessFail, p.Errors)
	}
	if p.ErrorKinds["http_5xx"] != 1 || len(p.ErrorSamples) != 1 || p.ErrorSamples[0] != "HTTP 503" {
		t.Errorf("errors: kinds %v samples %q", p.ErrorKinds, p.ErrorSamples)
	}
	if p.Latency.P50 != 50 || p.Latency.Max != 600 {
		t.Errorf("latency %+v, want p50 50 and max 600", p.Latency)
	}
	// Throughput counts what finished in the window, whenever it started:
	// the warm-up's order ended before it, the 600 ms one after it, so 2 in
	// the 1 s window (the erroneous one does not count).
	if p.WindowSeconds != 1 || p.Throughput != 2 || p.DrainSeconds != 0.5 {
		t.Errorf("window %v s, throughput %v/s, drain %v s, want 1 s, 2/s and 0.5 s", p.WindowSeconds, p.Throughput, p.DrainSeconds)
	}
	if want := 0.3333; p.BusinessFailShare != want {
		t.Errorf("business share %v, want %v", p.BusinessFailShare, want)
	}
}

func TestRunOpen_SlowOperations_LatencyCountsFromScheduledTime(t *testing.T) {
	// 10 arrivals 5 ms apart, one at a time, each taking 20 ms: the k-th
	// can start only at k*20 ms, so its latency from its scheduled time
	// (k*5 ms) is at least 20 + k*15 ms, although each call takes 20 ms.
	const (
		rate    = 200.0
		service = 20 * time.Millisecond
		n       = 10
	)
	rec := newRecorder(time.Now().Add(10*time.Millisecond), 0, n*time.Second/rate, 0)
	var seq atomic.Uint64
	var calls atomic.Int32
	runOpen(context.Background(), rec, rate, 1, func(ctx context.Context, _ uint64) Result {
		calls.Add(1)
		time.Sleep(service) // the operation's own duration
		return Result{Outcome: Succeeded}
	}, &seq)
	if calls.Load() != n {
		t.Fatalf("%d operations ran, want %d", calls.Load(), n)
	}
	rec.mu.Lock()
	samples := append([]time.Duration(nil), rec.samples...)
	rec.mu.Unlock()
	if len(samples) != n {
		t.Fatalf("%d samples, want %d", len(samples), n)
	}
	for k, got := range samples { // one at a time: in arrival order
		if want := service + time.Duration(k)*(service-time.Second/rate); got < want {
			t.Errorf("arrival %d: latency %v, want at least %v (queueing behind the earlier ones counts)", k, got, want)
		}
	}
	if p := rec.point(); p.MaxInFlight != 1 {
		t.Errorf("max in flight %d, want the limit 1", p.MaxInFlight)
	}
}

func TestRunClosed_Clients_RunConcurrentlyUntilWindowEnds(t *testing.T) {
	rec := newClosedRecorder(time.Now(), 50*time.Millisecond, 150*time.Millisecond, 4, time.Second)
	var seq atomic.Uint64
	var inFlight, most atomic.Int32
	var lastStart atomic.Int64
	runClosed(context.Background(), rec, 4, func(ctx context.Context, _ uint64) Result {
		lastStart.Store(time.Now().UnixNano())
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(5 * time.Millisecond)
		inFlight.Add(-1)
		return Result{Outcome: Succeeded}
	}, &seq)
	if most.Load() != 4 {
		t.Errorf("at most %d operations in flight, want 4", most.Load())
	}
	_, windowEnd, _ := rec.window()
	if started := time.Unix(0, lastStart.Load()); !started.Before(windowEnd) {
		t.Errorf("an operation started at %v, after the window ended at %v", started, windowEnd)
	}
	p := rec.point()
	if p.Final == 0 || p.Final+rec.warmupDone != int(seq.Load()) {
		t.Errorf("final %d + warm-up %d, want all %d operations", p.Final, rec.warmupDone, seq.Load())
	}
	if rec.warmupDone == 0 {
		t.Error("no operation counted as warm-up")
	}
}

func TestRecorder_SlowFirstOperations_WindowOpensWhenEveryClientFinishedOne(t *testing.T) {
	t0 := time.Now()
	rec := newRecorder(t0, 100*time.Millisecond, time.Second, 3)
	add := func(start, end time.Duration) {
		rec.begin()
		rec.add(t0.Add(start), t0.Add(end), Result{Outcome: Succeeded})
	}
	add(0, 50*time.Millisecond)
	add(0, 300*time.Millisecond)
	if _, _, ok := rec.window(); ok {
		t.Fatal("the window opened before the third client finished")
	}
	add(0, 500*time.Millisecond)
	ws, we, ok := rec.window()
	if !ok || !ws.Equal(t0.Add(500*time.Millisecond)) || !we.Equal(t0.Add(1500*time.Millisecond)) {
		t.Fatalf("window %v to %v (%v), want 500 ms to 1.5 s after the start", ws.Sub(t0), we.Sub(t0), ok)
	}
	add(400*time.Millisecond, 600*time.Millisecond) // started in the warm-up
	add(550*time.Millisecond, 650*time.Millisecond) // counted
	p := rec.point()
	if p.Final != 1 || p.Latency.Max != 100 || p.WarmupSeconds != 0.5 {
		t.Errorf("final %d, max %v ms, warm-up %v s; want 1, 100 ms, 0.5 s", p.Final, p.Latency.Max, p.WarmupSeconds)
	}
	if !rec.accepts(t0.Add(1499*time.Millisecond)) || rec.accepts(t0.Add(1500*time.Millisecond)) {
		t.Error("operations are accepted past the window's end, or refused before it")
	}
}

func TestRunClosed_OperationsLongerThanWarmup_StillMeasured(t *testing.T) {
	// Each operation takes 150 ms, far over the 10 ms warm-up and longer
	// than the 100 ms window: the warm-up lasts until every client finished
	// one, the window until every client started one in it, and the
	// throughput follows from the clients and the operations' duration.
	rec := newClosedRecorder(time.Now(), 10*time.Millisecond, 100*time.Millisecond, 3, time.Second)
	var seq atomic.Uint64
	runClosed(context.Background(), rec, 3, func(ctx context.Context, _ uint64) Result {
		time.Sleep(150 * time.Millisecond) // the operation's own duration
		return Result{Outcome: Succeeded}
	}, &seq)
	p := rec.point()
	if p.WarmupSeconds < 0.15 {
		t.Errorf("warm-up %v s, want at least the first operations' 0.15 s", p.WarmupSeconds)
	}
	if p.Final < 3 || p.Throughput < 10 || p.Throughput > 20.01 {
		t.Errorf("final %d, %v/s: want every client's operation measured, at most 20/s (3 clients, 150 ms each)", p.Final, p.Throughput)
	}
}

func TestSustained_ShortWindow_AllowsOneOrderAtTheEdges(t *testing.T) {
	for _, tc := range []struct {
		throughput, window, rate float64
		want                     bool
	}{
		{100, 5, 100, true},
		{90, 5, 100, true},      // exactly the share
		{85, 5, 100, false},     // 425 of 500 orders
		{16.67, 0.3, 20, true},  // 5 of 6 orders: one short at the edge
		{13.33, 0.3, 20, false}, // 4 of 6
	} {
		p := Point{Throughput: tc.throughput, WindowSeconds: tc.window}
		if got := sustained(p, tc.rate); got != tc.want {
			t.Errorf("sustained(%v/s over %v s, rate %v) = %v, want %v", tc.throughput, tc.window, tc.rate, got, tc.want)
		}
	}
}

func TestRecorder_ClosedLoop_WindowLastsUntilEveryClientStartedInIt(t *testing.T) {
	t0 := time.Now()
	rec := newClosedRecorder(t0, 0, 100*time.Millisecond, 2, time.Second)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for c := range 2 { // each client finishes an order: the window opens at 20 ms
		if !rec.admit(c, at(0)) {
			t.Fatal("refused during the warm-up")
		}
		rec.begin()
		rec.add(at(0), at(time.Duration(c+1)*10*time.Millisecond), Result{Outcome: Succeeded})
	}
	if !rec.admit(0, at(30*time.Millisecond)) {
		t.Fatal("client 0 refused inside the window")
	}
	// Client 1 was busy past the window's end (120 ms): it may still start
	// one, which stretches the window; then nobody may.
	if !rec.admit(1, at(300*time.Millisecond)) {
		t.Fatal("client 1 refused although it has not started an order in the window")
	}
	if _, end, _ := rec.window(); !end.After(at(300 * time.Millisecond)) {
		t.Errorf("the window ends %v after the start, want after 300 ms", end.Sub(t0))
	}
	if rec.admit(0, at(310*time.Millisecond)) || rec.admit(1, at(310*time.Millisecond)) {
		t.Error("an order was admitted after every client had one in the stretched window")
	}

	// The stretch is bounded: a client that never comes back does not hold
	// the window open for ever.
	late := newClosedRecorder(t0, 0, 100*time.Millisecond, 2, 200*time.Millisecond)
	late.begin()
	late.add(at(0), at(0), Result{Outcome: Succeeded})
	late.begin()
	late.add(at(0), at(0), Result{Outcome: Succeeded})
	if late.admit(1, at(301*time.Millisecond)) {
		t.Error("admitted past the window's end plus the most it may stretch")
	}
}
