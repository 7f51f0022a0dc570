package scenario

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// Load of CheckAdmission.
const (
	// admissionBurstPerPlace is how many orders CheckAdmission posts at
	// once per place of the bound.
	admissionBurstPerPlace = 4
	// admissionLatency is the latency it gives every service, so that the
	// admitted orders are still in flight while it checks the bound.
	admissionLatency = 300 * time.Millisecond
	// admissionReopens bounds how long a new order may be refused once
	// every admitted order is final: the store's watcher reads every
	// 200 ms, and a commit in the API's own process tells at once.
	admissionReopens = 5 * time.Second
)

// The metrics of admission control, as GET /metrics shows them.
const (
	inFlightMetric = "ordersaga_orders_in_flight"
	refusedMetric  = "ordersaga_orders_refused_total"
)

// CheckAdmission checks the admission control of a stack whose API admits
// at most maxInFlight orders in flight (httpapi.Limits.MaxInFlight), runs
// with fault injection and has no other order in flight. With every
// service answering slowly (a latency of 300 ms), it posts 4 × maxInFlight
// new orders at once, without wait, then:
//
//   - exactly maxInFlight are accepted (202) and the others get 503
//     problem+json with a Retry-After delay, their orders never placed
//     (GET answers 404 to their customer);
//   - while the admitted orders are in flight: a new order is refused
//     too, a repeat of an admitted order's POST answers 200 with the
//     order, GET of an admitted order answers 200 and a cancel of one is
//     not refused (202, or 409 when it completed meanwhile); GET /metrics
//     shows ordersaga_orders_in_flight at maxInFlight;
//   - the admitted orders complete (the cancelled one ends cancelled or
//     completed), and then a new order is admitted again (202, within a
//     few seconds: the store's watcher tells of ends) and completes;
//   - ordersaga_orders_refused_total grew by the refusals seen, and
//     ordersaga_orders_in_flight falls back to 0;
//   - stock and credit changed by the completed orders only, and the
//     invariants hold.
//
// It turns the latency off again when it ends, and returns the Result.
func CheckAdmission(tb testing.TB, tg Target, maxInFlight int) Result {
	tb.Helper()
	if maxInFlight < 1 {
		tb.Fatalf("CheckAdmission: a bound of %d orders in flight, want at least 1", maxInFlight)
	}
	tg = tg.withDefaults()
	e := newEnv(tb, tg, "admission")
	mug := e.Product("mug", 100, 1000)
	ada := e.Customer("ada", 1_000_000)
	refusedBefore := e.metric(refusedMetric)
	e.SetFaults(everyService(Fault{LatencyMS: admissionLatency.Milliseconds()}))

	burst := make([]posted, admissionBurstPerPlace*maxInFlight)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range burst {
		p := &burst[i]
		p.name = fmt.Sprintf("b-%02d", i)
		p.req = e.Request(p.name, ada, "DE", Line{mug, 1})
		wg.Go(func() {
			<-start
			p.sent = time.Now()
			p.answer, p.err = e.Post(p.req, "")
		})
	}
	close(start)
	wg.Wait()

	var admitted []posted
	refused := 0
	for _, p := range burst {
		switch {
		case p.err != nil:
			tb.Errorf("order %s: %v", p.name, p.err)
		case p.answer.Status == http.StatusAccepted:
			admitted = append(admitted, p)
			e.Track(p.name, p.req.OrderID, p.sent)
		case p.answer.Status == http.StatusServiceUnavailable:
			refused++
			expectRefused(tb, e, "order "+p.name+" past the bound", p)
		default:
			tb.Errorf("order %s: %v, want 202 or 503", p.name, p.answer)
		}
	}
	if len(admitted) != maxInFlight || refused != len(burst)-maxInFlight {
		tb.Fatalf("%d of %d orders admitted and %d refused, want %d admitted and the rest refused",
			len(admitted), len(burst), refused, maxInFlight)
	}

	// At the bound, while the admitted orders are in flight.
	gauge := e.metric(inFlightMetric)
	late := posted{name: "late", req: e.Request("late", ada, "DE", Line{mug, 1}), sent: time.Now()}
	late.answer, late.err = e.Post(late.req, "")
	repeat, repeatErr := e.Post(admitted[0].req, "")
	cancelled := admitted[len(admitted)-1]
	cancelAnswer := e.cancelOnce(cancelled.req)
	stillInFlight := true
	for _, p := range admitted {
		stillInFlight = stillInFlight && !e.Get(p.name).Status.Final()
	}
	switch {
	case late.err != nil:
		tb.Errorf("a new order at the bound: %v", late.err)
	case late.answer.Status == http.StatusServiceUnavailable:
		refused++
		expectRefused(tb, e, "a new order at the bound", late)
	case stillInFlight:
		tb.Errorf("a new order while %d orders were in flight: %v, want 503", maxInFlight, late.answer)
	case late.answer.Status == http.StatusAccepted: // an admitted order ended first
		e.Track(late.name, late.req.OrderID, late.sent)
	default:
		tb.Errorf("a new order at the bound: %v, want 503 (or 202 once an order ended)", late.answer)
	}
	if stillInFlight && gauge != float64(maxInFlight) {
		tb.Errorf("%s = %v with %d orders in flight", inFlightMetric, gauge, maxInFlight)
	}
	if repeatErr != nil || repeat.Status != http.StatusOK {
		tb.Errorf("a repeat of admitted order %s at the bound: %v %v, want 200 with the order", admitted[0].name, repeat, repeatErr)
	} else {
		var o Order
		if err := repeat.decode(&o); err != nil || o.OrderID != admitted[0].req.OrderID {
			tb.Errorf("a repeat of admitted order %s: %v %v, want the order", admitted[0].name, repeat, err)
		}
	}
	if cancelAnswer.Status != http.StatusAccepted && cancelAnswer.Status != http.StatusConflict {
		tb.Errorf("a cancel of admitted order %s at the bound: %v, want 202 (or 409 once completed), never refused", cancelled.name, cancelAnswer)
	}

	// Once every admitted order is final, new orders are admitted again.
	for name, o := range e.WaitFinal() {
		if !o.Status.Final() {
			tb.Fatalf("order %s is still %s after %v", name, o.Status, tg.FinalWithin)
		}
	}
	after := e.Request("after", ada, "DE", Line{mug, 1})
	sent := time.Now()
	for {
		r, err := e.Post(after, "")
		if err == nil && r.Status == http.StatusAccepted {
			break
		}
		if err != nil || r.Status != http.StatusServiceUnavailable || time.Since(sent) > admissionReopens {
			tb.Fatalf("a new order once every admitted order was final: %v %v, want 202 within %v", r, err, admissionReopens)
		}
		refused++
		time.Sleep(50 * time.Millisecond)
	}
	e.Track("after", after.OrderID, sent)

	res := e.Finish()
	for _, name := range res.OrderNames() {
		switch o := res.Orders[name]; {
		case name == cancelled.name && o.Status == domain.StatusCancelled:
		default:
			ExpectOrder(tb, res, name, WantCompleted())
		}
	}
	completed := int64(res.Count(domain.StatusCompleted))
	ExpectStock(tb, res, "mug", -completed)
	ExpectCredit(tb, res, "ada", -100*completed)
	CheckInvariants(tb, res)
	if got := e.metric(refusedMetric) - refusedBefore; got != float64(refused) {
		tb.Errorf("%s grew by %v, want the %d refusals seen", refusedMetric, got, refused)
	}
	deadline := time.Now().Add(admissionReopens)
	for g := e.metric(inFlightMetric); g != 0; g = e.metric(inFlightMetric) {
		if time.Now().After(deadline) {
			tb.Errorf("%s = %v once every order was final, want 0", inFlightMetric, g)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return res
}

// cancelOnce sends POST /v1/orders/{id}/cancel once, as the order's
// customer (a refusal is not retried), and returns the answer.
func (e *Env) cancelOnce(req OrderRequest) response {
	e.tb.Helper()
	tok, err := e.creds.customerToken(req.CustomerID)
	if err != nil {
		e.tb.Fatal(err)
	}
	ctx, cancel := e.ctx()
	defer cancel()
	r, err := e.c.do(ctx, request{method: http.MethodPost, path: "/v1/orders/" + url.PathEscape(req.OrderID) + "/cancel", token: tok})
	if err != nil {
		e.tb.Fatal(err)
	}
	return r
}

// metric returns the value of a metric GET /metrics shows (summed over its
// series), failing the test when the stack does not show it.
func (e *Env) metric(name string) float64 {
	e.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := e.c.doIdempotent(ctx, request{method: http.MethodGet, path: "/metrics"})
	if err != nil || r.Status != http.StatusOK {
		e.tb.Fatalf("GET /metrics: %v %v", r, err)
	}
	sum, found := 0.0, false
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			e.tb.Fatalf("GET /metrics: %q: %v", line, err)
		}
		sum, found = sum+v, true
	}
	if !found {
		e.tb.Fatalf("GET /metrics shows no %s", name)
	}
	return sum
}
