package scenario

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// Scenario is one scenario of the suite: it sets up its own data on the
// stack through e, places its orders, checks what is particular to it and
// returns e.Finish()'s Result, on which RunScenario then checks the
// invariants.
type Scenario struct {
	Name string
	Run  func(tb testing.TB, e *Env) Result
}

// Scenarios returns every scenario of the suite, in the order Run runs
// them.
func Scenarios() []Scenario {
	return []Scenario{
		{"happy_path", happyPath},
		{"out_of_stock", outOfStock},
		{"payment_declined", paymentDeclined},
		{"shipping_unavailable", shippingUnavailable},
		{"cancel_during_inventory", cancelDuring(domain.StepInventory)},
		{"cancel_during_payment", cancelDuring(domain.StepPayment)},
		{"cancel_during_shipping", cancelDuring(domain.StepShipping)},
		{"cancel_final_or_unknown", cancelFinalOrUnknown},
		{"duplicate_post", duplicatePost},
		{"concurrent_race", concurrentRace},
		{"transient_faults_10pct", transientFaults(0.1)},
		{"transient_faults_30pct", transientFaults(0.3)},
		{"burst", burst},
	}
}

// holdLatency is the latency the cancel scenarios give a service to hold an
// order at its step while they cancel it.
const holdLatency = 400 * time.Millisecond

// waitQuery is the ?wait= value for a POST that should see the order final:
// FinalWithin, at most the contract's 30 s.
func waitQuery(tg Target) string {
	return "wait=" + url.QueryEscape(min(tg.FinalWithin, 30*time.Second).String())
}

// happyPath: orders that complete, placed without wait (202, pending),
// with wait (201, completed) and without an order_id (one is generated).
// Checks prices, totals, tracking numbers, steps, stock and credit, and
// that the list of completed orders shows them.
func happyPath(tb testing.TB, e *Env) Result {
	tb.Helper()
	mug := e.Product("mug", 1250, 40)
	tee := e.Product("tee", 2000, 10)
	ada := e.Customer("ada", 100_000)

	e.Place("plain", e.Request("plain", ada, "DE", Line{mug, 2}, Line{tee, 3}))

	waited := e.Request("waited", ada, "US", Line{mug, 1})
	placed := time.Now()
	r, err := e.Post(waited, waitQuery(e.Target()))
	if err != nil {
		tb.Fatal(err)
	}
	e.Track("waited", waited.OrderID, placed)
	if r.Status != http.StatusCreated {
		tb.Errorf("POST ?%s: %v, want 201 with the final order", waitQuery(e.Target()), r)
	} else {
		var o Order
		if err := r.decode(&o); err != nil {
			tb.Fatal(err)
		}
		if o.Status != domain.StatusCompleted || o.OrderID != waited.OrderID {
			tb.Errorf("POST with wait answered 201 with order %s %q, want %s completed", o.OrderID, o.Status, waited.OrderID)
		}
		if loc := r.Header.Get("Location"); loc != "/v1/orders/"+waited.OrderID {
			tb.Errorf("POST with wait: Location %q, want /v1/orders/%s", loc, waited.OrderID)
		}
	}

	generated := e.Request("generated", ada, "JP", Line{tee, 1})
	generated.OrderID = ""
	placed = time.Now()
	r, err = e.Post(generated, "")
	if err != nil {
		tb.Fatal(err)
	}
	var g Order
	if r.Status != http.StatusAccepted {
		tb.Fatalf("POST without order_id: %v, want 202", r)
	}
	if err := r.decode(&g); err != nil {
		tb.Fatal(err)
	}
	if !domain.ValidID(g.OrderID) || r.Header.Get("Location") != "/v1/orders/"+g.OrderID {
		tb.Fatalf("POST without order_id: order_id %q, Location %q; want a generated id and its Location", g.OrderID, r.Header.Get("Location"))
	}
	e.Track("generated", g.OrderID, placed)

	res := e.Finish()
	prices := map[string]int64{mug: 1250, tee: 2000}
	for _, name := range []string{"plain", "waited", "generated"} {
		ExpectOrder(tb, res, name, WantCompleted())
		o := res.Orders[name]
		var total int64
		for _, it := range o.Items {
			if it.PriceCents == nil || *it.PriceCents != prices[it.SKU] {
				tb.Errorf("order %s: item %s priced %v, want %d", name, it.SKU, it.PriceCents, prices[it.SKU])
				continue
			}
			total += *it.PriceCents * it.Quantity
		}
		if o.TotalCents == nil || *o.TotalCents != total {
			tb.Errorf("order %s: total_cents %v, want %d", name, o.TotalCents, total)
		}
		if o.CustomerID != ada {
			tb.Errorf("order %s: customer_id %q, want %q", name, o.CustomerID, ada)
		}
	}
	ExpectStock(tb, res, "mug", -3)
	ExpectStock(tb, res, "tee", -4)
	ExpectCredit(tb, res, "ada", -(3*1250 + 4*2000))
	expectListed(tb, e, ada, domain.StatusCompleted, res.Orders["plain"].ID, res.Orders["waited"].ID, res.Orders["generated"].ID)
	return res
}

// expectListed reports through tb unless GET /v1/orders?status=..., sent
// as the customer, lists every id, paging with next_cursor; it also
// checks that each page holds only orders with that status, newest
// first, and, when the customer has a token of its own, only the
// customer's orders.
func expectListed(tb testing.TB, e *Env, customer string, status domain.Status, ids ...string) {
	tb.Helper()
	tok, err := e.CustomerToken(customer)
	if err != nil {
		tb.Fatal(err)
	}
	missing := map[string]bool{}
	for _, id := range ids {
		missing[id] = true
	}
	ctx, cancel := e.ctx()
	defer cancel()
	cursor := ""
	for page := 0; page < 50 && len(missing) > 0; page++ {
		q := url.Values{"status": {string(status)}, "limit": {"50"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r, err := e.c.doIdempotent(ctx, request{method: http.MethodGet, path: "/v1/orders?" + q.Encode(), token: tok})
		if err != nil || r.Status != http.StatusOK {
			tb.Errorf("GET /v1/orders?%s: %v %v, want 200", q.Encode(), r, err)
			return
		}
		var list struct {
			Orders     []Order `json:"orders"`
			NextCursor string  `json:"next_cursor"`
		}
		if err := r.decode(&list); err != nil {
			tb.Error(err)
			return
		}
		var prev time.Time
		for _, o := range list.Orders {
			delete(missing, o.OrderID)
			if o.Status != status {
				tb.Errorf("GET /v1/orders?status=%s listed order %s with status %q", status, o.OrderID, o.Status)
			}
			if e.creds.perCustomer() && o.CustomerID != customer {
				tb.Errorf("GET /v1/orders as customer %s listed order %s of customer %q", customer, o.OrderID, o.CustomerID)
			}
			created, err := time.Parse(time.RFC3339Nano, o.CreatedAt)
			if err != nil {
				tb.Errorf("GET /v1/orders: order %s has created_at %q, not RFC 3339: %v", o.OrderID, o.CreatedAt, err)
				continue
			}
			if !prev.IsZero() && created.After(prev) {
				tb.Errorf("GET /v1/orders: order %s (created %s) listed after one created %s: not newest first",
					o.OrderID, o.CreatedAt, prev.Format(time.RFC3339Nano))
			}
			prev = created
		}
		if list.NextCursor == "" {
			break
		}
		cursor = list.NextCursor
	}
	if len(missing) > 0 {
		tb.Errorf("GET /v1/orders?status=%s does not list orders %v", status, missing)
	}
}

// outOfStock: an order with a sku that does not exist and one asking for
// more than is available fail with out_of_stock and hold nothing; one
// asking for exactly the stock completes.
func outOfStock(tb testing.TB, e *Env) Result {
	tb.Helper()
	mug := e.Product("mug", 500, 2)
	last := e.Product("last", 700, 3)
	ada := e.Customer("ada", 100_000)
	e.Place("missing_sku", e.Request("missing_sku", ada, "DE", Line{mug, 1}, Line{e.ID("no-such-sku"), 1}))
	e.Place("too_many", e.Request("too_many", ada, "DE", Line{mug, 3}))
	e.Place("exact_stock", e.Request("exact_stock", ada, "DE", Line{last, 3}))
	res := e.Finish()
	ExpectOrder(tb, res, "missing_sku", wantOutOfStock)
	ExpectOrder(tb, res, "too_many", wantOutOfStock)
	ExpectOrder(tb, res, "exact_stock", WantCompleted())
	ExpectStock(tb, res, "mug", 0)
	ExpectStock(tb, res, "last", -3)
	ExpectCredit(tb, res, "ada", -3*700)
	if p := res.Products["last"]; p.Available != 0 {
		tb.Errorf("product %s: available %d after selling its whole stock, want 0", p.SKU, p.Available)
	}
	return res
}

// paymentDeclined: an unknown customer and one with too little credit are
// declined and their inventory released; a customer with exactly the
// total completes.
func paymentDeclined(tb testing.TB, e *Env) Result {
	tb.Helper()
	mug := e.Product("mug", 1000, 10)
	poor := e.Customer("poor", 999)
	exact := e.Customer("exact", 2000)
	e.Place("unknown_customer", e.Request("unknown_customer", e.ID("no-such-customer"), "DE", Line{mug, 1}))
	e.Place("too_little_credit", e.Request("too_little_credit", poor, "DE", Line{mug, 1}))
	e.Place("exact_credit", e.Request("exact_credit", exact, "DE", Line{mug, 2}))
	res := e.Finish()
	ExpectOrder(tb, res, "unknown_customer", wantPaymentDeclined)
	ExpectOrder(tb, res, "too_little_credit", wantPaymentDeclined)
	ExpectOrder(tb, res, "exact_credit", WantCompleted())
	ExpectStock(tb, res, "mug", -2)
	ExpectCredit(tb, res, "poor", 0)
	ExpectCredit(tb, res, "exact", -2000)
	return res
}

// shippingUnavailable: an order to a country never served (AQ) fails with
// shipping_unavailable; the payment is refunded and the inventory
// released.
func shippingUnavailable(tb testing.TB, e *Env) Result {
	tb.Helper()
	mug := e.Product("mug", 1500, 5)
	ada := e.Customer("ada", 10_000)
	e.Place("antarctica", e.Request("antarctica", ada, "AQ", Line{mug, 2}))
	res := e.Finish()
	ExpectOrder(tb, res, "antarctica", wantShippingUnavailable)
	ExpectStock(tb, res, "mug", 0)
	ExpectCredit(tb, res, "ada", 0)
	return res
}

// cancelDuring returns the scenario that holds an order at step (the
// step's service slowed by holdLatency), cancels it there (202), and
// expects it cancelled with every done step compensated and nothing held.
// Cancelling it again answers 202 and changes nothing.
func cancelDuring(step domain.StepName) func(testing.TB, *Env) Result {
	return func(tb testing.TB, e *Env) Result {
		tb.Helper()
		mug := e.Product("mug", 800, 5)
		ada := e.Customer("ada", 10_000)
		e.SetFaults(Faults{string(step): {LatencyMS: holdLatency.Milliseconds()}})
		e.Place("held", e.Request("held", ada, "DE", Line{mug, 2}))
		if prev, ok := e.tg.Saga.Before(step); ok {
			e.WaitStep("held", prev.Name, domain.StepDone)
		}
		r := e.Cancel("held")
		if r.Status != http.StatusAccepted {
			tb.Fatalf("cancel while the %s step ran: %v, want 202", step, r)
		}
		var o Order
		if err := r.decode(&o); err != nil {
			tb.Fatal(err)
		}
		if o.OrderID != e.OrderID("held") {
			tb.Errorf("cancel answered order %q, want %q", o.OrderID, e.OrderID("held"))
		}
		res := e.Finish()
		ExpectOrder(tb, res, "held", WantCancelledAt(step))
		ExpectStock(tb, res, "mug", 0)
		ExpectCredit(tb, res, "ada", 0)

		again := e.Cancel("held")
		if again.Status != http.StatusAccepted {
			tb.Errorf("cancel of a cancelled order: %v, want 202", again)
		}
		if got := e.Get("held"); got.Status != domain.StatusCancelled {
			tb.Errorf("after a second cancel the order is %q, want cancelled", got.Status)
		}
		return res
	}
}

// cancelFinalOrUnknown: cancelling a completed or a failed order answers
// 409 and changes nothing; cancelling an unknown order answers 404.
func cancelFinalOrUnknown(tb testing.TB, e *Env) Result {
	tb.Helper()
	mug := e.Product("mug", 900, 3)
	ada := e.Customer("ada", 10_000)
	e.Place("completed", e.Request("completed", ada, "DE", Line{mug, 1}))
	e.Place("failed", e.Request("failed", ada, "DE", Line{mug, 5}))
	final := e.WaitFinal()
	if final["completed"].Status != domain.StatusCompleted || final["failed"].Status != domain.StatusFailed {
		tb.Fatalf("orders are %q and %q, want completed and failed", final["completed"].Status, final["failed"].Status)
	}
	expectProblem(tb, "cancel of a completed order", e.Cancel("completed"), http.StatusConflict)
	expectProblem(tb, "cancel of a failed order", e.Cancel("failed"), http.StatusConflict)
	expectProblem(tb, "cancel of an unknown order", e.CancelID(e.ID("no-such-order")), http.StatusNotFound)
	res := e.Finish()
	ExpectOrder(tb, res, "completed", WantCompleted())
	ExpectOrder(tb, res, "failed", wantOutOfStock)
	ExpectStock(tb, res, "mug", -1)
	ExpectCredit(tb, res, "ada", -900)
	return res
}

// duplicatePost: the same order_id with the same body answers 200 with the
// same order, before and after it is final, and takes effect once; with
// another body, 409. Several identical POSTs at once create the order
// once: one 202, the others 200.
func duplicatePost(tb testing.TB, e *Env) Result {
	tb.Helper()
	mug := e.Product("mug", 1000, 10)
	ada := e.Customer("ada", 100_000)
	req := e.Request("dup", ada, "DE", Line{mug, 2})
	e.Place("dup", req)
	expectRepeat := func(when string) {
		tb.Helper()
		r, err := e.Post(req, "")
		if err != nil {
			tb.Fatal(err)
		}
		var o Order
		if r.Status != http.StatusOK {
			tb.Errorf("repeated POST %s: %v, want 200", when, r)
		} else if err := r.decode(&o); err != nil || o.OrderID != req.OrderID {
			tb.Errorf("repeated POST %s answered order %q (%v), want %q", when, o.OrderID, err, req.OrderID)
		}
	}
	expectRepeat("while the order runs")
	if o := e.WaitFinal("dup")["dup"]; o.Status != domain.StatusCompleted {
		tb.Fatalf("order dup is %q, want completed", o.Status)
	}
	expectRepeat("once the order is final")

	more := req
	more.Items = []Line{{mug, 3}}
	r, err := e.Post(more, "")
	if err != nil {
		tb.Fatal(err)
	}
	expectProblem(tb, "POST of the same order_id with other items", r, http.StatusConflict)
	elsewhere := req
	elsewhere.ShipTo.City = "Paris"
	elsewhere.ShipTo.Country = "FR"
	if r, err = e.Post(elsewhere, ""); err != nil {
		tb.Fatal(err)
	}
	expectProblem(tb, "POST of the same order_id with another address", r, http.StatusConflict)

	// Identical POSTs at once.
	same := e.Request("same", ada, "DE", Line{mug, 1})
	const copies = 5
	statuses := make([]int, copies)
	ids := make([]string, copies)
	errs := make([]error, copies)
	placed := time.Now()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for k := range copies {
		wg.Go(func() {
			<-start
			r, err := e.PostRetrying(same)
			if err != nil {
				errs[k] = err
				return
			}
			statuses[k] = r.Status
			var o Order
			if err := r.decode(&o); err != nil {
				errs[k] = err
				return
			}
			ids[k] = o.OrderID
		})
	}
	close(start)
	wg.Wait()
	e.Track("same", same.OrderID, placed)
	created := 0
	for k := range copies {
		switch {
		case errs[k] != nil:
			tb.Errorf("concurrent identical POST %d: %v", k, errs[k])
		case statuses[k] == http.StatusAccepted:
			created++
		case statuses[k] != http.StatusOK:
			tb.Errorf("concurrent identical POST %d: status %d, want 202 or 200", k, statuses[k])
		}
		if errs[k] == nil && ids[k] != same.OrderID {
			tb.Errorf("concurrent identical POST %d answered order %q, want %q", k, ids[k], same.OrderID)
		}
	}
	if created != 1 {
		tb.Errorf("%d identical concurrent POSTs answered 202 %d times, want once (statuses %v)", copies, created, statuses)
	}

	res := e.Finish()
	ExpectOrder(tb, res, "dup", WantCompleted())
	ExpectOrder(tb, res, "same", WantCompleted())
	ExpectStock(tb, res, "mug", -3)
	ExpectCredit(tb, res, "ada", -3000)
	return res
}

// Sizes of the concurrent race.
const (
	raceOrders     = 40 // one unit each, all placed at once
	raceStock      = 10 // units of the one product
	racePoorOrders = 3  // how many orders the poor customer's credit pays for
	racePrice      = 500
)

// concurrentRace: 40 orders of one unit placed at once race for 10 units;
// half are by a customer whose credit pays for only 3. At most 10 complete,
// at most 3 of the poor customer's; every other order failed for stock or
// credit, and the invariants hold. Which orders win depends on timing.
func concurrentRace(tb testing.TB, e *Env) Result {
	tb.Helper()
	scarce := e.Product("scarce", racePrice, raceStock)
	rich := e.Customer("rich", 1_000_000)
	poor := e.Customer("poor", racePoorOrders*racePrice)
	names := make([]string, raceOrders)
	reqs := make([]OrderRequest, raceOrders)
	for k := range raceOrders {
		who := rich
		if k%2 == 1 {
			who = poor
		}
		names[k] = fmt.Sprintf("race-%02d", k)
		reqs[k] = e.Request(names[k], who, "DE", Line{scarce, 1})
	}
	e.PlaceConcurrently(names, reqs, raceOrders)
	res := e.Finish()
	res.Racy = true

	completed, poorCompleted := 0, 0
	for _, n := range res.OrderNames() {
		o := res.Orders[n]
		switch {
		case o.Status == domain.StatusCompleted:
			completed++
			if o.CustomerID == poor {
				poorCompleted++
			}
		case o.Status == domain.StatusFailed && o.FailureReason == domain.ReasonOutOfStock:
			ExpectOrder(tb, res, n, wantOutOfStock)
		case o.Status == domain.StatusFailed && o.FailureReason == domain.ReasonPaymentDeclined:
			ExpectOrder(tb, res, n, wantPaymentDeclined)
		default:
			tb.Errorf("order %s: %q %q, want completed, or failed for stock or credit", n, o.Status, o.FailureReason)
		}
	}
	if completed > raceStock {
		tb.Errorf("%d orders completed for %d units in stock", completed, raceStock)
	}
	if poorCompleted > racePoorOrders {
		tb.Errorf("the poor customer completed %d orders, credit pays for %d", poorCompleted, racePoorOrders)
	}
	if completed == 0 {
		tb.Errorf("no order of the race completed")
	}
	tb.Logf("race: %d of %d orders completed (%d of the poor customer's)", completed, raceOrders, poorCompleted)
	return res
}

// transientOrders is how many orders a transient-fault scenario places.
const transientOrders = 12

// transientFaults returns the scenario that makes every service fail at
// the error rate while orders run: transient faults are retried and never
// fail an order, so every order completes.
func transientFaults(rate float64) func(testing.TB, *Env) Result {
	return func(tb testing.TB, e *Env) Result {
		tb.Helper()
		mug := e.Product("mug", 300, 100)
		tee := e.Product("tee", 700, 100)
		ada := e.Customer("ada", 1_000_000)
		e.SetFaults(everyService(Fault{ErrorRate: rate}))
		names := make([]string, transientOrders)
		reqs := make([]OrderRequest, transientOrders)
		for k := range transientOrders {
			names[k] = fmt.Sprintf("f-%02d", k)
			reqs[k] = e.Request(names[k], ada, "GB", Line{mug, 1}, Line{tee, int64(k%3 + 1)})
		}
		e.PlaceConcurrently(names, reqs, 4)
		e.WaitFinal()
		e.ResetFaults()
		res := e.Finish()
		var units, credit int64
		for k, n := range names {
			ExpectOrder(tb, res, n, WantCompleted())
			units += int64(k%3 + 1)
			credit += 300 + 700*int64(k%3+1)
		}
		ExpectStock(tb, res, "mug", -transientOrders)
		ExpectStock(tb, res, "tee", -units)
		ExpectCredit(tb, res, "ada", -credit)
		return res
	}
}

// burst: BurstOrders orders over 4 products and 4 customers with ample
// stock and credit, Concurrency in flight: every order completes.
func burst(tb testing.TB, e *Env) Result {
	tb.Helper()
	n := e.Target().BurstOrders
	const kinds = 4
	var skus, customers [kinds]string
	for k := range kinds {
		skus[k] = e.Product(fmt.Sprintf("p%d", k), int64(100*(k+1)), int64(4*n))
		customers[k] = e.Customer(fmt.Sprintf("c%d", k), int64(10_000*n))
	}
	names := make([]string, n)
	reqs := make([]OrderRequest, n)
	var units [kinds]int64
	var credit [kinds]int64
	for i := range n {
		a, b := i%kinds, (i+1)%kinds
		qa, qb := int64(1), int64(i%3+1)
		names[i] = fmt.Sprintf("b%04d", i)
		reqs[i] = e.Request(names[i], customers[i%kinds], "NL", Line{skus[a], qa}, Line{skus[b], qb})
		units[a] += qa
		units[b] += qb
		credit[i%kinds] += qa*int64(100*(a+1)) + qb*int64(100*(b+1))
	}
	e.PlaceConcurrently(names, reqs, e.Target().Concurrency)
	res := e.Finish()
	if got := res.Count(domain.StatusCompleted); got != n {
		tb.Errorf("%d of %d burst orders completed, want all", got, n)
		for _, name := range res.OrderNames() {
			if o := res.Orders[name]; o.Status != domain.StatusCompleted {
				tb.Logf("order %s (%s): %q %q steps %v", name, o.ID, o.Status, o.FailureReason, o.Steps)
			}
		}
	}
	for k := range kinds {
		ExpectStock(tb, res, fmt.Sprintf("p%d", k), -units[k])
		ExpectCredit(tb, res, fmt.Sprintf("c%d", k), -credit[k])
	}
	return res
}
