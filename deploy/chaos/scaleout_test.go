package chaos

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/segmentio/kafka-go"

	chbroker "github.com/ordersaga/ordersaga/choreographed/broker"
	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/deploy/internal/proctest"
	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/scenario"
)

// The scale-out tests run the payment service as two processes of the
// binary on one payment database, beside one process of the order service
// and of each other step's service.
//
// How the two share the work: in the choreographed variant both are
// members of the payment consumer group, and the broker splits the
// partitions of the topics payment follows between them (an order's events
// go to one partition by its key, so each order's payment step runs in one
// of the two); in the orchestrated variant both poll the payment task
// queue, and the Temporal server hands each activity task to whichever
// poller asks first.
//
// Each test first places an undisturbed burst and requires both processes
// to have run payment steps (ordersaga_saga_step_duration_seconds of the
// payment step on each process's own /metrics); the choreographed one also
// waits, before it, until the broker shows the group stable with both
// members holding partitions, and after the kill until it shows the
// survivor holding them all. Then, in the middle of a
// second burst, it slows the second process's payment service down
// (fault injection: victimLatency a run, for strandWindow), so that it is
// surely in the middle of payment steps, and kills it with SIGKILL; it is
// not restarted. The survivor must take its work over: every accepted order
// ends final once with the outcome it was designed for, and no unit of
// stock or cent of credit is lost or taken twice.
//
// Take-over time is measured two ways, from the kill (the moment SIGKILL is
// sent):
//
//   - drain: until every order in flight at the kill (accepted before it
//     and not final in a listing taken just before it) is final, as the
//     scenario suite's polling first saw it. This is the asserted take-over
//     time. It must be at most the variant's bound (below), and at least
//     half of the timeout that detects the crash: an order stranded with
//     the killed process can only go on once that timeout has passed, so a
//     shorter drain means the kill stranded nothing and measured nothing.
//   - longest payment gap: the longest time, from the kill to the last
//     payment step run after it, in which the survivor committed no
//     payment step run (its /metrics read every sampleEvery). It must be
//     at most the bound too.
//
// The bounds follow from the configuration:
//
//   - choreographed: the broker drops the killed member once its session
//     timeout has passed since its last heartbeat (-kafka-session-timeout,
//     chbroker.DefaultSessionTimeout 10 s; the test runs with it, then with
//     shortSessionTimeout), then rebalances the group, which may take up to
//     chbroker.RebalanceTimeout (10 s); the survivor then reads the killed
//     member's partitions from their last committed offsets. Bound: session
//     timeout + rebalance timeout + settleWithin.
//   - orchestrated: a payment activity the killed worker had started is
//     retried once its attempt's StartToClose timeout
//     (workflow.AttemptTimeout, 10 s) has passed, after at most the retry
//     policy's longest backoff (workflow.RetryMaxInterval, 1 s); tasks not
//     yet started go to the survivor at once. Bound: AttemptTimeout +
//     RetryMaxInterval + settleWithin.
const (
	// victimLatency is added to every payment step run of the process
	// about to be killed, from strandWindow before the kill: the runs it
	// starts then are still in progress when it dies.
	victimLatency = 2 * time.Second
	strandWindow  = time.Second
	// settleWithin is what a take-over bound allows, once the survivor has
	// the stranded work, for the rest of those orders' sagas (shipping or
	// the compensations, the order's final state) and for the poll that
	// sees them final.
	settleWithin = 5 * time.Second
	// sampleEvery is how often the survivor's /metrics are read after the
	// kill.
	sampleEvery = 100 * time.Millisecond
	// failoverOrders orders are placed by the fail-over burst: more than
	// a plain burst, so that orders still arrive after the kill.
	failoverOrders = 2 * burstOrders
	// shortSessionTimeout is the session timeout of the choreographed
	// test's second run: Kafka's default lowest (group.min.session.timeout.ms).
	shortSessionTimeout = 6 * time.Second
)

func TestChoreographed_TwoPaymentProcessesShareTheWorkOneKilledMidBurst_SurvivorTakesOverWithinBound(t *testing.T) {
	skipShort(t)
	t.Parallel()
	// The default session timeout, then a shorter one (-kafka-session-timeout):
	// the take-over follows it.
	for _, session := range []time.Duration{chbroker.DefaultSessionTimeout, shortSessionTimeout} {
		t.Run("session_timeout_"+session.String(), func(t *testing.T) {
			var args []string
			if session != chbroker.DefaultSessionTimeout {
				args = []string{"-kafka-session-timeout", session.String()}
			}
			k := NewBroker(t, "")
			group := topicPrefix + "." + string(hosted.RolePayment)
			runScaleOut(t, startClusterOf(t, process.Choreographed, k, sagaRoles(), args...), takeover{
				bound:     session + chbroker.RebalanceTimeout + settleWithin,
				boundText: fmt.Sprintf("session timeout %v + rebalance timeout %v + %v", session, chbroker.RebalanceTimeout, settleWithin),
				detection: session,
				shared:    func(tb testing.TB) string { return waitGroupShared(tb, k.address(), group, 2) },
				tookOver:  func(tb testing.TB) string { return waitGroupShared(tb, k.address(), group, 1) },
			})
		})
	}
}

func TestOrchestrated_TwoPaymentProcessesShareTheWorkOneKilledMidBurst_SurvivorTakesOverWithinBound(t *testing.T) {
	skipShort(t)
	t.Parallel()
	runScaleOut(t, startClusterOf(t, process.Orchestrated, NewTemporal(t, ""), sagaRoles()), takeover{
		bound:     workflow.AttemptTimeout + workflow.RetryMaxInterval + settleWithin,
		boundText: fmt.Sprintf("activity attempt timeout %v + longest retry backoff %v + %v", workflow.AttemptTimeout, workflow.RetryMaxInterval, settleWithin),
		detection: workflow.AttemptTimeout,
	})
}

// sagaRoles are the roles of the scale-out tests' processes: the order
// service and the services of the saga's steps, which every order goes
// through.
func sagaRoles() []hosted.Role {
	return append([]hosted.Role{hosted.RoleOrders}, hosted.StepRoles(hosted.AllRoles())...)
}

// takeover is what a variant's scale-out test expects of a fail-over.
type takeover struct {
	// bound bounds the drain and the longest payment gap; boundText says
	// where it comes from.
	bound     time.Duration
	boundText string
	// detection is the timeout after which the crash is noticed: the drain
	// must take at least half of it, or the kill stranded nothing.
	detection time.Duration
	// shared, when set, waits until the two payment processes share the
	// work and describes how; tookOver, when set, waits until the survivor
	// has all of it and describes how.
	shared, tookOver func(tb testing.TB) string
}

// scaleMeasure is what one burst of a scale-out test measured.
type scaleMeasure struct {
	phase  string
	orders int
	// runs are the payment step runs (action and compensation, committed)
	// each payment process made during the burst; -1 when it could not be
	// read (the killed process, after the kill).
	runs [2]float64
	// duplicates are the events the other services' consumers received
	// again and skipped during the burst (choreographed; -1 for none: see
	// duplicates).
	duplicates float64
	// inFlight orders were in flight at the kill (-1: no kill).
	inFlight int
	// drain and gap are the take-over times (see the package's scale-out
	// tests); slowest is the longest time from an order's first POST to its
	// final state.
	drain, gap, slowest time.Duration
}

// runScaleOut runs the scale-out test on cluster c: a second payment
// process, a warm-up, an undisturbed burst that both payment processes
// share, and a burst in which the second one is killed.
func runScaleOut(t *testing.T, c *Cluster, to takeover) {
	spec := c.spec(hosted.RolePayment)
	spec.Name += " (second)"
	spec.Args = append(spec.Args, "-fault-injection")
	pays := [2]*proctest.Proc{c.procs[hosted.RolePayment], proctest.Start(t, spec)}
	if to.shared != nil {
		t.Logf("the payment processes share the work: %s", to.shared(t))
	}
	var ms []scaleMeasure
	ok := t.Run("warm_up", func(t *testing.T) { ms = append(ms, shareBurst(t, c, pays, 4, false)) }) &&
		t.Run("shared", func(t *testing.T) { ms = append(ms, shareBurst(t, c, pays, burstOrders, true)) }) &&
		t.Run("second_killed", func(t *testing.T) { ms = append(ms, failover(t, c, pays, to)) })
	if ok && to.tookOver != nil {
		t.Logf("the survivor took the work over: %s", to.tookOver(t))
	}
	t.Logf("%s, payment on two processes (%d clients; bound %v = %s):\n%s", c.variant, burstClients, to.bound, to.boundText, scaleTable(ms))
}

// shareBurst places an undisturbed burst of n orders and returns how many
// payment step runs each payment process made; with mustShare, each must
// have made some, and the actions together at least one per order that
// reaches payment.
func shareBurst(t *testing.T, c *Cluster, pays [2]*proctest.Proc, n int, mustShare bool) scaleMeasure {
	m := scaleMeasure{phase: "shared", orders: n, inFlight: -1}
	if !mustShare {
		m.phase = "warm-up"
	}
	tg := scenario.Target{Name: string(c.variant), BaseURL: c.api, FinalWithin: finalBound, Concurrency: burstClients, Keys: proctest.Keys(t)}
	scenario.RunScenario(t, tg, scenario.Scenario{Name: "scale_" + m.phase, Run: func(tb testing.TB, e *scenario.Env) scenario.Result {
		before := [2]paymentRuns{mustRuns(tb, pays[0]), mustRuns(tb, pays[1])}
		dupsBefore := duplicates(tb, c)
		p := newPlan(e, n)
		prefix := strings.TrimSuffix(e.ID("x"), "x")
		b := startBurst(e, c.procs[hosted.RoleOrders].URL, p, strikeAfter)
		if err := b.wait(); err != nil {
			tb.Fatalf("placing the burst: %v", err)
		}
		res := e.Finish()
		p.check(tb, res)
		checkListedOnce(tb, c.api, prefix, res)
		var actions float64
		for i, proc := range pays {
			d := mustRuns(tb, proc).minus(before[i])
			m.runs[i] = d.total()
			actions += d.do
			if mustShare && m.runs[i] == 0 {
				tb.Errorf("payment process %d (%s) ran no payment step of the burst: the work is not shared", i+1, proc.URL)
			}
		}
		if want := reachPayment(p); actions < float64(want) {
			tb.Errorf("the payment processes ran %v payment actions, want at least %d (one per order that reaches payment)", actions, want)
		}
		m.slowest = res.MaxTook()
		m.duplicates = delta(duplicates(tb, c), dupsBefore)
		return res
	}})
	return m
}

// failover places a burst and kills the second payment process in the
// middle of it, once the burst has reached the payment step, after slowing
// it down so that it dies in the middle of payment steps. It checks that
// the survivor finishes every order, within the take-over bound.
func failover(t *testing.T, c *Cluster, pays [2]*proctest.Proc, to takeover) scaleMeasure {
	m := scaleMeasure{phase: "second killed", orders: failoverOrders}
	survivor, victim := pays[0], pays[1]
	tg := scenario.Target{Name: string(c.variant), BaseURL: c.api, FinalWithin: finalBound, Concurrency: burstClients, Keys: proctest.Keys(t)}
	scenario.RunScenario(t, tg, scenario.Scenario{Name: "scale_failover", Run: func(tb testing.TB, e *scenario.Env) scenario.Result {
		before := [2]paymentRuns{mustRuns(tb, survivor), mustRuns(tb, victim)}
		dupsBefore := duplicates(tb, c)
		p := newPlan(e, failoverOrders)
		prefix := strings.TrimSuffix(e.ID("x"), "x")
		b := startBurst(e, c.procs[hosted.RoleOrders].URL, p, strikeAfter)
		select {
		case <-b.reached:
		case <-b.done:
			tb.Fatalf("the burst ended before %d orders were accepted: %v", strikeAfter, b.wait())
		}
		waitForStep(tb, c.api, prefix, domain.StepPayment)
		setPaymentLatency(tb, victim, victimLatency)
		time.Sleep(strandWindow) // the victim takes up payment steps it will not finish
		victimRuns := mustRuns(tb, victim).minus(before[1])
		finalAtKill := listedFinal(tb, c.api, prefix)
		s := startSampler(survivor)
		killed := time.Now()
		victim.Kill()
		if err := b.wait(); err != nil {
			tb.Fatalf("placing the burst: %v", err)
		}
		res := e.Finish()
		samples := s.stop()
		p.check(tb, res)
		checkListedOnce(tb, c.api, prefix, res)

		m.runs = [2]float64{mustRuns(tb, survivor).minus(before[0]).total(), victimRuns.total()}
		m.slowest = res.MaxTook()
		m.duplicates = delta(duplicates(tb, c), dupsBefore)
		var inFlight []string
		for name, ps := range b.posts {
			if ps.accepted.Before(killed) && !finalAtKill[res.Orders[name].ID] {
				inFlight = append(inFlight, name)
			}
		}
		slices.Sort(inFlight)
		m.inFlight = len(inFlight)
		if m.inFlight == 0 {
			tb.Fatalf("no order was in flight at the kill")
		}
		var last time.Time // when the last order of the burst was seen final
		for name, o := range res.Orders {
			if o.Took > 0 {
				last = later(last, b.posts[name].placed.Add(o.Took))
			}
		}
		for _, name := range inFlight {
			if o := res.Orders[name]; o.Took > 0 {
				m.drain = max(m.drain, b.posts[name].placed.Add(o.Took).Sub(killed))
			}
		}
		m.gap = longestGap(samples, killed)
		if m.drain > to.bound {
			tb.Errorf("take-over: the orders in flight at the kill were final %v after it, over the bound %v (%s)",
				m.drain.Round(time.Millisecond), to.bound, to.boundText)
		}
		if m.gap > to.bound {
			tb.Errorf("take-over: the survivor ran no payment step for %v after the kill, over the bound %v (%s)",
				m.gap.Round(time.Millisecond), to.bound, to.boundText)
		}
		if m.drain < to.detection/2 {
			tb.Errorf("the orders in flight at the kill were final %v after it, less than half the %v it takes to notice the crash: "+
				"the kill stranded no work (the victim ran %v payment steps before it)", m.drain.Round(time.Millisecond), to.detection, victimRuns.total())
		}
		if m.runs[0] == 0 {
			tb.Errorf("the survivor ran no payment step of the burst")
		}
		tb.Logf("kill at %v into the burst; %d orders in flight then; last order final %v after the kill",
			killed.Sub(b.start).Round(time.Millisecond), m.inFlight, last.Sub(killed).Round(time.Millisecond))
		return res
	}})
	return m
}

// delta returns after - before, or -1 when either is (not measured).
func delta(after, before float64) float64 {
	if after < 0 || before < 0 {
		return -1
	}
	return after - before
}

// reachPayment counts the orders of p whose payment step runs: all but
// those refused for stock.
func reachPayment(p plan) int {
	n := 0
	for _, w := range p.want {
		if w != outOfStock {
			n++
		}
	}
	return n
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// listedFinal returns the ids of the orders whose ids start with prefix
// that GET /v1/orders lists as final.
func listedFinal(tb testing.TB, api, prefix string) map[string]bool {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	orders, err := listOrders(ctx, proctest.Operator(tb), api, prefix)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]bool{}
	for id, ls := range orders {
		out[id] = len(ls) > 0 && ls[0].Status.Final()
	}
	return out
}

// setPaymentLatency adds d to every payment step run of the process
// (PUT /v1/admin/faults; the process runs with -fault-injection).
func setPaymentLatency(tb testing.TB, p *proctest.Proc, d time.Duration) {
	tb.Helper()
	body := fmt.Sprintf(`{%q: {"latency_ms": %d}}`, hosted.RolePayment, d.Milliseconds())
	req, err := http.NewRequest(http.MethodPut, p.URL+"/v1/admin/faults", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := proctest.Operator(tb).Do(req)
	if err != nil {
		tb.Fatalf("PUT %s/v1/admin/faults: %v", p.URL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("PUT %s/v1/admin/faults %s: %s, want 200", p.URL, body, resp.Status)
	}
}

// paymentRuns counts the payment step runs a process committed (its
// ordersaga_saga_step_duration_seconds samples of step payment, outcome
// other than error), by action.
type paymentRuns struct {
	do, undo float64
}

func (r paymentRuns) total() float64 { return r.do + r.undo }

func (r paymentRuns) minus(o paymentRuns) paymentRuns {
	return paymentRuns{do: r.do - o.do, undo: r.undo - o.undo}
}

// scrape reads the metrics of the process at base from its /metrics.
func scrape(base string) (map[string]*dto.MetricFamily, error) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(base + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("GET %s/metrics: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: %s", base, resp.Status)
	}
	var parser expfmt.TextParser
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s/metrics: parsing: %w", base, err)
	}
	return mfs, nil
}

// labelsOf returns the labels of m by name.
func labelsOf(m *dto.Metric) map[string]string {
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	return labels
}

// readRuns reads the payment step runs of the process at base from its
// /metrics.
func readRuns(base string) (paymentRuns, error) {
	mfs, err := scrape(base)
	if err != nil {
		return paymentRuns{}, err
	}
	var r paymentRuns
	for _, m := range mfs["ordersaga_saga_step_duration_seconds"].GetMetric() {
		labels := labelsOf(m)
		if labels["step"] != string(domain.StepPayment) || labels["outcome"] == "error" {
			continue
		}
		n := float64(m.GetHistogram().GetSampleCount())
		switch labels["action"] {
		case "do":
			r.do += n
		case "undo":
			r.undo += n
		}
	}
	return r, nil
}

// duplicates sums the events the consumers of the processes other than
// payment's received again and skipped (ordersaga_consumer_messages_total,
// outcome duplicate); -1 when no process has consumers (the orchestrated
// variant).
func duplicates(tb testing.TB, c *Cluster) float64 {
	tb.Helper()
	n, found := 0.0, false
	for r, p := range c.procs {
		if r == hosted.RolePayment {
			continue
		}
		mfs, err := scrape(p.URL)
		if err != nil {
			tb.Fatal(err)
		}
		mf, ok := mfs["ordersaga_consumer_messages_total"]
		found = found || ok
		for _, m := range mf.GetMetric() {
			if labelsOf(m)["outcome"] == "duplicate" {
				n += m.GetCounter().GetValue()
			}
		}
	}
	if !found {
		return -1
	}
	return n
}

// mustRuns is readRuns failing tb on an error.
func mustRuns(tb testing.TB, p *proctest.Proc) paymentRuns {
	tb.Helper()
	r, err := readRuns(p.URL)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// sample is a process's payment step runs at a time.
type sample struct {
	at   time.Time
	runs float64
}

// sampler reads a process's payment step runs every sampleEvery until
// stopped. A read that fails is skipped.
type sampler struct {
	quit chan struct{}
	done chan struct{}
	mu   sync.Mutex
	got  []sample
}

func startSampler(p *proctest.Proc) *sampler {
	s := &sampler{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		for {
			if r, err := readRuns(p.URL); err == nil {
				s.mu.Lock()
				s.got = append(s.got, sample{at: time.Now(), runs: r.total()})
				s.mu.Unlock()
			}
			select {
			case <-s.quit:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// stop stops the sampler and returns its samples, oldest first.
func (s *sampler) stop() []sample {
	close(s.quit)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got
}

// longestGap returns the longest time between from and the first sample
// after it that shows more runs than the one before, or between two such
// samples: how long at most the process ran no payment step, up to its
// last run.
func longestGap(samples []sample, from time.Time) time.Duration {
	var gap time.Duration
	prev := from
	for i := 1; i < len(samples); i++ {
		s := samples[i]
		if s.runs > samples[i-1].runs && s.at.After(from) {
			gap = max(gap, s.at.Sub(prev))
			prev = s.at
		}
	}
	return gap
}

// waitGroupShared waits until the consumer group on the broker at addr is
// stable with n members, each assigned partitions, and describes who has
// which; it fails tb after finalBound.
func waitGroupShared(tb testing.TB, addr, group string, n int) string {
	tb.Helper()
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 5 * time.Second}
	deadline := time.Now().Add(finalBound)
	var last string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
		cancel()
		switch {
		case err != nil:
			last = err.Error()
		case len(resp.Groups) != 1 || resp.Groups[0].Error != nil:
			last = fmt.Sprintf("%+v", resp.Groups)
		default:
			g := resp.Groups[0]
			desc, assigned := describeAssignment(g)
			last = fmt.Sprintf("%s, %d members: %s", g.GroupState, len(g.Members), desc)
			if g.GroupState == "Stable" && len(g.Members) == n && assigned == n {
				return last
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("consumer group %s: not stable with %d members, each assigned partitions, within %v (last: %s)", group, n, finalBound, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// describeAssignment describes which partitions each member of g has, and
// counts the members that have some.
func describeAssignment(g kafka.DescribeGroupsResponseGroup) (string, int) {
	var parts []string
	assigned := 0
	for i, m := range g.Members {
		var b bytes.Buffer
		fmt.Fprintf(&b, "member %d (%s):", i+1, m.ClientHost)
		count := 0
		for _, tp := range m.MemberAssignments.Topics {
			ps := slices.Sorted(slices.Values(tp.Partitions))
			fmt.Fprintf(&b, " %s%v", strings.TrimPrefix(tp.Topic, topicPrefix+"."), ps)
			count += len(ps)
		}
		if count > 0 {
			assigned++
		}
		parts = append(parts, b.String())
	}
	return strings.Join(parts, "; "), assigned
}

// scaleTable formats the measures of a scale-out test as a text table.
func scaleTable(ms []scaleMeasure) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "burst\torders\tpayment runs (first/second process)\tduplicates skipped\tin flight at kill\tdrain (kill to in-flight final)\tlongest payment gap after kill\tslowest order")
	for _, m := range ms {
		second, dups := fmt.Sprint(m.runs[1]), "-"
		if m.duplicates >= 0 {
			dups = fmt.Sprint(m.duplicates)
		}
		inFlight, drain, gap := "-", "-", "-"
		if m.inFlight >= 0 {
			second += " (until the kill)"
			inFlight = fmt.Sprint(m.inFlight)
			drain = m.drain.Round(time.Millisecond).String()
			gap = m.gap.Round(time.Millisecond).String()
		}
		fmt.Fprintf(w, "%s\t%d\t%v/%s\t%s\t%s\t%s\t%s\t%v\n", m.phase, m.orders, m.runs[0], second, dups, inFlight, drain, gap, m.slowest.Round(time.Millisecond))
	}
	_ = w.Flush() // writes to a strings.Builder, which cannot fail
	return b.String()
}
