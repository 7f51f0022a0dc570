package scenario

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// Load of CheckWaitBound.
const (
	// waitBoundWaitersPerPlace is how many POST /v1/orders?wait= requests
	// CheckWaitBound sends at once per waiting place of the bound.
	waitBoundWaitersPerPlace = 4
	// waitBoundOrdinary is how many orders without wait it places
	// meanwhile.
	waitBoundOrdinary = 4
	// waitBoundLatency is the latency it gives every service, so the
	// first waiters still wait when the others arrive.
	waitBoundLatency = 150 * time.Millisecond
)

// posted is one POST /v1/orders of CheckWaitBound and its answer.
type posted struct {
	name   string
	req    OrderRequest
	sent   time.Time
	answer response
	err    error
}

// CheckWaitBound checks the bound on waiting POST /v1/orders?wait=
// requests of a stack that serves at most maxWaiting of them at once and
// runs with fault injection. With every service answering slowly (a
// latency of 150 ms), it sends 4 × maxWaiting such requests at once and 4
// orders without wait beside them, then:
//
//   - every waiter gets 201 with its completed order, or 503
//     problem+json (type unavailable) with a Retry-After delay, and its
//     order was never placed (GET answers 404 to its customer);
//   - at least maxWaiting waiters are served and at least one is
//     refused;
//   - the orders without wait are accepted (202) and complete;
//   - once they are all answered, a new waiter is served again (201);
//   - stock and credit changed by the served and accepted orders only,
//     and the invariants hold.
//
// It turns the latency off again when it ends, and returns the Result.
func CheckWaitBound(tb testing.TB, tg Target, maxWaiting int) Result {
	tb.Helper()
	if maxWaiting < 1 {
		tb.Fatalf("CheckWaitBound: a bound of %d waiting requests, want at least 1", maxWaiting)
	}
	tg = tg.withDefaults()
	e := newEnv(tb, tg, "wait_bound")
	mug := e.Product("mug", 100, 1000)
	ada := e.Customer("ada", 1_000_000)
	e.SetFaults(everyService(Fault{LatencyMS: waitBoundLatency.Milliseconds()}))

	wait := waitQuery(tg)
	waiters := make([]posted, waitBoundWaitersPerPlace*maxWaiting)
	ordinary := make([]posted, waitBoundOrdinary)
	start := make(chan struct{})
	var wg sync.WaitGroup
	send := func(p *posted, name, query string) {
		p.name, p.req = name, e.Request(name, ada, "DE", Line{mug, 1})
		wg.Go(func() {
			<-start
			p.sent = time.Now()
			p.answer, p.err = e.Post(p.req, query)
		})
	}
	for i := range waiters {
		send(&waiters[i], fmt.Sprintf("w-%02d", i), wait)
	}
	for i := range ordinary {
		send(&ordinary[i], fmt.Sprintf("o-%d", i), "")
	}
	close(start)
	wg.Wait()

	var served, refused int
	for _, w := range waiters {
		switch {
		case w.err != nil:
			tb.Errorf("waiter %s: %v", w.name, w.err)
		case w.answer.Status == http.StatusCreated:
			served++
			e.Track(w.name, w.req.OrderID, w.sent)
			expectCompleted(tb, "waiter "+w.name, w.answer)
		case w.answer.Status == http.StatusServiceUnavailable:
			refused++
			expectRefused(tb, e, "waiter "+w.name+" past the bound", w)
		default:
			tb.Errorf("waiter %s: %v, want 201 or 503", w.name, w.answer)
		}
	}
	if served < maxWaiting || refused == 0 {
		tb.Fatalf("%d of %d waiters served, %d refused; want at least %d served and the rest past the bound refused",
			served, len(waiters), refused, maxWaiting)
	}
	for _, o := range ordinary {
		if o.err != nil || o.answer.Status != http.StatusAccepted {
			tb.Fatalf("order %s without wait, placed beside the waiters: %v %v, want 202", o.name, o.answer, o.err)
		}
		e.Track(o.name, o.req.OrderID, o.sent)
	}

	// The places are free again.
	after := e.Request("after", ada, "DE", Line{mug, 1})
	sent := time.Now()
	r, err := e.Post(after, wait)
	if err != nil || r.Status != http.StatusCreated {
		tb.Fatalf("a waiter after the others were answered: %v %v, want 201", r, err)
	}
	e.Track("after", after.OrderID, sent)
	expectCompleted(tb, "the waiter after the others", r)

	res := e.Finish()
	for _, name := range res.OrderNames() {
		ExpectOrder(tb, res, name, WantCompleted())
	}
	n := int64(len(res.Orders))
	ExpectStock(tb, res, "mug", -n)
	ExpectCredit(tb, res, "ada", -100*n)
	CheckInvariants(tb, res)
	return res
}

// expectCompleted reports through tb unless r is a 201 answer with a
// completed order.
func expectCompleted(tb testing.TB, what string, r response) {
	tb.Helper()
	var o Order
	if err := r.decode(&o); err != nil {
		tb.Errorf("%s: %v", what, err)
		return
	}
	if o.Status != domain.StatusCompleted {
		tb.Errorf("%s: 201 with a %q order, want completed", what, o.Status)
	}
}

// expectRefused reports through tb unless p's answer is a 503 problem
// with a Retry-After delay (seconds or a date) and its order was never
// placed: its customer reads 404.
func expectRefused(tb testing.TB, e *Env, what string, p posted) {
	tb.Helper()
	expectProblem(tb, what, p.answer, http.StatusServiceUnavailable)
	ra := p.answer.Header.Get("Retry-After")
	if secs, err := strconv.Atoi(ra); err != nil || secs <= 0 {
		if _, err := http.ParseTime(ra); err != nil {
			tb.Errorf("%s: Retry-After %q, want a delay in seconds or a date", what, ra)
		}
	}
	tok, err := e.creds.customerToken(p.req.CustomerID)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := e.ctx()
	defer cancel()
	r, err := e.c.doIdempotent(ctx, request{method: http.MethodGet, path: "/v1/orders/" + url.PathEscape(p.req.OrderID), token: tok})
	if err != nil || r.Status != http.StatusNotFound {
		tb.Errorf("%s: its order %s answers %v %v, want 404 (never placed)", what, p.req.OrderID, r, err)
	}
}
