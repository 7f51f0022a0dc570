package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/scenario"
)

// BurstClients is how many clients place a burst's orders at once.
const BurstClients = burstClients

// FinalBound bounds how long an order of a burst may take to become final
// once first sent (retries of its POST included).
const FinalBound = finalBound

// The size and the bounds of a chaos scenario.
const (
	// burstOrders orders are placed by burstClients clients at once.
	burstOrders  = 60
	burstClients = 8
	// strikeAfter orders must have been accepted before the disruption
	// strikes, so it lands in the middle of the burst (unless the
	// disruption says otherwise: Disruption.StrikeAfter).
	strikeAfter = 20
	// finalBound bounds how long an order may take to become final once
	// first sent (retries of its POST included), and how long the stack may
	// take to become quiet after that.
	finalBound = 60 * time.Second
	// stepWithin bounds the wait for the step a disruption waits for.
	stepWithin = 30 * time.Second
	// outageFor is how long the broker or the Temporal server stays down.
	outageFor = 3 * time.Second
	// dbOutageFor is how long the payment database refuses connections:
	// longer than the quick retries of the choreographed consumers (at
	// most 15 attempts, about 8 s) and well within the 2-minute step
	// deadline.
	dbOutageFor = 12 * time.Second
	// reconciledWithin bounds how long after the Temporal server is back an
	// order whose POST gave up on Temporal may take to become final: the
	// processes reconnect within a second, the orders process's reconciler
	// starts its saga (it looks every 2 s for pending orders at least 5 s
	// old without one), then the saga runs.
	reconciledWithin = 10 * time.Second
	// postTimeout bounds one attempt of a POST.
	postTimeout = 30 * time.Second
)

// outcome is the final state an order is designed to reach.
type outcome struct {
	status domain.Status
	reason domain.FailureReason
	steps  [3]domain.StepStatus // inventory, payment, shipping
}

var (
	completed           = outcome{domain.StatusCompleted, "", [3]domain.StepStatus{domain.StepDone, domain.StepDone, domain.StepDone}}
	outOfStock          = outcome{domain.StatusFailed, domain.ReasonOutOfStock, [3]domain.StepStatus{domain.StepFailed, domain.StepSkipped, domain.StepSkipped}}
	paymentDeclined     = outcome{domain.StatusFailed, domain.ReasonPaymentDeclined, [3]domain.StepStatus{domain.StepCompensated, domain.StepFailed, domain.StepSkipped}}
	shippingUnavailable = outcome{domain.StatusFailed, domain.ReasonShippingUnavailable, [3]domain.StepStatus{domain.StepCompensated, domain.StepCompensated, domain.StepFailed}}
)

// stepNames are the saga's steps in the order of outcome.steps.
var stepNames = [3]domain.StepName{domain.StepInventory, domain.StepPayment, domain.StepShipping}

// plan is a burst designed so that every order's outcome is known whatever
// the timing: stock and credit are ample except where an order is meant
// to fail.
type plan struct {
	names []string
	reqs  []scenario.OrderRequest
	want  map[string]outcome
	// stock and credit are how much each product's stock and each
	// customer's credit must change (by name).
	stock  map[string]int64
	credit map[string]int64
}

// newPlan creates the scenario's products and customers and designs n
// orders: one in ten asks for more of a product than it will ever have
// (out_of_stock), one in ten is by a customer who cannot pay
// (payment_declined, inventory released), one in ten ships to AQ, which no
// shipping service serves (shipping_unavailable, payment refunded and
// inventory released); the others complete.
func newPlan(e *scenario.Env, n int) plan {
	prices := [3]int64{300, 500, 700}
	var skus [3]string
	p := plan{want: map[string]outcome{}, stock: map[string]int64{}, credit: map[string]int64{}}
	for k, price := range prices {
		skus[k] = e.Product(fmt.Sprintf("p%d", k), price, 1000)
		p.stock[fmt.Sprintf("p%d", k)] = 0
	}
	few := e.Product("few", 100, 2)
	p.stock["few"] = 0
	countries := [4]string{"DE", "NL", "GB", "US"}
	var customers [4]string
	for k := range customers {
		customers[k] = e.Customer(fmt.Sprintf("c%d", k), 1_000_000)
		p.credit[fmt.Sprintf("c%d", k)] = 0
	}
	poor := e.Customer("poor", 100)
	p.credit["poor"] = 0
	for i := range n {
		name := fmt.Sprintf("o-%03d", i)
		c := i % len(customers)
		var req scenario.OrderRequest
		switch i % 10 {
		case 3:
			req = e.Request(name, customers[c], "DE", scenario.Line{SKU: skus[0], Quantity: 1}, scenario.Line{SKU: few, Quantity: 5})
			p.want[name] = outOfStock
		case 5:
			req = e.Request(name, poor, "DE", scenario.Line{SKU: skus[1], Quantity: 1})
			p.want[name] = paymentDeclined
		case 7:
			req = e.Request(name, customers[c], "AQ", scenario.Line{SKU: skus[2], Quantity: 2})
			p.want[name] = shippingUnavailable
		default:
			a, b, qb := i%3, (i+1)%3, int64(i%3+1)
			req = e.Request(name, customers[c], countries[c], scenario.Line{SKU: skus[a], Quantity: 1}, scenario.Line{SKU: skus[b], Quantity: qb})
			p.want[name] = completed
			p.stock[fmt.Sprintf("p%d", a)]--
			p.stock[fmt.Sprintf("p%d", b)] -= qb
			p.credit[fmt.Sprintf("c%d", c)] -= prices[a] + qb*prices[b]
		}
		p.names = append(p.names, name)
		p.reqs = append(p.reqs, req)
	}
	return p
}

// check reports through tb every order of r that did not end as designed,
// and every product or customer whose stock or credit did not change by
// exactly what the completed orders took.
func (p plan) check(tb testing.TB, r scenario.Result) {
	tb.Helper()
	if len(r.Orders) != len(p.names) {
		tb.Errorf("%d orders accepted and tracked, want %d", len(r.Orders), len(p.names))
	}
	for _, name := range p.names {
		o, ok := r.Orders[name]
		if !ok {
			tb.Errorf("order %s: never accepted", name)
			continue
		}
		w := p.want[name]
		got := [3]domain.StepStatus{}
		for _, s := range o.Steps {
			for i, n := range stepNames {
				if s.Step == n {
					got[i] = s.Status
				}
			}
		}
		if o.Status != w.status || o.FailureReason != w.reason || got != w.steps {
			tb.Errorf("order %s (%s) ended %q %q with steps %v, want %q %q %v", name, o.ID, o.Status, o.FailureReason, got, w.status, w.reason, w.steps)
		}
	}
	for name, want := range p.stock {
		if got := r.Products[name].StockDelta(); got != want {
			tb.Errorf("product %s: stock changed by %d, want %d (%+v)", name, got, want, r.Products[name])
		}
	}
	for name, want := range p.credit {
		if got := r.Customers[name].CreditDelta(); got != want {
			tb.Errorf("customer %s: credit changed by %d, want %d (%+v)", name, got, want, r.Customers[name])
		}
	}
}

// burst places a plan's orders straight at the orders process from
// burstClients goroutines. Each POST carries its order_id and is sent
// again after a connection error or a 503 until it is accepted (202, or
// 200 for a retry whose earlier answer was lost) or finalBound has passed.
// Accepted orders are tracked by the Env. The goroutines never touch the
// test; wait returns what went wrong.
type burst struct {
	e      *scenario.Env
	orders string // the orders process's base URL
	hc     *http.Client
	plan   plan
	start  time.Time

	accepted    atomic.Int64
	connErrors  atomic.Int64 // POST attempts that got no answer
	unavailable atomic.Int64 // POST attempts answered 503
	slowestPost atomic.Int64 // nanoseconds from first attempt to acceptance

	strikeAt  int           // accepted orders that close reached
	reached   chan struct{} // closed once strikeAt orders are accepted
	reachOnce sync.Once
	done      chan struct{} // closed when every goroutine ended

	// gate is held for reading by each POST attempt; hold takes it to
	// let no POST start until release.
	gate sync.RWMutex

	mu   sync.Mutex
	errs []error
	// posts holds when each accepted order's POST was first sent and when
	// it was accepted, by name.
	posts map[string]post
}

// post is when an order's POST was first sent and when it was accepted.
type post struct {
	placed, accepted time.Time
}

// startBurst starts placing the plan's orders; b.reached is closed once
// strikeAt of them are accepted.
func startBurst(e *scenario.Env, orders string, p plan, strikeAt int) *burst {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = burstClients
	b := &burst{
		e: e, orders: orders, plan: p, start: time.Now(), strikeAt: strikeAt,
		hc:      &http.Client{Timeout: postTimeout, Transport: tr},
		reached: make(chan struct{}),
		done:    make(chan struct{}),
		posts:   map[string]post{},
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range burstClients {
		wg.Go(func() {
			for i := range next {
				if err := b.place(i); err != nil {
					b.mu.Lock()
					b.errs = append(b.errs, err)
					b.mu.Unlock()
				}
			}
		})
	}
	go func() {
		for i := range p.names {
			next <- i
		}
		close(next)
		wg.Wait()
		tr.CloseIdleConnections()
		close(b.done)
	}()
	return b
}

// place sends one order until it is accepted.
func (b *burst) place(i int) error {
	name, req := b.plan.names[i], b.plan.reqs[i]
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encoding order %s: %w", name, err)
	}
	placed := time.Now()
	retried := false
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 250*time.Millisecond) {
		b.gate.RLock()
		status, answer, err := b.post(req.CustomerID, body)
		b.gate.RUnlock()
		switch {
		case err != nil:
			b.connErrors.Add(1)
		case status == http.StatusServiceUnavailable:
			b.unavailable.Add(1)
		case status == http.StatusAccepted || (retried && status == http.StatusOK):
			var o scenario.Order
			if err := json.Unmarshal(answer, &o); err != nil || o.OrderID != req.OrderID {
				return fmt.Errorf("order %s: POST answered %d %s (%v), want the order %s", name, status, answer, err, req.OrderID)
			}
			accepted := time.Now()
			took := accepted.Sub(placed)
			b.e.Track(name, o.OrderID, placed)
			b.mu.Lock()
			b.posts[name] = post{placed: placed, accepted: accepted}
			b.mu.Unlock()
			for {
				old := b.slowestPost.Load()
				if int64(took) <= old || b.slowestPost.CompareAndSwap(old, int64(took)) {
					break
				}
			}
			if b.accepted.Add(1) >= int64(b.strikeAt) {
				b.reachOnce.Do(func() { close(b.reached) })
			}
			return nil
		default:
			return fmt.Errorf("order %s: POST answered %d %s, want 202 (or 200 on a retry)", name, status, answer)
		}
		if time.Since(placed) > finalBound {
			return fmt.Errorf("order %s: not accepted within %v (last: %d %s, %v)", name, finalBound, status, answer, err)
		}
		retried = true
		time.Sleep(delay) // back off before sending it again
	}
}

// post sends POST /v1/orders once, with the customer's own token.
func (b *burst) post(customerID string, body []byte) (int, []byte, error) {
	token, err := b.e.CustomerToken(customerID)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest(http.MethodPost, b.orders+"/v1/orders", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := b.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	return resp.StatusCode, answer, err
}

// hold waits until no POST is in flight and lets none start until
// release: a disruption that strikes in between hits no POST half-way, and
// every POST after it meets the disruption.
func (b *burst) hold() { b.gate.Lock() }

// release lets the POSTs held by hold go.
func (b *burst) release() { b.gate.Unlock() }

// slowPosts returns the names of the orders whose POST took at least d
// to be accepted, with when each was first sent. Call it after wait.
func (b *burst) slowPosts(d time.Duration) map[string]time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]time.Time{}
	for name, p := range b.posts {
		if p.accepted.Sub(p.placed) >= d {
			out[name] = p.placed
		}
	}
	return out
}

// wait waits until every order was sent and returns what went wrong.
func (b *burst) wait() error {
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	return errors.Join(b.errs...)
}

// listed is one order as GET /v1/orders lists it.
type listed struct {
	OrderID       string               `json:"order_id"`
	Status        domain.Status        `json:"status"`
	FailureReason domain.FailureReason `json:"failure_reason"`
	Steps         []scenario.Step      `json:"steps"`
}

// listOrders pages through GET /v1/orders and returns every listing of
// each order whose id starts with prefix, by id: an order listed twice
// shows up twice.
func listOrders(ctx context.Context, hc *http.Client, api, prefix string) (map[string][]listed, error) {
	out := map[string][]listed{}
	cursor := ""
	for {
		u := api + "/v1/orders?limit=200"
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("listing orders: %w", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("listing orders: %d %s (%v)", resp.StatusCode, body, err)
		}
		var page struct {
			Orders     []listed `json:"orders"`
			NextCursor string   `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("listing orders: %w", err)
		}
		for _, o := range page.Orders {
			if strings.HasPrefix(o.OrderID, prefix) {
				out[o.OrderID] = append(out[o.OrderID], o)
			}
		}
		if page.NextCursor == "" {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

// stepStatus returns the status of the named step of a listed order.
func (o listed) stepStatus(n domain.StepName) domain.StepStatus {
	for _, s := range o.Steps {
		if s.Step == n {
			return s.Status
		}
	}
	return ""
}
