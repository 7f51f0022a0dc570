package scenario

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// Env is one scenario's view of a stack: it creates the scenario's own
// products and customers, places and watches its orders, and builds the
// Result once the stack is quiet. Its methods report failures through the
// scenario's testing.TB and must be called from the test's goroutine,
// except where a method says otherwise.
type Env struct {
	tb       testing.TB
	tg       Target
	c        *client
	creds    *credentials
	scenario string
	prefix   string // random run id + scenario name: the start of every id

	mu        sync.Mutex
	products  map[string]ProductResult
	customers map[string]CustomerResult
	orders    map[string]*tracked
	owners    map[string]string // order id → its customer's id, as far as known
}

// tracked is an order the Env watches.
type tracked struct {
	id      string
	placed  time.Time // just before the POST
	finalAt time.Time // when first seen final; zero until then
	last    Order     // as last read
}

// newEnv returns an Env for one run of the named scenario on tg (with
// defaults applied).
func newEnv(tb testing.TB, tg Target, scenario string) *Env {
	tb.Helper()
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		tb.Fatalf("drawing a run id: %v", err)
	}
	return &Env{
		tb:        tb,
		tg:        tg,
		c:         &client{base: tg.BaseURL, hc: tg.Client},
		creds:     newCredentials(tg),
		scenario:  scenario,
		prefix:    hex.EncodeToString(rnd[:]) + "-" + scenario,
		products:  map[string]ProductResult{},
		customers: map[string]CustomerResult{},
		orders:    map[string]*tracked{},
		owners:    map[string]string{},
	}
}

// OperatorToken returns the token the suite's set-up requests carry: an
// operator's (minted with Target.Keys, or Target.OperatorToken), or ""
// on a stack run open. It is safe for concurrent use.
func (e *Env) OperatorToken() (string, error) { return e.creds.operatorToken() }

// CustomerToken returns the token a customer's own requests carry: a
// short-lived token of its own when the Target has keys, else the
// operator token, or "" on a stack run open. It is safe for concurrent
// use.
func (e *Env) CustomerToken(customerID string) (string, error) {
	return e.creds.customerToken(customerID)
}

// operator returns the operator token, failing the test when none can be
// minted.
func (e *Env) operator() string {
	e.tb.Helper()
	tok, err := e.creds.operatorToken()
	if err != nil {
		e.tb.Fatal(err)
	}
	return tok
}

// own records that the order id is the customer's. It is safe for
// concurrent use.
func (e *Env) own(orderID, customerID string) {
	if orderID == "" || customerID == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.owners[orderID]; !ok {
		e.owners[orderID] = customerID
	}
}

// orderToken returns the token of requests about the order id: its
// customer's when the Env knows it, else the operator's. It is safe for
// concurrent use.
func (e *Env) orderToken(orderID string) (string, error) {
	e.mu.Lock()
	customer := e.owners[orderID]
	e.mu.Unlock()
	return e.creds.customerToken(customer)
}

// TB returns the scenario's testing.TB.
func (e *Env) TB() testing.TB { return e.tb }

// Target returns the stack under test, with its defaults applied.
func (e *Env) Target() Target { return e.tg }

// ctx returns a context bounded by the Env's FinalWithin, for one
// operation that retries or waits.
func (e *Env) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), e.tg.FinalWithin)
}

// ID returns the run-specific id for a name of the scenario (a product,
// customer or order): "<run id>-<scenario>-<name>". It is safe for
// concurrent use.
func (e *Env) ID(name string) string {
	id := e.prefix + "-" + name
	if !domain.ValidID(id) {
		panic(fmt.Sprintf("scenario id %q is not a valid id: shorten the scenario or object name", id))
	}
	return id
}

// Product creates the scenario's product name with a price and a stock and
// returns its sku. Its stock at the start is remembered for the invariants.
func (e *Env) Product(name string, priceCents, stock int64) string {
	e.tb.Helper()
	sku := e.ID(name)
	ctx, cancel := e.ctx()
	defer cancel()
	r, err := e.c.doIdempotent(ctx, request{method: http.MethodPut, path: "/v1/products/" + sku, token: e.operator(),
		body: jsonBody(map[string]any{"name": "Product " + name, "price_cents": priceCents, "stock": stock})})
	if err != nil || r.Status != http.StatusOK {
		e.tb.Fatalf("PUT product %s: %v %v, want 200", sku, r, err)
	}
	var p Product
	if err := r.decode(&p); err != nil {
		e.tb.Fatal(err)
	}
	if p.SKU != sku || p.PriceCents != priceCents || p.Available != stock || p.Reserved != 0 {
		e.tb.Fatalf("PUT product %s answered %+v, want price %d, available %d, reserved 0", sku, p, priceCents, stock)
	}
	e.mu.Lock()
	e.products[name] = ProductResult{SKU: sku, PriceCents: priceCents, Initial: stock}
	e.mu.Unlock()
	return sku
}

// Customer creates the scenario's customer name with a credit and returns
// its id. Its credit at the start is remembered for the invariants.
func (e *Env) Customer(name string, creditCents int64) string {
	e.tb.Helper()
	id := e.ID(name)
	ctx, cancel := e.ctx()
	defer cancel()
	r, err := e.c.doIdempotent(ctx, request{method: http.MethodPut, path: "/v1/customers/" + id, token: e.operator(),
		body: jsonBody(map[string]any{"name": "Customer " + name, "credit_cents": creditCents})})
	if err != nil || r.Status != http.StatusOK {
		e.tb.Fatalf("PUT customer %s: %v %v, want 200", id, r, err)
	}
	var c Customer
	if err := r.decode(&c); err != nil {
		e.tb.Fatal(err)
	}
	if c.ID != id || c.CreditCents != creditCents {
		e.tb.Fatalf("PUT customer %s answered %+v, want credit %d", id, c, creditCents)
	}
	e.mu.Lock()
	e.customers[name] = CustomerResult{ID: id, Initial: creditCents}
	e.mu.Unlock()
	return id
}

// Request returns an order request for the named order (its order_id is
// ID(order)) by the customer, shipping to country; requests about that
// order then carry the customer's token. It is safe for concurrent use.
func (e *Env) Request(order, customerID, country string, lines ...Line) OrderRequest {
	e.own(e.ID(order), customerID)
	return OrderRequest{
		OrderID:    e.ID(order),
		CustomerID: customerID,
		Items:      lines,
		ShipTo:     Address{Name: "Ada Lovelace", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: country},
	}
}

// Post sends POST /v1/orders with the request and the raw query (e.g.
// "wait=5s", or ""), once, with the token of the request's customer, and
// returns the answer; it neither checks nor tracks anything (but
// remembers whose order an accepted one is). It is safe for concurrent
// use.
func (e *Env) Post(req OrderRequest, query string) (response, error) {
	path := "/v1/orders"
	if query != "" {
		path += "?" + query
	}
	tok, err := e.creds.customerToken(req.CustomerID)
	if err != nil {
		return response{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.tg.FinalWithin+30*time.Second)
	defer cancel()
	r, err := e.c.do(ctx, request{method: http.MethodPost, path: path, body: jsonBody(req), token: tok})
	if err == nil && r.Status >= 200 && r.Status < 300 {
		var o Order
		if r.decode(&o) == nil {
			e.own(o.OrderID, req.CustomerID)
		}
	}
	return r, err
}

// PostRetrying sends POST /v1/orders with the request like Post, and again
// after a transport error or a 503 (the request must carry an order_id, which
// makes that safe) until FinalWithin passes. It returns the last answer. It
// is safe for concurrent use.
func (e *Env) PostRetrying(req OrderRequest) (response, error) {
	deadline := time.Now().Add(e.tg.FinalWithin)
	for delay := 10 * time.Millisecond; ; delay = min(delay*2, 250*time.Millisecond) {
		r, err := e.Post(req, "")
		if !retryable(r, err) || req.OrderID == "" || time.Now().After(deadline) {
			return r, err
		}
		time.Sleep(delay)
	}
}

// place posts the order (again after a transport error or a 503: the
// order_id makes that safe) and tracks it under name. It returns the
// answer it accepted, or an error. It is safe for concurrent use.
func (e *Env) place(name string, req OrderRequest) (Order, error) {
	if req.OrderID == "" {
		return Order{}, fmt.Errorf("order %s: place needs an order_id", name)
	}
	tok, err := e.creds.customerToken(req.CustomerID)
	if err != nil {
		return Order{}, fmt.Errorf("placing order %s: %w", name, err)
	}
	e.own(req.OrderID, req.CustomerID)
	placed := time.Now()
	ctx, cancel := e.ctx()
	defer cancel()
	retried := false
	var r response
	for delay := 10 * time.Millisecond; ; delay = min(delay*2, 250*time.Millisecond) {
		r, err = e.c.do(ctx, request{method: http.MethodPost, path: "/v1/orders", body: jsonBody(req), token: tok})
		if !retryable(r, err) || ctx.Err() != nil {
			break
		}
		retried = true
		time.Sleep(delay)
	}
	if err != nil {
		return Order{}, fmt.Errorf("placing order %s: %w", name, err)
	}
	// A retry of a POST whose first answer was lost finds the order: 200.
	if r.Status != http.StatusAccepted && !(retried && r.Status == http.StatusOK) {
		return Order{}, fmt.Errorf("placing order %s: %v, want 202", name, r)
	}
	var o Order
	if err := r.decode(&o); err != nil {
		return Order{}, err
	}
	if o.OrderID != req.OrderID {
		return Order{}, fmt.Errorf("placing order %s: answer has order_id %q, want %q", name, o.OrderID, req.OrderID)
	}
	if r.Status == http.StatusAccepted {
		if loc := r.Header.Get("Location"); loc != "/v1/orders/"+req.OrderID {
			return Order{}, fmt.Errorf("placing order %s: Location %q, want /v1/orders/%s", name, loc, req.OrderID)
		}
		if o.Status != domain.StatusPending {
			return Order{}, fmt.Errorf("placing order %s: 202 with status %q, want pending", name, o.Status)
		}
	}
	e.Track(name, o.OrderID, placed)
	return o, nil
}

// Place posts the order, checks the 202 answer (Location, status pending)
// and tracks the order under name.
func (e *Env) Place(name string, req OrderRequest) Order {
	e.tb.Helper()
	o, err := e.place(name, req)
	if err != nil {
		e.tb.Fatal(err)
	}
	return o
}

// PlaceConcurrently places the orders (names[i] with reqs[i]) from
// inFlight goroutines at once; with inFlight >= len(names) every request
// starts together, released by one barrier. It reports every failure.
func (e *Env) PlaceConcurrently(names []string, reqs []OrderRequest, inFlight int) {
	e.tb.Helper()
	if len(names) != len(reqs) {
		e.tb.Fatalf("PlaceConcurrently: %d names for %d requests", len(names), len(reqs))
	}
	inFlight = max(1, min(inFlight, len(names)))
	start := make(chan struct{})
	next := make(chan int)
	errc := make(chan error, len(names))
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			<-start
			for i := range next {
				if _, err := e.place(names[i], reqs[i]); err != nil {
					errc <- err
				}
			}
		})
	}
	close(start)
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errc)
	failed := false
	for err := range errc {
		e.tb.Error(err)
		failed = true
	}
	if failed {
		e.tb.FailNow()
	}
}

// Track makes the Env watch an order placed outside Place, under name;
// placed is when it was sent. Its reads carry its customer's token when
// the order came from Request or Post, else the operator's. It is safe
// for concurrent use.
func (e *Env) Track(name, id string, placed time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.orders[name]; !dup {
		e.orders[name] = &tracked{id: id, placed: placed}
	}
}

// OrderID returns the id of the tracked order name.
func (e *Env) OrderID(name string) string {
	e.tb.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	tr, ok := e.orders[name]
	if !ok {
		e.tb.Fatalf("order %s is not tracked", name)
	}
	return tr.id
}

// getOrder reads one order (again after a transport error or a 503), as
// its customer.
func (e *Env) getOrder(ctx context.Context, id string) (Order, error) {
	tok, err := e.orderToken(id)
	if err != nil {
		return Order{}, err
	}
	r, err := e.c.doIdempotent(ctx, request{method: http.MethodGet, path: "/v1/orders/" + url.PathEscape(id), token: tok})
	if err != nil {
		return Order{}, err
	}
	if r.Status != http.StatusOK {
		return Order{}, fmt.Errorf("GET order %s: %v, want 200", id, r)
	}
	var o Order
	if err := r.decode(&o); err != nil {
		return Order{}, err
	}
	return o, nil
}

// Get reads the tracked order name.
func (e *Env) Get(name string) Order {
	e.tb.Helper()
	ctx, cancel := e.ctx()
	defer cancel()
	o, err := e.getOrder(ctx, e.OrderID(name))
	if err != nil {
		e.tb.Fatal(err)
	}
	e.observe(name, o, time.Now())
	return o
}

// observe records what a read of the order showed at time at.
func (e *Env) observe(name string, o Order, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tr := e.orders[name]
	tr.last = o
	if o.Status.Final() && tr.finalAt.IsZero() {
		tr.finalAt = at
	}
}

// WaitStep polls the order until its step has the status and returns it.
// It fails the test when the order becomes final first or FinalWithin
// passes.
func (e *Env) WaitStep(name string, step domain.StepName, status domain.StepStatus) Order {
	e.tb.Helper()
	deadline := time.Now().Add(e.tg.FinalWithin)
	for delay := 2 * time.Millisecond; ; delay = min(delay*2, 20*time.Millisecond) {
		o := e.Get(name)
		if o.step(step) == status {
			return o
		}
		if o.Status.Final() {
			e.tb.Fatalf("order %s became %s (steps %v) before its %s step was %s", name, o.Status, o.Steps, step, status)
		}
		if time.Now().After(deadline) {
			e.tb.Fatalf("order %s: step %s still %q after %v, want %s", name, step, o.step(step), e.tg.FinalWithin, status)
		}
		time.Sleep(delay)
	}
}

// WaitFinal polls the named orders (every tracked order when none is
// named) until each is final or FinalWithin has passed since it was placed,
// and returns them as last read. It does not fail the test for an order
// that is not final: the invariants report it.
func (e *Env) WaitFinal(names ...string) map[string]Order {
	e.tb.Helper()
	if len(names) == 0 {
		names = e.trackedNames()
	}
	for delay := 2 * time.Millisecond; ; delay = min(delay*2, 50*time.Millisecond) {
		waiting := e.unfinished(names)
		if len(waiting) == 0 {
			break
		}
		if err := e.readOrders(waiting); err != nil {
			e.tb.Fatal(err)
		}
		if len(e.unfinished(names)) == 0 {
			break
		}
		time.Sleep(delay)
	}
	out := make(map[string]Order, len(names))
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, n := range names {
		out[n] = e.orders[n].last
	}
	return out
}

// trackedNames returns the names of every tracked order, sorted.
func (e *Env) trackedNames() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	names := make([]string, 0, len(e.orders))
	for n := range e.orders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// unfinished returns the names among names of orders never read, or not
// yet seen final while their time to become final has not run out.
func (e *Env) unfinished(names []string) []string {
	e.tb.Helper()
	var out, unknown []string
	now := time.Now()
	e.mu.Lock()
	for _, n := range names {
		tr, ok := e.orders[n]
		switch {
		case !ok:
			unknown = append(unknown, n)
		case tr.last.OrderID == "": // never read: read it once at least
			out = append(out, n)
		case tr.finalAt.IsZero() && now.Sub(tr.placed) <= e.tg.FinalWithin:
			out = append(out, n)
		}
	}
	e.mu.Unlock()
	if len(unknown) > 0 {
		e.tb.Fatalf("orders %v are not tracked", unknown)
	}
	return out
}

// readOrders reads the named orders, Concurrency at a time, and records
// what they showed.
func (e *Env) readOrders(names []string) error {
	ctx, cancel := e.ctx()
	defer cancel()
	sem := make(chan struct{}, e.tg.Concurrency)
	errc := make(chan error, len(names))
	var wg sync.WaitGroup
	for _, n := range names {
		id := e.OrderID(n)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			o, err := e.getOrder(ctx, id)
			if err != nil {
				errc <- fmt.Errorf("order %s: %w", n, err)
				return
			}
			e.observe(n, o, time.Now())
		})
	}
	wg.Wait()
	close(errc)
	return <-errc // the first error, or nil
}

// Cancel sends POST /v1/orders/{id}/cancel for the tracked order, as its
// customer, and returns the answer.
func (e *Env) Cancel(name string) response {
	e.tb.Helper()
	return e.CancelID(e.OrderID(name))
}

// CancelID sends POST /v1/orders/{id}/cancel for any id and returns the
// answer. It carries the token of the order's customer when the Env knows
// it, else the operator's.
func (e *Env) CancelID(id string) response {
	e.tb.Helper()
	tok, err := e.orderToken(id)
	if err != nil {
		e.tb.Fatal(err)
	}
	ctx, cancel := e.ctx()
	defer cancel()
	r, err := e.c.doIdempotent(ctx, request{method: http.MethodPost, path: "/v1/orders/" + url.PathEscape(id) + "/cancel", token: tok})
	if err != nil {
		e.tb.Fatal(err)
	}
	return r
}

// Timeline reads the tracked order's timeline (GET
// /v1/orders/{id}/timeline) as its customer and returns its entries.
func (e *Env) Timeline(name string) []TimelineEntry {
	e.tb.Helper()
	id := e.OrderID(name)
	tok, err := e.orderToken(id)
	if err != nil {
		e.tb.Fatal(err)
	}
	ctx, cancel := e.ctx()
	defer cancel()
	r, err := e.c.doIdempotent(ctx, request{method: http.MethodGet, path: "/v1/orders/" + url.PathEscape(id) + "/timeline", token: tok})
	if err != nil || r.Status != http.StatusOK {
		e.tb.Fatalf("GET the timeline of order %s (%s): %v %v, want 200", name, id, r, err)
	}
	var tl struct {
		Entries []TimelineEntry `json:"entries"`
	}
	if err := r.decode(&tl); err != nil {
		e.tb.Fatal(err)
	}
	return tl.Entries
}

// SetFaults sets the stack's faults (PUT /v1/admin/faults) and makes sure
// they are turned off again when the scenario ends.
func (e *Env) SetFaults(f Faults) {
	e.tb.Helper()
	e.putFaults(f)
	e.tb.Cleanup(func() {
		ctx, cancel := e.ctx()
		defer cancel()
		tok, err := e.creds.operatorToken()
		if err != nil {
			e.tb.Errorf("turning faults off: %v", err)
			return
		}
		r, err := e.c.doIdempotent(ctx, request{method: http.MethodPut, path: "/v1/admin/faults", body: jsonBody(noFaults()), token: tok})
		if err != nil || r.Status != http.StatusOK {
			e.tb.Errorf("turning faults off: %v %v", r, err)
		}
	})
}

// ResetFaults turns every fault of the stack off.
func (e *Env) ResetFaults() {
	e.tb.Helper()
	e.putFaults(noFaults())
}

func (e *Env) putFaults(f Faults) {
	e.tb.Helper()
	ctx, cancel := e.ctx()
	defer cancel()
	r, err := e.c.doIdempotent(ctx, request{method: http.MethodPut, path: "/v1/admin/faults", body: jsonBody(f), token: e.operator()})
	if err != nil {
		e.tb.Fatal(err)
	}
	if r.Status != http.StatusOK {
		e.tb.Fatalf("PUT /v1/admin/faults %s: %v, want 200 (the stack must run with fault injection enabled)", jsonBody(f), r)
	}
}

// product reads one product, as the operator.
func (e *Env) product(ctx context.Context, sku string) (Product, error) {
	tok, err := e.creds.operatorToken()
	if err != nil {
		return Product{}, err
	}
	r, err := e.c.doIdempotent(ctx, request{method: http.MethodGet, path: "/v1/products/" + url.PathEscape(sku), token: tok})
	if err != nil {
		return Product{}, err
	}
	if r.Status != http.StatusOK {
		return Product{}, fmt.Errorf("GET product %s: %v, want 200", sku, r)
	}
	var p Product
	return p, r.decode(&p)
}

// customer reads one customer, as the operator.
func (e *Env) customer(ctx context.Context, id string) (Customer, error) {
	tok, err := e.creds.operatorToken()
	if err != nil {
		return Customer{}, err
	}
	r, err := e.c.doIdempotent(ctx, request{method: http.MethodGet, path: "/v1/customers/" + url.PathEscape(id), token: tok})
	if err != nil {
		return Customer{}, err
	}
	if r.Status != http.StatusOK {
		return Customer{}, fmt.Errorf("GET customer %s: %v, want 200", id, r)
	}
	var c Customer
	return c, r.decode(&c)
}

// settled reports whether an order has nothing left to do: final, and if
// it failed or was cancelled, every done step compensated.
func settled(o Order) bool {
	if !o.Status.Final() {
		return false
	}
	if o.Status == domain.StatusCompleted {
		return true
	}
	for _, s := range o.Steps {
		if s.Status == domain.StepDone || s.Status == domain.StepPending {
			return false
		}
	}
	return true
}

// Finish waits until every tracked order is final and the stack is quiet
// for the scenario's data, then returns the final state as a Result. Quiet
// means every order settled (final; if failed or cancelled, no step left
// done) and the invariants on stock and credit holding: compensations may
// end after an order's status is final, so the stack gets FinalWithin
// after the orders are final to get there. Past that, Finish returns the
// state as it is and the invariants report it. It does not itself check
// the invariants (see CheckInvariants).
func (e *Env) Finish() Result {
	e.tb.Helper()
	e.WaitFinal()
	names := e.trackedNames()
	quietBy := time.Now().Add(e.tg.FinalWithin)
	for delay := 5 * time.Millisecond; ; delay = min(delay*2, 200*time.Millisecond) {
		r := e.result(names)
		if quiet(r) {
			return r
		}
		if time.Now().After(quietBy) {
			e.tb.Logf("the stack was not quiet %v after the orders were final; checking the state as it is", e.tg.FinalWithin)
			return r
		}
		time.Sleep(delay)
		var busy []string
		for _, n := range names {
			if !settled(r.Orders[n].order()) {
				busy = append(busy, n)
			}
		}
		if err := e.readOrders(busy); err != nil {
			e.tb.Fatal(err)
		}
	}
}

// readProducts reads the scenario's products.
func (e *Env) readProducts() map[string]Product {
	e.tb.Helper()
	ctx, cancel := e.ctx()
	defer cancel()
	e.mu.Lock()
	skus := make(map[string]string, len(e.products))
	for n, p := range e.products {
		skus[n] = p.SKU
	}
	e.mu.Unlock()
	out := make(map[string]Product, len(skus))
	for n, sku := range skus {
		p, err := e.product(ctx, sku)
		if err != nil {
			e.tb.Fatal(err)
		}
		out[n] = p
	}
	return out
}

// result reads the final stock and credit and builds the Result.
func (e *Env) result(names []string) Result {
	e.tb.Helper()
	ps := e.readProducts()
	ctx, cancel := e.ctx()
	defer cancel()
	e.mu.Lock()
	customers := make(map[string]CustomerResult, len(e.customers))
	for n, c := range e.customers {
		customers[n] = c
	}
	e.mu.Unlock()
	for n, c := range customers {
		got, err := e.customer(ctx, c.ID)
		if err != nil {
			e.tb.Fatal(err)
		}
		c.Credit = got.CreditCents
		customers[n] = c
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	r := Result{
		Scenario:    e.scenario,
		Target:      e.tg.Name,
		FinalWithin: e.tg.FinalWithin,
		Steps:       e.tg.Saga.Names(),
		Orders:      make(map[string]OrderResult, len(names)),
		Products:    make(map[string]ProductResult, len(ps)),
		Customers:   customers,
	}
	var first, last time.Time
	for _, n := range names {
		tr := e.orders[n]
		o := tr.last
		or := OrderResult{
			ID: tr.id, CustomerID: o.CustomerID, Items: o.Items, TotalCents: o.TotalCents,
			Status: o.Status, FailureReason: o.FailureReason, Steps: o.Steps, TrackingNumber: o.TrackingNumber,
		}
		if !tr.finalAt.IsZero() {
			or.Took = tr.finalAt.Sub(tr.placed)
			last = later(last, tr.finalAt)
		}
		if first.IsZero() || tr.placed.Before(first) {
			first = tr.placed
		}
		r.Orders[n] = or
	}
	if !first.IsZero() && !last.IsZero() {
		r.Elapsed = last.Sub(first)
	}
	for n, p := range ps {
		pr := e.products[n]
		pr.Available, pr.Reserved = p.Available, p.Reserved
		r.Products[n] = pr
	}
	return r
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
