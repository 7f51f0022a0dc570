package chaos

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/proctest"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/scenario"
)

// Disruption is what a chaos scenario does to the cluster in the middle of
// its burst.
type Disruption struct {
	// Scenario is the scenario's name; What says what it does, for a
	// report.
	Scenario, What string
	// Orders is how many orders the burst places.
	Orders int
	// StrikeAfter orders must have been accepted before the strike
	// (strikeAfter when 0).
	StrikeAfter int
	// afterStep, when set, holds the strike until an order of the burst
	// has that step done, so the service it hits has work in hand.
	afterStep domain.StepName
	// strike disrupts the cluster in the middle of burst b and repairs
	// it, returning once it is back; nil places the burst undisturbed.
	strike func(tb testing.TB, b *burst)
	// failsPosts says the strike takes the orders process away, so some
	// POSTs must fail and be sent again.
	failsPosts bool
	// finalWithin bounds how long each order may take to become final
	// (finalBound when 0).
	finalWithin time.Duration
	// gaveUpWithin, when set, bounds how long after the cluster is back
	// each order whose POST took the infrastructure's callTimeout (the
	// orders process gave up waiting for it and stored the order without
	// a saga) may take to become final; the strike must leave at least one
	// such order.
	gaveUpWithin time.Duration
}

// Undisturbed is a burst of n orders with nothing done to the cluster: a
// warm-up or a baseline.
func Undisturbed(scenario, what string, n int) Disruption {
	return Disruption{Scenario: scenario, What: what, Orders: n}
}

// stepOf is the saga step each service role performs.
var stepOf = map[hosted.Role]domain.StepName{
	hosted.RoleInventory: domain.StepInventory,
	hosted.RolePayment:   domain.StepPayment,
	hosted.RoleShipping:  domain.StepShipping,
}

// KillRestart is a burst of n orders during which the process of role r is
// killed with SIGKILL and started again on the same address and data, once
// an order has the step of r done (for a step's service).
func (c *Cluster) KillRestart(r hosted.Role, n int) Disruption {
	return Disruption{
		Scenario:   "kill_" + string(r),
		What:       "kill -9 " + string(r) + ", restart",
		Orders:     n,
		afterStep:  stepOf[r],
		failsPosts: r == hosted.RoleOrders,
		strike: func(tb testing.TB, _ *burst) {
			c.kill(r)
			c.restart(tb, r)
		},
	}
}

// PaymentDBOutage is a burst of n orders during which the payment database
// refuses connections for d, once an order has its inventory step done:
// the services keep running and every transaction of payment fails until
// it is back; its actions and compensations are retried (redelivered, in
// the choreography) and the orders end as designed. The payment database
// must be on PostgreSQL (PaymentOnPostgres).
func (c *Cluster) PaymentDBOutage(d time.Duration, n int) Disruption {
	return Disruption{
		Scenario:  "payment_db_outage",
		What:      fmt.Sprintf("payment database refuses connections %v", d),
		Orders:    n,
		afterStep: domain.StepInventory,
		strike:    func(tb testing.TB, _ *burst) { c.dbOutage(tb, d) },
	}
}

// InfraOutage is a burst of n orders during which the broker or the
// Temporal server is stopped for d and started again on the same address
// and data, once an order has its inventory step done.
func (c *Cluster) InfraOutage(d time.Duration, n int) Disruption {
	return Disruption{
		Scenario:    c.infra.name() + "_outage",
		What:        fmt.Sprintf("%s down %v, restart", c.infra.name(), d),
		Orders:      n,
		afterStep:   domain.StepInventory,
		finalWithin: c.infra.outageBound(),
		strike: func(tb testing.TB, _ *burst) {
			c.infra.stop()
			time.Sleep(d) // the outage itself
			c.infra.start(tb)
		},
	}
}

// Measure is what one chaos scenario measured.
type Measure struct {
	Scenario, What string
	// Orders were planned.
	Orders int
	// Bound is how long each order was allowed to take to become final.
	Bound time.Duration
	// AcceptedAtStrike orders were accepted, FinalAtStrike of them final
	// (-1: not looked at), when the strike began.
	AcceptedAtStrike, FinalAtStrike int
	// Down runs from the strike until the restarted process was ready or
	// the restarted server answered (0: no strike).
	Down time.Duration
	// ConnErrors POST attempts got no answer, Unavailable got 503: each
	// was sent again. SlowestPost is the longest time from an order's first
	// POST to its acceptance.
	ConnErrors, Unavailable int64
	SlowestPost             time.Duration
	// AfterStrike runs from the strike until the last order was final, and
	// AfterBack from the cluster being back until then; MedianOrder and
	// SlowestOrder are the median and the longest time from an order's
	// first POST to its final state; Elapsed runs from the first POST to
	// the last final.
	AfterStrike, AfterBack, MedianOrder, SlowestOrder, Elapsed time.Duration
	// Lost counts the accepted orders that did not end final or that the
	// orders service does not list; Doubled the listings of an order
	// beyond its first, and of orders no POST was accepted for.
	Lost, Doubled int
	// GaveUp orders had their POST take the infrastructure's callTimeout;
	// the last of them was final GaveUpAfterBack after it was back.
	GaveUp          int
	GaveUpAfterBack time.Duration
}

// Retried returns how many POST attempts were sent again.
func (m Measure) Retried() int64 { return m.ConnErrors + m.Unavailable }

// RunDisruption runs one chaos scenario on the cluster as a scenario of the
// shared suite (which checks the invariants on its result), reporting
// through tb every order that did not end as designed, exactly once,
// within the bound, and returns what it measured.
func RunDisruption(tb testing.TB, c *Cluster, d Disruption) Measure {
	tb.Helper()
	m := Measure{Scenario: d.Scenario, What: d.What, Orders: d.Orders, FinalAtStrike: -1, Bound: cmp.Or(d.finalWithin, finalBound)}
	strikeAt := cmp.Or(d.StrikeAfter, strikeAfter)
	tg := scenario.Target{Name: string(c.variant), BaseURL: c.api, FinalWithin: m.Bound, Concurrency: burstClients, Keys: proctest.Keys(tb)}
	scenario.RunScenario(tb, tg, scenario.Scenario{Name: d.Scenario, Run: func(tb testing.TB, e *scenario.Env) scenario.Result {
		p := newPlan(e, d.Orders)
		prefix := strings.TrimSuffix(e.ID("x"), "x")
		b := startBurst(e, c.procs[hosted.RoleOrders].URL, p, strikeAt)
		var struck, back time.Time
		if d.strike != nil {
			select {
			case <-b.reached:
			case <-b.done:
				tb.Fatalf("the burst ended before %d orders were accepted: %v", strikeAt, b.wait())
			}
			if d.afterStep != "" {
				m.FinalAtStrike = waitForStep(tb, c.api, prefix, d.afterStep)
			}
			m.AcceptedAtStrike = int(b.accepted.Load())
			if m.AcceptedAtStrike == d.Orders && m.FinalAtStrike == d.Orders {
				tb.Errorf("every order was final before the strike: it hit nothing in flight")
			}
			struck = time.Now()
			d.strike(tb, b)
			back = time.Now()
			m.Down = back.Sub(struck)
		}
		if err := b.wait(); err != nil {
			tb.Fatalf("placing the burst: %v", err)
		}
		res := e.Finish()
		p.check(tb, res)
		m.Lost, m.Doubled = checkListedOnce(tb, c.api, prefix, res)

		m.ConnErrors, m.Unavailable = b.connErrors.Load(), b.unavailable.Load()
		if d.failsPosts && m.ConnErrors == 0 {
			tb.Errorf("no POST failed while the orders process was down: the kill missed the burst")
		}
		m.SlowestPost = time.Duration(b.slowestPost.Load())
		m.MedianOrder, m.SlowestOrder, m.Elapsed = median(res), res.MaxTook(), res.Elapsed
		if !back.IsZero() {
			m.AfterBack = b.start.Add(res.Elapsed).Sub(back)
			m.AfterStrike = b.start.Add(res.Elapsed).Sub(struck)
		}
		if d.gaveUpWithin > 0 {
			m.GaveUp, m.GaveUpAfterBack = checkGaveUp(tb, res, b.slowPosts(c.infra.callTimeout()), back, d.gaveUpWithin)
		}
		return res
	}})
	return m
}

// checkGaveUp reports through tb every order of gaveUp (first sent at the
// time given) that did not become final within bound of back, and the
// strike when no order gave up; it returns how many did and how long after
// back the last of them was final.
func checkGaveUp(tb testing.TB, res scenario.Result, gaveUp map[string]time.Time, back time.Time, bound time.Duration) (int, time.Duration) {
	tb.Helper()
	if len(gaveUp) == 0 {
		tb.Errorf("no POST gave up waiting for the infrastructure: the outage was too short to test the orders stored without a saga")
	}
	var last time.Duration
	for name, placed := range gaveUp {
		o, ok := res.Orders[name]
		if !ok {
			continue // p.check reports it
		}
		after := placed.Add(o.Took).Sub(back)
		last = max(last, after)
		if after > bound {
			tb.Errorf("order %s (%s), whose POST gave up waiting for the infrastructure, was final %v after it was back, over the bound %v",
				name, o.ID, after.Round(time.Millisecond), bound)
		}
	}
	return len(gaveUp), last
}

// waitForStep polls the orders whose ids start with prefix until one has
// the step done, and returns how many of them were final then. It fails tb
// after stepWithin.
func waitForStep(tb testing.TB, api, prefix string, step domain.StepName) int {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepWithin)
	defer cancel()
	for {
		orders, err := listOrders(ctx, proctest.Operator(tb), api, prefix)
		if err != nil {
			tb.Fatalf("waiting for an order with its %s step done: %v", step, err)
		}
		done, final := false, 0
		for _, ls := range orders {
			for _, o := range ls {
				done = done || o.stepStatus(step) == domain.StepDone
				if o.Status.Final() {
					final++
				}
			}
		}
		if done {
			return final
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("no order had its %s step done within %v", step, stepWithin)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// checkListedOnce reports through tb every order of r that the orders
// service does not list exactly once with the final state r saw, and every
// order of the scenario it lists that no POST was accepted for: an order
// must end final exactly once, and never change once final. It returns the
// orders lost (accepted, and not final or not listed) and the listings too
// many (of an order listed more than once, or of one never accepted).
func checkListedOnce(tb testing.TB, api, prefix string, r scenario.Result) (lost, doubled int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	orders, err := listOrders(ctx, proctest.Operator(tb), api, prefix)
	if err != nil {
		tb.Fatal(err)
	}
	for _, name := range r.OrderNames() {
		o := r.Orders[name]
		ls := orders[o.ID]
		if len(ls) == 0 || !o.Status.Final() {
			lost++
		}
		doubled += max(0, len(ls)-1)
		switch {
		case len(ls) != 1:
			tb.Errorf("order %s (%s) is listed %d times, want once", name, o.ID, len(ls))
		case ls[0].Status != o.Status || ls[0].FailureReason != o.FailureReason:
			tb.Errorf("order %s (%s) was final as %q %q, now listed as %q %q: it changed once final",
				name, o.ID, o.Status, o.FailureReason, ls[0].Status, ls[0].FailureReason)
		}
		delete(orders, o.ID)
	}
	for id, ls := range orders {
		doubled += len(ls)
		tb.Errorf("order %s is listed %d times, but no POST was accepted for it", id, len(ls))
	}
	return lost, doubled
}

// median returns the median time the orders of r took to become final.
func median(r scenario.Result) time.Duration {
	var took []time.Duration
	for _, o := range r.Orders {
		took = append(took, o.Took)
	}
	if len(took) == 0 {
		return 0
	}
	slices.Sort(took)
	return took[len(took)/2]
}
