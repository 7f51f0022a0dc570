package chaos_test

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/deploy/internal/proctest"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/scenario"
)

// ordersaga is the binary under test, built once per test binary.
var ordersaga = &proctest.Binary{Package: "github.com/ordersaga/ordersaga/deploy/cmd/ordersaga"}

func TestMain(m *testing.M) {
	code := m.Run()
	ordersaga.Remove()
	os.Exit(code)
}

func TestChoreographed_ServiceKilledOrBrokerDownMidBurst_EveryOrderEndsFinalOnceNothingLostOrDoubled(t *testing.T) {
	skipShort(t)
	t.Parallel()
	runChaos(t, startCluster(t, process.Choreographed, newBroker(t)))
}

func TestOrchestrated_ServiceKilledOrTemporalDownMidBurst_EveryOrderEndsFinalOnceNothingLostOrDoubled(t *testing.T) {
	skipShort(t)
	t.Parallel()
	runChaos(t, startCluster(t, process.Orchestrated, newTemporal(t)))
}

// skipShort skips a chaos test in -short mode: each takes a minute or two.
func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos tests kill and restart processes for a minute or two")
	}
}

// disruption is what a chaos scenario does to the cluster in the middle of
// its burst.
type disruption struct {
	scenario string // the scenario's name
	what     string // what it does, for the report
	orders   int    // how many orders the burst places
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

// measure is what one chaos scenario measured.
type measure struct {
	scenario, what string
	// bound is how long each order was allowed to take to become final.
	bound time.Duration
	// acceptedAtStrike orders were accepted, finalAtStrike of them final
	// (-1: not looked at), when the strike began.
	acceptedAtStrike, finalAtStrike int
	// down runs from the strike until the restarted process was ready or
	// the restarted server answered.
	down time.Duration
	// connErrors POST attempts got no answer, unavailable got 503;
	// slowestPost is the longest time from an order's first POST to its
	// acceptance.
	connErrors, unavailable int64
	slowestPost             time.Duration
	// afterBack runs from the cluster being back until the last order was
	// final; medianOrder and slowestOrder are the median and the longest
	// time from an order's first POST to its final state; elapsed runs
	// from the first POST to the last final.
	afterBack, medianOrder, slowestOrder, elapsed time.Duration
	// gaveUp orders had their POST take the infrastructure's callTimeout;
	// the last of them was final gaveUpAfterBack after it was back.
	gaveUp          int
	gaveUpAfterBack time.Duration
}

// stepOf is the saga step each service role performs.
var stepOf = map[hosted.Role]domain.StepName{
	hosted.RoleInventory: domain.StepInventory,
	hosted.RolePayment:   domain.StepPayment,
	hosted.RoleShipping:  domain.StepShipping,
}

// runChaos runs the chaos scenarios on the cluster one after another: a
// warm-up and an undisturbed burst (the baseline), a burst with each
// service's process killed and restarted, and a burst with the
// infrastructure down for outageFor. It logs what each measured.
func runChaos(t *testing.T, c *cluster) {
	ds := []disruption{
		{scenario: "warm_up", what: "none (first orders)", orders: 4},
		{scenario: "baseline", what: "none", orders: burstOrders},
	}
	for _, r := range hosted.AllRoles() {
		ds = append(ds, disruption{
			scenario:   "kill_" + string(r),
			what:       "kill -9 " + string(r) + ", restart",
			orders:     burstOrders,
			afterStep:  stepOf[r],
			failsPosts: r == hosted.RoleOrders,
			strike: func(tb testing.TB, _ *burst) {
				c.kill(r)
				c.restart(tb, r)
			},
		})
	}
	// The payment database away for longer than the quick retries: the
	// services keep running and every transaction of payment fails until
	// it is back; its actions and compensations are retried (redelivered,
	// in the choreography) and the orders end as designed.
	ds = append(ds, disruption{
		scenario:  "payment_db_outage",
		what:      fmt.Sprintf("payment database refuses connections %v", dbOutageFor),
		orders:    burstOrders,
		afterStep: domain.StepInventory,
		strike:    func(tb testing.TB, _ *burst) { c.dbOutage(tb, dbOutageFor) },
	})
	outage := func(d time.Duration) func(tb testing.TB, b *burst) {
		return func(tb testing.TB, _ *burst) {
			c.infra.stop()
			time.Sleep(d) // the outage itself
			c.infra.start(tb)
		}
	}
	ds = append(ds, disruption{
		scenario:    c.infra.name() + "_outage",
		what:        fmt.Sprintf("%s down %v, restart", c.infra.name(), outageFor),
		orders:      burstOrders,
		afterStep:   domain.StepInventory,
		finalWithin: c.infra.outageBound(),
		strike:      outage(outageFor),
	})
	if t := c.infra.callTimeout(); t > 0 {
		// Down for longer than the processes wait for it: the POSTs sent
		// once it is down give up on it, their orders stored without a
		// saga. No POST is let through while it stops, so that the first
		// ones after the strike surely meet it down.
		long := t + outageFor
		ds = append(ds, disruption{
			scenario:     c.infra.name() + "_outage_long",
			what:         fmt.Sprintf("%s down %v, restart", c.infra.name(), long),
			orders:       burstOrders,
			finalWithin:  c.infra.outageBound(),
			gaveUpWithin: reconciledWithin,
			strike: func(tb testing.TB, b *burst) {
				b.hold()
				c.infra.stop()
				b.release()
				time.Sleep(long) // the outage itself
				c.infra.start(tb)
			},
		})
	}
	var ms []measure
	for _, d := range ds {
		if !t.Run(d.scenario, func(t *testing.T) { ms = append(ms, runDisruption(t, c, d)) }) {
			// The cluster may be left broken; later scenarios would only
			// wait out their bounds.
			t.Logf("%s failed: the scenarios after it do not run", d.scenario)
			break
		}
	}
	t.Logf("%s (%d orders a burst, %d clients):\n%s", c.variant, burstOrders, burstClients, table(ms))
}

// runDisruption runs one chaos scenario as a scenario of the shared suite
// (which checks the invariants on its result) and returns what it
// measured.
func runDisruption(t *testing.T, c *cluster, d disruption) measure {
	m := measure{scenario: d.scenario, what: d.what, finalAtStrike: -1, bound: cmp.Or(d.finalWithin, finalBound)}
	tg := scenario.Target{Name: string(c.variant), BaseURL: c.api, FinalWithin: m.bound, Concurrency: burstClients, Keys: proctest.Keys(t)}
	scenario.RunScenario(t, tg, scenario.Scenario{Name: d.scenario, Run: func(tb testing.TB, e *scenario.Env) scenario.Result {
		p := newPlan(e, d.orders)
		prefix := strings.TrimSuffix(e.ID("x"), "x")
		b := startBurst(e, c.procs[hosted.RoleOrders].URL, p)
		var back time.Time
		if d.strike != nil {
			select {
			case <-b.reached:
			case <-b.done:
				tb.Fatalf("the burst ended before %d orders were accepted: %v", strikeAfter, b.wait())
			}
			if d.afterStep != "" {
				m.finalAtStrike = waitForStep(tb, c.api, prefix, d.afterStep)
			}
			m.acceptedAtStrike = int(b.accepted.Load())
			if m.acceptedAtStrike == d.orders && m.finalAtStrike == d.orders {
				tb.Errorf("every order was final before the strike: it hit nothing in flight")
			}
			struck := time.Now()
			d.strike(tb, b)
			back = time.Now()
			m.down = back.Sub(struck)
		}
		if err := b.wait(); err != nil {
			tb.Fatalf("placing the burst: %v", err)
		}
		res := e.Finish()
		p.check(tb, res)
		checkListedOnce(tb, c.api, prefix, res)

		m.connErrors, m.unavailable = b.connErrors.Load(), b.unavailable.Load()
		if d.failsPosts && m.connErrors == 0 {
			tb.Errorf("no POST failed while the orders process was down: the kill missed the burst")
		}
		m.slowestPost = time.Duration(b.slowestPost.Load())
		m.medianOrder, m.slowestOrder, m.elapsed = median(res), res.MaxTook(), res.Elapsed
		if !back.IsZero() {
			m.afterBack = b.start.Add(res.Elapsed).Sub(back)
		}
		if d.gaveUpWithin > 0 {
			m.gaveUp, m.gaveUpAfterBack = checkGaveUp(tb, res, b.slowPosts(c.infra.callTimeout()), back, d.gaveUpWithin)
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
// must end final exactly once, and never change once final.
func checkListedOnce(tb testing.TB, api, prefix string, r scenario.Result) {
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
		tb.Errorf("order %s is listed %d times, but no POST was accepted for it", id, len(ls))
	}
}

// table formats the measures as a text table.
func table(ms []measure) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "scenario\tdisruption\taccepted/final at strike\tdown\tPOST retries (no answer/503)\tslowest POST\tlast final after back\tgave up (last final after back)\tmedian order\tslowest order\tfirst POST to last final\tbound")
	for _, m := range ms {
		final := "-"
		if m.finalAtStrike >= 0 {
			final = fmt.Sprint(m.finalAtStrike)
		}
		at, down, after, gaveUp := "-", "-", "-", "-"
		if m.down > 0 {
			at = fmt.Sprintf("%d/%s", m.acceptedAtStrike, final)
			down = m.down.Round(time.Millisecond).String()
			after = m.afterBack.Round(time.Millisecond).String()
		}
		if m.gaveUp > 0 {
			gaveUp = fmt.Sprintf("%d (%v)", m.gaveUp, m.gaveUpAfterBack.Round(time.Millisecond))
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d/%d\t%v\t%s\t%s\t%v\t%v\t%v\t%v\n", m.scenario, m.what, at, down, m.connErrors, m.unavailable,
			m.slowestPost.Round(time.Millisecond), after, gaveUp, m.medianOrder.Round(time.Millisecond),
			m.slowestOrder.Round(time.Millisecond), m.elapsed.Round(time.Millisecond), m.bound)
	}
	_ = w.Flush() // writes to a strings.Builder, which cannot fail
	return b.String()
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
