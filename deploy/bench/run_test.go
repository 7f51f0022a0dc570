package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/orders"
)

// fakeFlow stands in for a saga variant: it stores the order and, after
// delay, completes it, or fails it when it ships to a country the shipping
// service refuses. Catalog, customers and orders are the real services on
// SQLite.
type fakeFlow struct {
	store *orders.Store
	delay time.Duration
	// admit, when set, lets one order at a time in, each for 20 ms: the
	// flow then accepts at most 50 orders per second.
	admit chan struct{}
	wg    sync.WaitGroup
}

func (f *fakeFlow) Place(ctx context.Context, o *domain.Order) (*domain.Order, bool, error) {
	if f.admit != nil {
		select {
		case f.admit <- struct{}{}:
		case <-ctx.Done():
			return nil, false, errs.E(errs.Unavailable, "not admitted: %v", ctx.Err())
		}
		time.Sleep(20 * time.Millisecond) // the work of admitting an order
		<-f.admit
	}
	stored, created, err := f.store.Create(ctx, o)
	if err != nil || !created {
		return stored, created, err
	}
	id, country := stored.ID(), stored.Request().ShipTo.Country
	f.wg.Add(1)
	time.AfterFunc(f.delay, func() {
		defer f.wg.Done()
		_, _ = f.store.Update(context.Background(), id, func(o *domain.Order) error {
			if country == refusedCountry {
				return o.Fail(domain.ReasonShippingUnavailable, time.Now())
			}
			for _, step := range o.State().Steps {
				if err := o.MarkStep(step.Step, domain.StepDone, time.Now()); err != nil {
					return err
				}
			}
			if err := o.Contribute(domain.Contribution{TrackingNumber: "TRK-" + id}, time.Now()); err != nil {
				return err
			}
			return o.Complete(time.Now())
		})
	})
	return stored, true, nil
}

func (f *fakeFlow) Cancel(context.Context, string) (*domain.Order, error) {
	return nil, errs.E(errs.Conflict, "the fake flow does not cancel")
}

// credentialCheck wraps an API handler and fails tb, when the test ends,
// for every request that does not carry the credential the driver owes
// it: an operator token for the set-up (PUT), the token of the order's own
// customer for POST /v1/orders, a customer token for reading an order.
// Readiness needs none.
func credentialCheck(tb testing.TB, keys *auth.Keys, h http.Handler) http.Handler {
	var mu sync.Mutex
	var wrong []string
	tb.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if len(wrong) > 0 {
			tb.Errorf("%d requests without the credential owed, such as %s", len(wrong), wrong[0])
		}
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := keys.Verify(auth.BearerToken(r.Header.Get("Authorization")), time.Now())
		problem := ""
		switch {
		case r.URL.Path == "/readyz":
		case err != nil:
			problem = err.Error()
		case r.Method == http.MethodPut && !p.Operator():
			problem = "a set-up request not as the operator"
		case r.Method == http.MethodPost && r.URL.Path == "/v1/orders":
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var o struct {
				CustomerID string `json:"customer_id"`
			}
			if json.Unmarshal(body, &o) != nil || p != (auth.Principal{Role: auth.RoleCustomer, Subject: o.CustomerID}) {
				problem = fmt.Sprintf("an order of %q placed as %+v", o.CustomerID, p)
			}
		case r.Method == http.MethodGet && p.Role != auth.RoleCustomer:
			problem = "an order read not as its customer"
		}
		if problem != "" {
			mu.Lock()
			wrong = append(wrong, r.Method+" "+r.URL.Path+": "+problem)
			mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

// startFakeAPI serves shared/httpapi over hosted services on SQLite with a fake
// flow that finishes each order after delay, and returns its base URL. The
// API verifies tokens with authtest.Keys, and every request must carry the
// credential the driver owes it (credentialCheck). A limited flow admits
// at most 50 orders per second.
func startFakeAPI(tb testing.TB, name string, delay time.Duration, limited bool) string {
	tb.Helper()
	n, err := hosted.Open(context.Background(), hosted.Config{Databases: hosted.SQLiteDatabases(tb.TempDir()), Migrate: true}, nil)
	if err != nil {
		tb.Fatalf("opening the node: %v", err)
	}
	flow := &fakeFlow{store: n.Orders, delay: delay}
	if limited {
		flow.admit = make(chan struct{}, 1)
	}
	keys := authtest.Keys(tb)
	srv := httptest.NewServer(credentialCheck(tb, keys, httpapi.New(httpapi.Deps{
		Variant: name, Catalog: n.Inventory, Accounts: n.Payment, Orders: n.Orders, Intake: flow, Auth: keys,
	})))
	tb.Cleanup(func() {
		srv.Close()
		flow.wg.Wait()
		if err := n.Close(); err != nil {
			tb.Errorf("closing the node: %v", err)
		}
	})
	return srv.URL
}

func TestRun_TwoFakeVariants_ReportsEveryPointWithTableJSONAndSVG(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// "fast" answers 201 within the wait; "slow" finishes after it, so its
	// orders are answered 202 and polled, and it admits at most 50 orders
	// per second.
	fast := startFakeAPI(t, "fast", 2*time.Millisecond, false)
	slow := startFakeAPI(t, "slow", 60*time.Millisecond, true)
	var progress bytes.Buffer
	rep, err := Run(ctx, Options{
		Targets:       []Target{{Name: "fast", BaseURL: fast}, {Name: "slow", BaseURL: slow}},
		Concurrencies: []int{1, 4},
		Rates:         []float64{20, 150, 300},
		MaxInFlight:   32,
		Duration:      300 * time.Millisecond,
		Warmup:        100 * time.Millisecond,
		Wait:          30 * time.Millisecond,
		PollInterval:  10 * time.Millisecond,
		OrderTimeout:  10 * time.Second,
		ProbeTimeout:  10 * time.Second,
		Products:      5,
		Customers:     5,
		FailureShare:  0.25,
		Progress:      &progress,
		Keys:          authtest.Keys(t),
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	if len(rep.Variants) != 2 {
		t.Fatalf("%d variants, want 2", len(rep.Variants))
	}
	for _, v := range rep.Variants {
		if len(v.Closed) != 2 || v.Closed[0].Clients != 1 || v.Closed[1].Clients != 4 {
			t.Errorf("%s: closed points %+v, want clients 1 and 4", v.Name, v.Closed)
		}
		if len(v.Open) != 3 || v.Open[0].Rate != 20 || v.Open[2].Rate != 300 {
			t.Fatalf("%s: open points %+v, want rates 20, 150 and 300", v.Name, v.Open)
		}
		for i, p := range v.Open {
			if p.Skipped != "" && (i == 0 || v.Open[i-1].Skipped == "" && sustained(v.Open[i-1], v.Open[i-1].Rate)) {
				t.Errorf("%s: %s skipped, but the rate before it was sustained: %+v", v.Name, pointName(p), v.Open)
			}
		}
		for _, p := range append(append([]Point(nil), v.Closed...), v.Open[0]) {
			if p.Final == 0 || p.Throughput <= 0 {
				t.Errorf("%s %s: no order finished: %+v", v.Name, pointName(p), p)
			}
			if p.Errors != 0 {
				t.Errorf("%s %s: %d errors: %v", v.Name, pointName(p), p.Errors, p.ErrorSamples)
			}
			l := p.Latency
			if !(l.P50 > 0 && l.P50 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.Max) {
				t.Errorf("%s %s: latencies out of order: %+v", v.Name, pointName(p), l)
			}
		}
	}
	// The slow variant's orders take at least its delay.
	if p50 := rep.Variants[1].Closed[0].Latency.P50; p50 < 60 {
		t.Errorf("slow variant p50 %v ms, want at least its 60 ms", p50)
	}
	// The slow variant cannot sustain 150 orders/s: the point is measured,
	// with a throughput below the rate, and the higher rate is skipped.
	slowOpen := rep.Variants[1].Open
	if p := slowOpen[1]; p.Skipped != "" || sustained(p, 150) || p.MaxInFlight != 32 {
		t.Errorf("slow variant at 150/s: %+v, want measured below the rate, the in-flight limit reached", p)
	}
	if p := slowOpen[2]; p.Skipped == "" || !strings.Contains(p.Skipped, "150/s was not sustained") {
		t.Errorf("slow variant at 300/s: skipped %q, want skipped after 150/s", p.Skipped)
	}
	// A quarter of the orders ship where they are refused.
	var final, failed int
	for _, v := range rep.Variants {
		for _, p := range v.Closed {
			final += p.Final
			failed += p.BusinessFail
		}
	}
	if share := float64(failed) / float64(final); share < 0.1 || share > 0.4 {
		t.Errorf("business failures %d of %d (%.2f), want about 0.25", failed, final, share)
	}

	var table, js, svg bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fast", "slow", "Closed loop", "Open loop"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(&js)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Variants) != 2 || back.Variants[0].Closed[0].Final != rep.Variants[0].Closed[0].Final {
		t.Errorf("the JSON read back differs: %+v", back.Variants)
	}
	if err := rep.WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	series, _ := svgSeries(t, svg.Bytes())
	if series["fast"] == 0 || series["slow"] == 0 {
		t.Errorf("the chart lacks a variant's throughput: %v", series)
	}
	for _, want := range []string{"fast           closed c=1", "slow           open 20/s"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
}

func TestRun_TargetWithoutOrders_FailsBeforeMeasuring(t *testing.T) {
	// An API with no flow answers 503 to orders: the first order fails and
	// the run stops with the reason.
	n, err := hosted.Open(context.Background(), hosted.Config{Databases: hosted.SQLiteDatabases(t.TempDir()), Migrate: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	srv := httptest.NewServer(httpapi.New(httpapi.Deps{Variant: "none", Catalog: n.Inventory, Accounts: n.Payment}))
	t.Cleanup(srv.Close)
	_, err = Run(context.Background(), Options{
		Targets:      []Target{{Name: "none", BaseURL: srv.URL}},
		Duration:     100 * time.Millisecond,
		ProbeTimeout: 5 * time.Second,
		Products:     2,
		Customers:    2,
	})
	// Its 503 carries Retry-After: the order is refused, not placed.
	if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "HTTP 503") {
		t.Errorf("Run = %v, want the first order's refusal (503)", err)
	}
}

func TestRun_BadOptions_ListsEveryProblem(t *testing.T) {
	_, err := Run(context.Background(), Options{
		Targets:       []Target{{Name: "a", BaseURL: "http://x"}, {Name: "a", BaseURL: "http://y"}},
		Concurrencies: []int{0},
		Rates:         []float64{-1},
		FailureShare:  2,
	})
	if err == nil {
		t.Fatal("bad options accepted")
	}
	for _, want := range []string{"two targets", "concurrency 0", "rate -1", "failure share"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
