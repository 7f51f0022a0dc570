package stack_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ordersaga/ordersaga/orchestrated/stack"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/effectstest"
	"github.com/ordersaga/ordersaga/shared/hosted"
)

// TestExactlyOnce_LostRepliesAndReplays_EveryEffectOncePerOrder runs a batch
// of orders while the worker loses the reply of the first attempt of every
// activity after the activity ran and committed (Temporal retries it: the
// duplicate of this variant), and fails one workflow task of every saga
// once its first activity completed (the next task replays the history
// from the start). The effects, read from the services' tables, must still
// happen once per order: the services key them by order id.
func TestExactlyOnce_LostRepliesAndReplays_EveryEffectOncePerOrder(t *testing.T) {
	for _, engine := range []struct {
		name string
		dbs  func(testing.TB) map[hosted.Role]string
	}{{"sqlite", sqliteDatabases}, {"postgres", postgresDatabases}} {
		t.Run(engine.name, func(t *testing.T) { lostReplies(t, engine.dbs(t)) })
	}
}

// lostOrder is an order of the test and how it must end.
type lostOrder struct {
	id      string
	country string
	qty     int64
	stock   int64 // of the order's own product
	credit  int64 // of the order's own customer
	status  string
	reason  string
	steps   string
}

// lostPrice is the price of every product of the test, in cents.
const lostPrice = 1000

func lostReplies(t *testing.T, dbs map[hosted.Role]string) {
	start := time.Now()
	ctx := context.Background()
	l := newLossy()
	reg := prometheus.NewRegistry()
	p := startProcessWith(t, stack.Config{
		Namespace:    newNamespace(t),
		Hosted:       hosted.Config{Databases: dbs},
		Auth:         authtest.Keys(t),
		Registry:     reg,
		Interceptors: []interceptor.ClientInterceptor{l},
		Logger:       slog.New(withoutInjected{testLogger(t).Handler()}),
	})
	a := p.api(t)
	const allDone = "inventory:done payment:done shipping:done"
	completed := func(id string) lostOrder {
		return lostOrder{id: id, country: "DE", qty: 2, stock: 5, credit: 100_000, status: "completed", steps: allDone}
	}
	orders := []lostOrder{
		completed("ok-1"), completed("ok-2"), completed("ok-3"), completed("ok-4"),
		{id: "declined-1", country: "DE", qty: 1, stock: 5, credit: 500, status: "failed", reason: "payment_declined",
			steps: "inventory:compensated payment:failed shipping:skipped"},
		{id: "declined-2", country: "DE", qty: 3, stock: 5, credit: 2000, status: "failed", reason: "payment_declined",
			steps: "inventory:compensated payment:failed shipping:skipped"},
		{id: "unavailable-1", country: "AQ", qty: 1, stock: 5, credit: 100_000, status: "failed", reason: "shipping_unavailable",
			steps: "inventory:compensated payment:compensated shipping:failed"},
		{id: "unavailable-2", country: "AQ", qty: 2, stock: 5, credit: 100_000, status: "failed", reason: "shipping_unavailable",
			steps: "inventory:compensated payment:compensated shipping:failed"},
		{id: "out-of-stock", country: "DE", qty: 6, stock: 5, credit: 100_000, status: "failed", reason: "out_of_stock",
			steps: "inventory:failed payment:skipped shipping:skipped"},
	}
	for _, o := range orders {
		a.putProduct(o.id, lostPrice, o.stock)
		a.putCustomer(o.id, o.credit)
	}
	var wg sync.WaitGroup
	for _, o := range orders {
		wg.Go(func() {
			if code, _ := a.place(order(o.id, o.id, o.id, o.qty, o.country), 0); code != http.StatusAccepted {
				t.Errorf("POST %s: %d, want 202", o.id, code)
			}
		})
	}
	wg.Wait()

	var final []effectstest.Order
	attempts := map[string][]int{} // activity → its attempts, one entry per activity run by a saga
	taskFailures := 0
	for _, o := range orders {
		got := a.waitFinal(o.id)
		if got.Status != o.status || got.FailureReason != o.reason || stepStatuses(got) != o.steps {
			t.Errorf("order %s: %s %q %s; want %s %q %s", o.id, got.Status, got.FailureReason, stepStatuses(got), o.status, o.reason, o.steps)
		}
		steps := map[domain.StepName]domain.StepStatus{}
		for _, s := range got.Steps {
			steps[domain.StepName(s.Step)] = domain.StepStatus(s.Status)
		}
		final = append(final, effectstest.Order{ID: o.id, SKU: o.id, Stock: o.stock, Quantity: o.qty, Customer: o.id, Credit: o.credit,
			Status: domain.Status(got.Status), Steps: steps, Total: o.qty * lostPrice})
		events := history(t, p.Client(), o.id)
		for _, act := range activityAttempts(t, events) {
			name, n, _ := strings.Cut(act, "#")
			attempt, err := strconv.Atoi(n)
			if err != nil {
				t.Fatalf("activity %q", act)
			}
			attempts[name] = append(attempts[name], attempt)
		}
		for _, ev := range events {
			if ev.GetWorkflowTaskFailedEventAttributes() != nil {
				taskFailures++
			}
		}
	}

	rep, err := effectstest.Audit(ctx, effectstest.Services{Inventory: p.Hosted().Inventory, Payment: p.Hosted().Payment,
		Shipping: p.Hosted().Shipping}, final)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range rep.Mismatches {
		t.Error(m)
	}

	// Every activity the sagas ran lost its first reply and ran again.
	lost, ran := l.counts()
	var rows [][]string
	var names []string
	for name := range attempts {
		names = append(names, name)
	}
	slices.Sort(names)
	totalLost, totalAttempts, totalActivities := 0, 0, 0
	for _, name := range names {
		sum := 0
		for _, n := range attempts[name] {
			sum += n
			if n < 2 {
				t.Errorf("%s ended at attempt %d: its first reply was not lost", name, n)
			}
		}
		if lost[name] != len(attempts[name]) {
			t.Errorf("%s: %d replies lost, want one per run in the histories (%d)", name, lost[name], len(attempts[name]))
		}
		totalLost += lost[name]
		totalAttempts += sum
		totalActivities += len(attempts[name])
		rows = append(rows, []string{name, strconv.Itoa(len(attempts[name])), strconv.Itoa(lost[name]), strconv.Itoa(sum), strconv.Itoa(ran[name])})
	}
	rows = append(rows, []string{"total", strconv.Itoa(totalActivities), strconv.Itoa(totalLost), strconv.Itoa(totalAttempts), strconv.Itoa(l.total())})

	// Every saga replayed its history once after its failed task.
	replays, replayedCommands := l.replays()
	if replays < len(orders) || taskFailures < len(orders) {
		t.Errorf("%d workflow tasks failed in the histories and %d sagas replayed from the start; want one of each per order (%d)",
			taskFailures, replays, len(orders))
	}

	samples, err := effectstest.Gather(reg)
	if err != nil {
		t.Fatal(err)
	}
	runs, wantRuns := effectstest.StepRuns(samples), effectstest.Runs(final)
	for r, n := range wantRuns {
		// The first run committed, its reply was lost; the retry ran the
		// step again and found the outcome the first run recorded.
		if runs[r] != 2*n {
			t.Errorf("%s: %d runs, want %d (two per effect: the first run and its retry)", r, runs[r], 2*n)
		}
	}
	for r, n := range runs {
		if _, ok := wantRuns[r]; !ok {
			t.Errorf("%s: %d runs, want none", r, n)
		}
	}
	finals := effectstest.Sum(samples, "ordersaga_orders_final_total")
	if int(finals) != len(orders) {
		t.Errorf("%v orders counted final, want %d", finals, len(orders))
	}
	compensations := effectstest.Sum(samples, "ordersaga_saga_compensations_total")
	wantCompensations := 0
	for _, o := range final {
		for _, st := range o.Steps {
			if st == domain.StepCompensated {
				wantCompensations++
			}
		}
	}
	if int(compensations) != wantCompensations {
		t.Errorf("%v compensations counted, want %d", compensations, wantCompensations)
	}

	t.Logf("%d orders; every activity's first reply lost after it ran, one workflow task per saga failed after its first activity; "+
		"%d workflow tasks failed (histories), %d sagas replayed from the start, %d activity calls replayed from history without running:\n%s",
		len(orders), taskFailures, replays, replayedCommands,
		effectstest.Table([]string{"activity", "runs in histories", "replies lost", "attempts (histories)", "executions seen by the worker"}, rows))
	var effRows [][]string
	for _, c := range rep.Counts {
		effRows = append(effRows, []string{string(c.Kind), strconv.FormatInt(c.Want, 10), strconv.FormatInt(c.Got, 10)})
	}
	var keys []effectstest.Run
	for r := range wantRuns {
		keys = append(keys, r)
	}
	slices.SortFunc(keys, func(a, b effectstest.Run) int { return strings.Compare(a.String(), b.String()) })
	for _, r := range keys {
		effRows = append(effRows, []string{"runs: " + r.String(), strconv.FormatInt(wantRuns[r], 10), strconv.FormatInt(runs[r], 10)})
	}
	effRows = append(effRows,
		[]string{"orders made final", strconv.Itoa(len(orders)), strconv.FormatFloat(finals, 'f', -1, 64)},
		[]string{"steps compensated", strconv.Itoa(wantCompensations), strconv.FormatFloat(compensations, 'f', -1, 64)})
	t.Logf("effects applied (from the services' tables), runs of the steps (ordersaga_saga_step_duration_seconds: each ran twice) "+
		"and the order store's counts:\n%s", effectstest.Table([]string{"effect", "once per order", "applied"}, effRows))
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}

// lossy is a Temporal client and worker interceptor that makes the
// duplicates of the orchestrated variant happen: it loses the reply of
// the first attempt of every activity after the activity ran (so Temporal
// runs it again), and fails one workflow task of every workflow at its
// second activity call (so the next task replays the history from the
// start). It counts what it did.
type lossy struct {
	interceptor.ClientInterceptorBase
	interceptor.WorkerInterceptorBase

	mu       sync.Mutex
	lost     map[string]int  // activity type → replies lost
	ran      map[string]int  // activity type → executions
	failed   map[string]bool // workflow id → a task of it was failed
	starts   map[string]int  // workflow id → runs of the workflow function
	replayed int             // activity calls replayed from history
}

func newLossy() *lossy {
	return &lossy{lost: map[string]int{}, ran: map[string]int{}, failed: map[string]bool{}, starts: map[string]int{}}
}

func (l *lossy) counts() (lost, ran map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lost, ran = map[string]int{}, map[string]int{}
	for k, v := range l.lost {
		lost[k] = v
	}
	for k, v := range l.ran {
		ran[k] = v
	}
	return lost, ran
}

// total returns the activity executions seen.
func (l *lossy) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, v := range l.ran {
		n += v
	}
	return n
}

// replays returns how often a workflow function ran again from the start,
// and how many activity calls it replayed from history meanwhile.
func (l *lossy) replays() (runs, calls int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range l.starts {
		runs += n - 1
	}
	return runs, l.replayed
}

// InterceptActivity implements interceptor.WorkerInterceptor.
func (l *lossy) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &lossyActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, l: l}
}

// InterceptWorkflow implements interceptor.WorkerInterceptor.
func (l *lossy) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &lossyWorkflow{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, l: l}
}

type lossyActivity struct {
	interceptor.ActivityInboundInterceptorBase
	l *lossy
}

// ExecuteActivity runs the activity, then loses the reply of its first
// attempt when the activity committed an outcome (a result, or a refusal:
// a non-retryable error).
func (a *lossyActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	out, err := a.Next.ExecuteActivity(ctx, in)
	info := activity.GetInfo(ctx)
	name := info.ActivityType.Name
	var app *temporal.ApplicationError
	settled := err == nil || errors.As(err, &app) && app.NonRetryable()
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	a.l.ran[name]++
	if info.Attempt == 1 && settled {
		a.l.lost[name]++
		return nil, temporal.NewApplicationError(fmt.Sprintf("the reply of %s %s", name, lostReplyMarker), "LostReply")
	}
	return out, err
}

type lossyWorkflow struct {
	interceptor.WorkflowInboundInterceptorBase
	l *lossy
}

func (w *lossyWorkflow) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return w.Next.Init(&lossyOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, l: w.l})
}

func (w *lossyWorkflow) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	w.l.mu.Lock()
	w.l.starts[workflow.GetInfo(ctx).WorkflowExecution.ID]++
	w.l.mu.Unlock()
	return w.Next.ExecuteWorkflow(ctx, in)
}

// lossyOutbound fails the workflow task of the second activity call of a
// workflow, once per workflow.
type lossyOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	l     *lossy
	calls int
}

func (o *lossyOutbound) ExecuteActivity(ctx workflow.Context, typ string, args ...any) workflow.Future {
	o.call(ctx)
	return o.Next.ExecuteActivity(ctx, typ, args...)
}

func (o *lossyOutbound) ExecuteLocalActivity(ctx workflow.Context, typ string, args ...any) workflow.Future {
	o.call(ctx)
	return o.Next.ExecuteLocalActivity(ctx, typ, args...)
}

func (o *lossyOutbound) call(ctx workflow.Context) {
	o.calls++
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	o.l.mu.Lock()
	defer o.l.mu.Unlock()
	if workflow.IsReplaying(ctx) {
		o.l.replayed++
		return
	}
	if o.calls == 2 && !o.l.failed[id] {
		o.l.failed[id] = true
		panic(lostTaskMarker + " after the saga's first activity")
	}
}

// Markers of the failures lossy injects, in their error messages.
const (
	lostReplyMarker = "was lost after it ran"
	lostTaskMarker  = "the workflow task is lost"
)

// withoutInjected drops the log records about the failures lossy injects
// (the SDK logs each at warning or error level, panics with their stack).
type withoutInjected struct{ slog.Handler }

func (h withoutInjected) Handle(ctx context.Context, r slog.Record) error {
	injected := false
	r.Attrs(func(a slog.Attr) bool {
		v := a.Value.String()
		injected = strings.Contains(v, lostReplyMarker) || strings.Contains(v, lostTaskMarker)
		return !injected
	})
	if injected {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h withoutInjected) WithAttrs(as []slog.Attr) slog.Handler {
	return withoutInjected{h.Handler.WithAttrs(as)}
}

func (h withoutInjected) WithGroup(name string) slog.Handler {
	return withoutInjected{h.Handler.WithGroup(name)}
}
