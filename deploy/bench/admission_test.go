package bench

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

// An open-loop point's figures count over the window and the drain:
// offered orders per second of the window; completions and goodput (final
// within the objective) per second of window plus drain; refusals apart,
// neither errors nor latencies.
func TestRecorder_OpenLoop_GoodputRefusalsAndDrain(t *testing.T) {
	t0 := time.Now()
	rec := newRecorder(t0, 0, 5*time.Second, 0)
	rec.slo = 2 * time.Second
	add := func(start, latency time.Duration, res Result) {
		rec.begin()
		rec.add(t0.Add(start), t0.Add(start+latency), res)
	}
	s := time.Second
	for i := range 8 { // within the objective
		add(time.Duration(i)*s/2, s, Result{Outcome: Succeeded})
	}
	add(s, s/2, Result{Outcome: BusinessFailed}) // final, within
	add(2*s, s/2, Result{Outcome: BusinessFailed})
	for _, at := range []time.Duration{5 * s / 2, 3 * s, 7 * s / 2} { // final, late
		add(at, 3*s, Result{Outcome: Succeeded})
	}
	add(4*s, 7*s/2, Result{Outcome: Succeeded}) // ends 2.5 s after the window: the drain
	for range 5 {
		add(9*s/2, 10*time.Millisecond, Result{Outcome: Refused, RetryAfter: s, Detail: "POST /v1/orders: HTTP 503"})
	}
	add(46*s/10, s/10, Result{Outcome: ErrServer, Detail: "HTTP 500"})
	add(6*s, s/10, Result{Outcome: Succeeded}) // scheduled after the window: not counted

	p := rec.point()
	if p.Final != 14 || p.Refused != 5 || p.Errors != 1 || p.WithinSLO != 10 {
		t.Fatalf("final %d refused %d errors %d within the objective %d, want 14, 5, 1 and 10", p.Final, p.Refused, p.Errors, p.WithinSLO)
	}
	if p.WindowSeconds != 5 || p.DrainSeconds != 2.5 {
		t.Fatalf("window %v s, drain %v s, want 5 and 2.5", p.WindowSeconds, p.DrainSeconds)
	}
	for name, c := range map[string]struct{ got, want float64 }{
		"offered/s (20 sent in 5 s)":           {p.OfferedRate, 4},
		"completed/s (14 final in 7.5 s)":      {p.CompletionRate, 1.87},
		"goodput/s (10 within 2 s in 7.5 s)":   {p.Goodput, 1.33},
		"refused share (5 of 20)":              {p.RefusedShare, 0.25},
		"throughput (10 final ended in 5 s)":   {p.Throughput, 2},
		"p50 ms of the admitted orders":        {p.Latency.P50, 1000},
		"p99 ms of the admitted orders":        {p.Latency.P99, 3500},
		"business-failed share (2 of 14)":      {p.BusinessFailShare, 0.1429},
		"errors of a kind other than refusals": {float64(p.ErrorKinds["http_5xx"]), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", name, c.got, c.want)
		}
	}
	if len(p.ErrorSamples) != 1 || p.ErrorSamples[0] != "HTTP 500" {
		t.Errorf("error samples %q, want the error's only (a refusal is no error)", p.ErrorSamples)
	}
	if _, ok := p.ErrorKinds["refused"]; ok {
		t.Errorf("refusals counted among the errors: %v", p.ErrorKinds)
	}
}

// The example: 500 orders offered over 5 s and finished, at an
// even pace, 12.7 s after the window opened read 39.4 orders/s completed
// over the whole time, where the window alone saw 196 of them end.
func TestRecorder_OpenLoop_BacklogDrained_CompletionRateOverTheWholeTime(t *testing.T) {
	t0 := time.Now()
	rec := newRecorder(t0, 0, 5*time.Second, 0)
	rec.slo = 2 * time.Second
	const n = 500
	whole := 12700 * time.Millisecond
	for k := range n {
		rec.begin()
		rec.add(t0.Add(time.Duration(k)*10*time.Millisecond), t0.Add(time.Duration(k+1)*whole/n), Result{Outcome: Succeeded})
	}
	p := rec.point()
	if p.Final != n || p.OfferedRate != 100 || p.DrainSeconds != 7.7 {
		t.Fatalf("final %d offered %v/s drain %v s, want 500, 100/s and 7.7 s", p.Final, p.OfferedRate, p.DrainSeconds)
	}
	if p.CompletionRate != 39.37 {
		t.Errorf("completed/s = %v, want 500 / 12.7 s = 39.37", p.CompletionRate)
	}
	if p.Throughput != 39.2 {
		t.Errorf("throughput in the window = %v, want 196 / 5 s = 39.2", p.Throughput)
	}
	// Order k waits (k+1)·25.4 ms − k·10 ms: within 2 s up to k = 128.
	if p.WithinSLO != 129 || p.Goodput != 10.16 {
		t.Errorf("within the objective %d, goodput %v/s, want 129 and 129 / 12.7 s = 10.16", p.WithinSLO, p.Goodput)
	}
}

// A refused arrival of an open loop is counted once, never tried again,
// and is no error.
func TestRunOpen_Refusals_CountedNotRetried(t *testing.T) {
	const (
		rate = 200.0
		n    = 20
	)
	rec := newRecorder(time.Now(), 0, n*time.Second/rate, 0)
	rec.slo = time.Second
	var seq atomic.Uint64
	var calls atomic.Int32
	runOpen(context.Background(), rec, rate, 8, func(_ context.Context, s uint64) Result {
		calls.Add(1)
		if s%2 == 0 {
			return Result{Outcome: Refused, RetryAfter: time.Second}
		}
		return Result{Outcome: Succeeded}
	}, &seq)
	p := rec.point()
	if int(calls.Load()) != n || p.Refused != n/2 || p.Final != n/2 || p.Errors != 0 {
		t.Fatalf("%d calls, %d refused, %d final, %d errors; want %d calls, half refused, no error", calls.Load(), p.Refused, p.Final, p.Errors, n)
	}
	if p.RefusedShare != 0.5 || p.WithinSLO != n/2 {
		t.Errorf("refused share %v, within the objective %d; want 0.5 and %d", p.RefusedShare, p.WithinSLO, n/2)
	}
}

// A closed-loop client that is refused waits the Retry-After delay before
// its next order, and the throughput counts orders over the window: one
// client alternating a 40 ms order and a refusal asking for 40 ms
// finishes about one order per 80 ms, not one per 40 ms as the closed
// loop's Little's law (clients over the mean order) would say.
func TestRunClosed_Refused_WaitsRetryAfter_CountedInThroughput(t *testing.T) {
	const step = 40 * time.Millisecond
	rec := newClosedRecorder(time.Now(), 0, 800*time.Millisecond, 1, time.Second)
	var seq atomic.Uint64
	var last atomic.Int64
	var gaps []time.Duration
	runClosed(context.Background(), rec, 1, func(_ context.Context, s uint64) Result {
		now := time.Now().UnixNano()
		if prev := last.Swap(now); prev != 0 && s%2 == 1 {
			gaps = append(gaps, time.Duration(now-prev)) // from the refusal to the next order
		}
		if s%2 == 0 {
			return Result{Outcome: Refused, RetryAfter: step}
		}
		time.Sleep(step)
		return Result{Outcome: Succeeded}
	}, &seq)
	if len(gaps) < 2 {
		t.Fatalf("%d refusals followed by an order, want several", len(gaps))
	}
	for _, g := range gaps[:len(gaps)-1] { // the last wait may be cut by the window's end
		if g < step {
			t.Fatalf("a refused client placed its next order %v after the refusal, want at least its Retry-After %v", g, step)
		}
	}
	p := rec.point()
	if p.Refused == 0 || p.Final == 0 || p.Errors != 0 {
		t.Fatalf("refused %d, final %d, errors %d; want both kinds and no error", p.Refused, p.Final, p.Errors)
	}
	if most := float64(time.Second) / float64(2*step) * 1.15; p.Throughput > most {
		t.Errorf("throughput %v/s, want at most %.1f/s: the refused client's wait counts", p.Throughput, most)
	}
	if least := float64(time.Second) / float64(2*step) * 0.6; p.Throughput < least {
		t.Errorf("throughput %v/s, want at least %.1f/s", p.Throughput, least)
	}
}

// A POST answered 503 with a Retry-After delay (seconds or a date) is a
// refusal; any other answer, or a GET, is not.
func TestRefusal_PostWith503AndRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, tc := range []struct {
		method, retryAfter string
		status             int
		want               time.Duration
		refused            bool
	}{
		{http.MethodPost, "3", http.StatusServiceUnavailable, 3 * time.Second, true},
		{http.MethodPost, now.Add(5 * time.Second).Format(http.TimeFormat), http.StatusServiceUnavailable, 5 * time.Second, true},
		{http.MethodPost, now.Add(-time.Minute).Format(http.TimeFormat), http.StatusServiceUnavailable, 0, true},
		{http.MethodPost, "", http.StatusServiceUnavailable, 0, false},
		{http.MethodPost, "soon", http.StatusServiceUnavailable, 0, false},
		{http.MethodPost, "1", http.StatusTooManyRequests, 0, false},
		{http.MethodPost, "1", http.StatusInternalServerError, 0, false},
		{http.MethodGet, "1", http.StatusServiceUnavailable, 0, false},
	} {
		req := httptest.NewRequest(tc.method, "/v1/orders", nil)
		resp := &http.Response{StatusCode: tc.status, Header: http.Header{}}
		if tc.retryAfter != "" {
			resp.Header.Set("Retry-After", tc.retryAfter)
		}
		d, refused := refusal(req, resp, now)
		if refused != tc.refused || d != tc.want {
			t.Errorf("%s %d Retry-After %q: refusal %v after %v, want %v after %v", tc.method, tc.status, tc.retryAfter, refused, d, tc.refused, tc.want)
		}
	}
}

// The open-loop table shows, per point, the offered rate, goodput,
// completions, refusals and their share, and admitted orders' latencies;
// a closed-loop point with refusals is named below the tables.
func TestWriteTable_OpenLoop_GoodputAndRefusals(t *testing.T) {
	rep := sampleReport()
	rep.Settings.SLOSeconds = 2
	p := &rep.Variants[1].Open[1]
	p.OfferedRate, p.Goodput, p.CompletionRate, p.Refused, p.RefusedShare, p.DrainSeconds = 50.2, 43.7, 44.1, 31, 0.1234, 0.8
	rep.Variants[0].Closed[2].Refused, rep.Variants[0].Closed[2].RefusedShare = 77, 0.4
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	var row string
	for l := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "50 ") && strings.Contains(l, "choreographed") {
			row = l
		}
	}
	if got := strings.Fields(row); len(got) != 12 || strings.Join(got[2:10], " ") != "50.2 43.7 44.1 31 12.3% 12.0 22.0 0" || got[10] != "0.8" {
		t.Errorf("the choreographed 50/s row is %q, want offered, goodput, completed, refused, share, p50, p99, errors, drain, max in flight", row)
	}
	for _, want := range []string{"goodput/s", "completed/s", "refused %", "within 2s", "Refused (orchestrated, c=32): 77 orders (40.0%)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// Through a real API with admission control (at most 4 orders in flight,
// each taking 100 ms: 40 orders/s): below capacity nothing is refused;
// offered five times it, the API refuses most orders and admitted ones
// keep their latency, goodput stays near capacity, and the higher rate
// is still run (a target that refuses keeps no backlog); a closed loop
// past the bound is refused too, without errors.
func TestRun_AdmissionControl_RefusalsGoodputAndEveryRate(t *testing.T) {
	const (
		bound = 4
		delay = 100 * time.Millisecond
	)
	n, err := hosted.Open(context.Background(), hosted.Config{Databases: hosted.SQLiteDatabases(t.TempDir()), Migrate: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	flow := &fakeFlow{store: n.Orders, delay: delay}
	srv := httptest.NewServer(httpapi.New(httpapi.Deps{
		Variant: "bounded", Catalog: n.Inventory, Accounts: n.Payment, Orders: n.Orders, Intake: flow,
		Limits: httpapi.Limits{MaxInFlight: bound},
	}))
	t.Cleanup(func() {
		srv.Close()
		flow.wg.Wait()
		if err := n.Close(); err != nil {
			t.Errorf("closing the node: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rep, err := Run(ctx, Options{
		Targets:       []Target{{Name: "bounded", BaseURL: srv.URL}},
		Concurrencies: []int{2 * bound},
		Rates:         []float64{10, 200, 400},
		Duration:      time.Second,
		Warmup:        200 * time.Millisecond,
		Wait:          5 * time.Second,
		OrderTimeout:  10 * time.Second,
		ProbeTimeout:  10 * time.Second,
		Products:      5,
		Customers:     5,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("the run:\n%s", table.String())
	v := rep.Variants[0]
	if c := v.Closed[0]; c.Refused == 0 || c.Errors != 0 || c.Final == 0 {
		t.Errorf("closed loop of %d clients: refused %d, errors %d, final %d; want refusals, no error, orders finished", 2*bound, c.Refused, c.Errors, c.Final)
	}
	if len(v.Open) != 3 {
		t.Fatalf("open points %+v, want 3", v.Open)
	}
	low, high, higher := v.Open[0], v.Open[1], v.Open[2]
	if low.Refused != 0 || low.Errors != 0 || low.Goodput < 7 || low.WithinSLO != low.Final {
		t.Errorf("10/s, below capacity: %+v; want nothing refused and every order within the objective", low)
	}
	for _, p := range []Point{high, higher} {
		if p.Skipped != "" {
			t.Errorf("%s skipped (%s): a target that refuses keeps no backlog", pointName(p), p.Skipped)
			continue
		}
		if p.Errors != 0 || p.RefusedShare < 0.5 || p.OfferedRate < 0.8*p.Rate {
			t.Errorf("%s: errors %d, refused share %v, offered %v/s; want most orders refused, none failing, the rate offered",
				pointName(p), p.Errors, p.RefusedShare, p.OfferedRate)
		}
		capacity := float64(bound) / delay.Seconds()
		if p.Goodput < 0.5*capacity || p.Goodput > 1.2*capacity || p.Latency.P99 > 2000 || p.MaxInFlight == 0 {
			t.Errorf("%s: goodput %v/s, p99 %v ms; want near the capacity of %v/s with admitted orders within 2 s",
				pointName(p), p.Goodput, p.Latency.P99, capacity)
		}
	}
}
