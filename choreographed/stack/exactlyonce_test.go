package stack_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/broker"
	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/dlq"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/inbox"
	"github.com/ordersaga/ordersaga/choreographed/internal/kafkatest"
	"github.com/ordersaga/ordersaga/choreographed/outbox"
	"github.com/ordersaga/ordersaga/choreographed/stack"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/effectstest"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// TestExactlyOnce_DuplicatesFromEverySource_EveryEffectOncePerOrder
// delivers every event of a batch of orders more than once, from each
// place a duplicate can come from in this variant, and checks that every
// effect still happened once per order:
//
//   - the relays publish every message of the first batch twice (a publish
//     whose acknowledgement was lost and was retried);
//   - the payment service stops after it applied an event but before its
//     offset was committed, and gets it again after the restart;
//   - every consumer group is reset to the oldest offset (an operator's
//     reset, a group whose offsets expired) and reads everything again;
//   - dead letters of events every group had applied are replayed.
//
// Effects are read from the services' tables (effectstest), the runs of
// each step from the step metric, and the events each service emitted
// from the topics: one event id per order and event type.
func TestExactlyOnce_DuplicatesFromEverySource_EveryEffectOncePerOrder(t *testing.T) {
	for _, engine := range []struct {
		name string
		dbs  func(testing.TB) map[hosted.Role]string
	}{
		{"sqlite", func(tb testing.TB) map[hosted.Role]string { return hosted.SQLiteDatabases(tb.TempDir()) }},
		{"postgres", postgresDatabases},
	} {
		t.Run(engine.name, func(t *testing.T) { exactlyOnce(t, engine.dbs(t)) })
	}
}

// The events each kind of order publishes, once each.
var (
	completedChain   = []events.Type{events.OrderPlaced, events.InventoryReserved, events.PaymentCompleted, events.ShipmentCreated, events.OrderCompleted, events.InventoryCommitted}
	declinedChain    = []events.Type{events.OrderPlaced, events.InventoryReserved, events.PaymentDeclined, events.InventoryReleased, events.OrderFailed}
	unavailableChain = []events.Type{events.OrderPlaced, events.InventoryReserved, events.PaymentCompleted, events.ShipmentFailed, events.PaymentRefunded, events.InventoryReleased, events.OrderFailed}
	outOfStockChain  = []events.Type{events.OrderPlaced, events.InventoryRejected, events.OrderFailed}
	cancelledChain   = []events.Type{events.OrderPlaced, events.InventoryReserved, events.PaymentCompleted, events.OrderCancelRequested,
		events.ShipmentCreated, events.ShipmentCancelled, events.PaymentRefunded, events.InventoryReleased, events.OrderCancelled}
)

// onceOrder is an order of the exactly-once test and how it must end.
type onceOrder struct {
	name    string
	country string
	qty     int64
	stock   int64 // of the order's own product
	credit  int64 // of the order's own customer
	status  domain.Status
	reason  domain.FailureReason
	steps   [3]domain.StepStatus
	chain   []events.Type
}

// oncePrice is the price of every product of the test, in cents.
const oncePrice = 1000

func exactlyOnce(t *testing.T, dbs map[hosted.Role]string) {
	start := time.Now()
	ctx := context.Background()
	e := newOnceEnv(t, dbs)
	a := api{base: e.api.URL}
	u := kafkatest.Unique()

	completed := func(name string) onceOrder {
		return onceOrder{name: name, country: "DE", qty: 2, stock: 5, credit: 100_000,
			status: domain.StatusCompleted, steps: allDone, chain: completedChain}
	}
	batch := []onceOrder{
		completed("ok-1"), completed("ok-2"), completed("ok-3"), completed("ok-4"),
		{name: "declined-1", country: "DE", qty: 1, stock: 5, credit: 500, status: domain.StatusFailed, reason: domain.ReasonPaymentDeclined,
			steps: [3]domain.StepStatus{compensated, failed, skipped}, chain: declinedChain},
		{name: "declined-2", country: "DE", qty: 3, stock: 5, credit: 2000, status: domain.StatusFailed, reason: domain.ReasonPaymentDeclined,
			steps: [3]domain.StepStatus{compensated, failed, skipped}, chain: declinedChain},
		{name: "unavailable-1", country: "AQ", qty: 1, stock: 5, credit: 100_000, status: domain.StatusFailed, reason: domain.ReasonShippingUnavailable,
			steps: [3]domain.StepStatus{compensated, compensated, failed}, chain: unavailableChain},
		{name: "unavailable-2", country: "AQ", qty: 2, stock: 5, credit: 100_000, status: domain.StatusFailed, reason: domain.ReasonShippingUnavailable,
			steps: [3]domain.StepStatus{compensated, compensated, failed}, chain: unavailableChain},
		{name: "out-of-stock", country: "DE", qty: 6, stock: 5, credit: 100_000, status: domain.StatusFailed, reason: domain.ReasonOutOfStock,
			steps: [3]domain.StepStatus{failed, skipped, skipped}, chain: outOfStockChain},
		// Shipping is held at its PaymentCompleted while the cancel comes
		// in: it ships, then cancels, and every step is undone.
		{name: "cancelled", country: "DE", qty: 1, stock: 5, credit: 100_000, status: domain.StatusCancelled, reason: domain.ReasonCancelled,
			steps: [3]domain.StepStatus{compensated, compensated, compensated}, chain: cancelledChain},
	}
	restarted := completed("restarted")
	all := append(slices.Clone(batch), restarted)
	id := func(o onceOrder) string { return o.name + "-" + u }
	for _, o := range all {
		if _, err := e.inventory().SetProduct(ctx, inventory.ProductInput{SKU: id(o), Name: o.name, PriceCents: oncePrice, Stock: o.stock}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.payment().SetCustomer(ctx, payment.CustomerInput{ID: id(o), Name: o.name, CreditCents: domain.Cents(o.credit)}); err != nil {
			t.Fatal(err)
		}
	}
	place := func(o onceOrder) {
		a.place(t, placeRequest{OrderID: id(o), CustomerID: id(o), Items: []line{{id(o), o.qty}},
			ShipTo: address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: o.country}})
	}
	chainLen := func(os []onceOrder) int64 {
		var n int64
		for _, o := range os {
			n += int64(len(o.chain))
		}
		return n
	}
	ids := func(os []onceOrder) map[string]bool {
		m := map[string]bool{}
		for _, o := range os {
			m[id(o)] = true
		}
		return m
	}
	var table [][]string
	skippedSoFar := 0.0
	row := func(source, injected string, delivered int) {
		skipped := effectstest.Sum(e.metrics(t), "ordersaga_consumer_messages_total", "outcome", string(consumer.OutcomeDuplicate))
		table = append(table, []string{source, injected, strconv.Itoa(delivered), strconv.FormatFloat(skipped-skippedSoFar, 'f', -1, 64)})
		skippedSoFar = skipped
	}

	// 1. The relays publish every message of the batch twice.
	e.doubling.Store(true)
	held := e.holds.add(t, events.Shipping, events.PaymentCompleted, id(batch[len(batch)-1]), false)
	for _, o := range batch {
		place(o)
	}
	held.waitReached(t)
	if st := a.cancel(t, id(batch[len(batch)-1])); st != http.StatusAccepted {
		t.Fatalf("cancel: %d, want 202", st)
	}
	held.unblock()
	for _, o := range batch {
		expect(t, a.waitFinal(t, id(o)), o.status, o.reason, o.steps)
	}
	want := chainLen(batch)
	e.waitEvents(t, ids(batch), int(want), func() bool { return e.copies.Load() >= want })
	e.doubling.Store(false)
	e.waitCaughtUp(t)
	relayCopies := e.copies.Load()
	if relayCopies != want {
		t.Errorf("the relays published %d messages twice, want the batch's %d events", relayCopies, want)
	}
	dups := e.seen.duplicates()
	row("relay publishes every event of the batch twice", fmt.Sprintf("%d copies", relayCopies), dups)

	// 2. Payment applies an event of the last order and stops before its
	// offset is committed.
	before := dups
	held = e.holds.add(t, events.Payment, events.InventoryReserved, id(restarted), true)
	place(restarted)
	held.waitReached(t)
	e.stop(t, hosted.RolePayment)
	held.unblock()
	e.start(t, hosted.RolePayment)
	expect(t, a.waitFinal(t, id(restarted)), restarted.status, restarted.reason, restarted.steps)
	e.waitEvents(t, ids(all), int(chainLen(all)), nil)
	e.waitCaughtUp(t)
	dups = e.seen.duplicates()
	if dups-before < 1 {
		t.Errorf("the restarted payment service got no event again")
	}
	row("payment restarted after applying, before committing its offset", "1 batch", dups-before)

	// 3. Every group is reset to the oldest offset and reads it all again.
	before = dups
	for _, role := range onceRoles {
		e.stop(t, role)
	}
	reread := 0
	for _, role := range onceRoles {
		reread += e.resetGroup(t, e.group(events.Service(role)))
	}
	for _, role := range onceRoles {
		e.start(t, role)
	}
	e.waitCaughtUp(t)
	dups = e.seen.duplicates()
	if dups-before < reread {
		t.Errorf("after the reset the groups got %d events again, want the %d messages they had read", dups-before, reread)
	}
	row("every consumer group reset to the oldest offset", fmt.Sprintf("%d messages re-read", reread), dups-before)

	// 4. Dead letters of events every group had applied are replayed: the
	// inventory events of every order, parked as payment's consumer parks
	// what it gives up on.
	before = dups
	replayed := e.replayDeadLetters(t, ids(all))
	if replayed != len(all) {
		t.Errorf("replayed %d dead letters, want one per order (%d)", replayed, len(all))
	}
	e.waitCaughtUp(t)
	dups = e.seen.duplicates()
	if dups-before < replayed {
		t.Errorf("the replay delivered %d events again, want at least the %d replayed", dups-before, replayed)
	}
	row("dead letters of applied events replayed", fmt.Sprintf("%d letters", replayed), dups-before)

	// Effects: one per order and step, whatever the duplicates.
	var final []effectstest.Order
	for _, o := range all {
		got := a.get(t, id(o))
		expect(t, got, o.status, o.reason, o.steps)
		final = append(final, effectstest.Order{ID: id(o), SKU: id(o), Stock: o.stock, Quantity: o.qty, Customer: id(o), Credit: o.credit,
			Status: got.Status, Total: o.qty * oncePrice, Steps: map[domain.StepName]domain.StepStatus{
				domain.StepInventory: got.step(domain.StepInventory), domain.StepPayment: got.step(domain.StepPayment), domain.StepShipping: got.step(domain.StepShipping)}})
	}
	rep, err := effectstest.Audit(ctx, e.services(), final)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range rep.Mismatches {
		t.Error(m)
	}
	log := e.eventLog(t, ids(all))
	emitted := 0
	for _, o := range all {
		for _, typ := range o.chain {
			if n := len(log.ids[id(o)][typ]); n != 1 {
				t.Errorf("order %s: %d %s events emitted, want 1", id(o), n, typ)
			}
		}
		for typ, set := range log.ids[id(o)] {
			emitted += len(set)
			if !slices.Contains(o.chain, typ) {
				t.Errorf("order %s: unexpected %s emitted (%d)", id(o), typ, len(set))
			}
		}
	}
	if log.copies < int(relayCopies)+replayed {
		t.Errorf("the topics hold %d copies of events, want at least the %d the relays and the replay made", log.copies, int(relayCopies)+replayed)
	}
	samples := e.metrics(t)
	runs, wantRuns := effectstest.StepRuns(samples), effectstest.Runs(final)
	for r, n := range wantRuns {
		if runs[r] != n {
			t.Errorf("%s: %d runs, want %d", r, runs[r], n)
		}
	}
	for r, n := range runs {
		if _, ok := wantRuns[r]; !ok {
			t.Errorf("%s: %d runs, want none", r, n)
		}
	}
	finals := effectstest.Sum(samples, "ordersaga_orders_final_total")
	if int(finals) != len(all) {
		t.Errorf("%v orders counted final, want %d", finals, len(all))
	}
	skipped := effectstest.Sum(samples, "ordersaga_consumer_messages_total", "outcome", string(consumer.OutcomeDuplicate))
	if skipped < float64(replayed) || int(skipped) > dups {
		t.Errorf("the inboxes skipped %v duplicates; want at least the %d replayed, at most the %d duplicate deliveries", skipped, replayed, dups)
	}

	table = append(table, []string{"total", "", strconv.Itoa(dups), strconv.FormatFloat(skipped, 'f', -1, 64)})
	t.Logf("%d orders, %d events (one id each), %d messages on the topics; duplicates injected, delivered to a consumer group "+
		"(an event id the group had been delivered before) and skipped by its inbox (the others are of types the group does not react to):\n%s",
		len(all), emitted, log.messages, effectstest.Table([]string{"source", "injected", "duplicate deliveries", "skipped by the inbox"}, table))
	t.Logf("effects applied (from the services' tables) and runs of the steps (from ordersaga_saga_step_duration_seconds):\n%s",
		effectTable(rep, wantRuns, runs, len(all), emitted, finals))

	// Beyond the inbox's retention: payment forgets every event it handled
	// and reads its topics again. The services' idempotency by order id
	// keeps every effect once, but payment emits again what it had emitted.
	e.stop(t, hosted.RolePayment)
	pdb := e.paymentDB(t)
	if n, err := inbox.Prune(ctx, pdb, time.Now().Add(time.Hour)); err != nil || n == 0 {
		t.Fatalf("pruning payment's inbox: %d, %v", n, err)
	}
	pdb.Close()
	e.resetGroup(t, e.group(events.Payment))
	e.start(t, hosted.RolePayment)
	e.waitCaughtUp(t)
	e.waitQuiet(t)
	again, err := effectstest.Audit(ctx, e.services(), final)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range again.Mismatches {
		t.Errorf("after payment's inbox was pruned: %s", m)
	}
	log2 := e.eventLog(t, ids(all))
	reemitted := map[events.Type]int{}
	for _, o := range all {
		for typ, set := range log2.ids[id(o)] {
			if n := len(set) - len(log.ids[id(o)][typ]); n > 0 {
				reemitted[typ] += n
			}
		}
	}
	runsBefore, runsAfter := effectstest.StepRuns(samples), effectstest.StepRuns(e.metrics(t))
	rerun := map[string]int64{}
	for r, n := range runsAfter {
		if d := n - runsBefore[r]; d > 0 {
			rerun[r.String()] = d
		}
	}
	t.Logf("beyond the inbox's retention (payment's inbox pruned, its group reset): effects still once per order (%d mismatches); "+
		"steps run again (each finding the outcome recorded by order id): %v; events emitted again with new ids: %v",
		len(again.Mismatches), rerun, reemitted)
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}

// effectTable renders the effects and step runs of an audit.
func effectTable(rep effectstest.Report, want, got map[effectstest.Run]int64, orders, emitted int, finals float64) string {
	var rows [][]string
	for _, c := range rep.Counts {
		rows = append(rows, []string{string(c.Kind), strconv.FormatInt(c.Want, 10), strconv.FormatInt(c.Got, 10)})
	}
	var keys []effectstest.Run
	for r := range want {
		keys = append(keys, r)
	}
	slices.SortFunc(keys, func(a, b effectstest.Run) int { return strings.Compare(a.String(), b.String()) })
	for _, r := range keys {
		rows = append(rows, []string{"runs: " + r.String(), strconv.FormatInt(want[r], 10), strconv.FormatInt(got[r], 10)})
	}
	rows = append(rows,
		[]string{"events emitted (distinct ids)", strconv.Itoa(emitted), strconv.Itoa(emitted)},
		[]string{"orders made final", strconv.Itoa(orders), strconv.FormatFloat(finals, 'f', -1, 64)})
	return effectstest.Table([]string{"effect", "once per order", "applied"}, rows)
}

// onceRoles are the services the exactly-once test runs: the order service
// and the services of the saga's steps.
var onceRoles = []hosted.Role{hosted.RoleOrders, hosted.RoleInventory, hosted.RolePayment, hosted.RoleShipping}

// onceEnv runs each service as a Stack of its own on dbs and topics of its
// own, counting what reaches each consumer group and able to publish every
// event twice.
type onceEnv struct {
	dbs    map[hosted.Role]string
	topics events.Topics
	holds  *holds
	seen   *deliveries
	api    *httptest.Server
	// doubling makes the relays publish every message twice; copies counts
	// the messages published a second time.
	doubling atomic.Bool
	copies   atomic.Int64

	mu     sync.Mutex
	stacks map[hosted.Role]*running
	// retired are the metrics of the processes stopped so far.
	retired []effectstest.Sample
}

func newOnceEnv(t *testing.T, dbs map[hosted.Role]string) *onceEnv {
	e := &onceEnv{dbs: dbs, topics: events.Topics{Prefix: "once" + kafkatest.Unique()}, holds: &holds{},
		seen: &deliveries{byGroup: map[string]map[string]int{}}, stacks: map[hosted.Role]*running{}}
	t.Cleanup(func() {
		if e.api != nil {
			e.api.Close()
		}
		for _, role := range onceRoles {
			if r := e.stack(role); r != nil {
				_ = r.stop()
			}
		}
	})
	for _, role := range onceRoles {
		e.start(t, role)
	}
	e.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.stack(hosted.RoleOrders).Handler().ServeHTTP(w, r)
	}))
	return e
}

// group returns the consumer group of a service.
func (e *onceEnv) group(s events.Service) string { return e.topics.Prefix + "." + string(s) }

func (e *onceEnv) config(t *testing.T, role hosted.Role) stack.Config {
	svc := events.Service(role)
	group := e.group(svc)
	return stack.Config{
		Hosted:      hosted.Config{Roles: []hosted.Role{role}, Databases: e.dbs},
		Brokers:     brokers,
		TopicPrefix: e.topics.Prefix,
		Auth:        authtest.Keys(t),
		Logger:      logger.With("env", "once", "process", role),
		Middleware: func(events.Service) []consumer.Middleware {
			return []consumer.Middleware{e.seen.middleware(group), e.holds.middleware(svc)}
		},
		WrapPublisher: func(_ events.Service, p outbox.Publisher) outbox.Publisher {
			return &doubling{next: p, on: &e.doubling, copies: &e.copies}
		},
	}
}

// start starts the process of role on its database.
func (e *onceEnv) start(t *testing.T, role hosted.Role) {
	t.Helper()
	r, err := start(context.Background(), e.config(t, role))
	if err != nil {
		t.Fatalf("starting the %s process: %v", role, err)
	}
	e.mu.Lock()
	e.stacks[role] = r
	e.mu.Unlock()
}

// stop stops the process of role, as SIGTERM would, keeping its metrics.
func (e *onceEnv) stop(t *testing.T, role hosted.Role) {
	t.Helper()
	r := e.stack(role)
	if err := r.stop(); err != nil {
		t.Fatalf("stopping the %s process: %v", role, err)
	}
	samples, err := effectstest.Gather(r.reg)
	if err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	e.retired = append(e.retired, samples...)
	e.stacks[role] = nil
	e.mu.Unlock()
}

func (e *onceEnv) stack(role hosted.Role) *running {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stacks[role]
}

// metrics returns the metrics of every process run so far.
func (e *onceEnv) metrics(t *testing.T) []effectstest.Sample {
	t.Helper()
	e.mu.Lock()
	out := slices.Clone(e.retired)
	e.mu.Unlock()
	for _, role := range onceRoles {
		samples, err := effectstest.Gather(e.stack(role).reg)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, samples...)
	}
	return out
}

func (e *onceEnv) inventory() *inventory.Service {
	return e.stack(hosted.RoleInventory).Hosted().Inventory
}

func (e *onceEnv) payment() *payment.Service { return e.stack(hosted.RolePayment).Hosted().Payment }

func (e *onceEnv) services() effectstest.Services {
	return effectstest.Services{Inventory: e.inventory(), Payment: e.payment(),
		Shipping: e.stack(hosted.RoleShipping).Hosted().Shipping}
}

// paymentDB opens payment's database while its process is stopped.
func (e *onceEnv) paymentDB(t *testing.T) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), e.dbs[hosted.RolePayment])
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// serviceTopics returns the topics the services publish to.
func (e *onceEnv) serviceTopics() []string {
	var out []string
	for _, s := range events.Services() {
		out = append(out, e.topics.Of(s))
	}
	return out
}

// waitEvents waits until the topics hold n distinct events of the orders
// and more holds (when given).
func (e *onceEnv) waitEvents(t *testing.T, orders map[string]bool, n int, more func() bool) {
	t.Helper()
	deadline := time.Now().Add(finalWithin)
	for {
		l := e.eventLog(t, orders)
		if l.distinct >= n && (more == nil || more()) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the topics hold %d distinct events of the orders, want %d", l.distinct, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitCaughtUp waits until every running group committed the end of every
// partition of the topics it reads.
func (e *onceEnv) waitCaughtUp(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(finalWithin)
	for {
		behind := ""
		ends := endOffsets(t, e.serviceTopics())
		for _, s := range events.Services() {
			committed := groupOffsets(t, e.group(s))
			for topic, parts := range committed {
				if !slices.Contains(e.serviceTopics(), topic) {
					continue
				}
				for p, end := range ends[topic] {
					if end > 0 && parts[p] < end {
						behind = fmt.Sprintf("group %s at %d of %s/%d, which ends at %d", e.group(s), parts[p], topic, p, end)
					}
				}
			}
		}
		if behind == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the consumer groups never caught up: %s", behind)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitQuiet waits until the topics stop growing and the groups caught up.
func (e *onceEnv) waitQuiet(t *testing.T) {
	t.Helper()
	total := func() int64 {
		var n int64
		for _, parts := range endOffsets(t, e.serviceTopics()) {
			for _, end := range parts {
				n += end
			}
		}
		return n
	}
	last := total()
	for range 100 {
		time.Sleep(300 * time.Millisecond)
		e.waitCaughtUp(t)
		now := total()
		if now == last {
			return
		}
		last = now
	}
	t.Fatal("the topics never stopped growing")
}

// resetGroup sets the committed offsets of a group with no member to the
// start of the service topics it read, as `kafka-consumer-groups
// --reset-offsets --to-earliest` does, and returns how many messages the
// group will read again.
func (e *onceEnv) resetGroup(t *testing.T, group string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), finalWithin)
	defer cancel()
	commits := map[string][]kafka.OffsetCommit{}
	reread := 0
	for topic, parts := range groupOffsets(t, group) {
		if !slices.Contains(e.serviceTopics(), topic) {
			continue
		}
		for p, off := range parts {
			commits[topic] = append(commits[topic], kafka.OffsetCommit{Partition: p, Offset: 0})
			reread += int(off)
		}
	}
	if len(commits) == 0 {
		t.Fatalf("group %s committed nothing", group)
	}
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	for {
		resp, err := client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: group, GenerationID: -1, Topics: commits})
		if err == nil {
			for _, parts := range resp.Topics {
				for _, p := range parts {
					err = errors.Join(err, p.Error)
				}
			}
		}
		if err == nil {
			return reread
		}
		if ctx.Err() != nil {
			t.Fatalf("resetting group %s: %v", group, err)
		}
		time.Sleep(50 * time.Millisecond) // the group may still have a member leaving
	}
}

// replayDeadLetters parks the inventory events of the orders on the
// dead-letter topic as payment's consumer does with what it gives up on,
// then replays them with the dlq package, and returns how many it
// replayed.
func (e *onceEnv) replayDeadLetters(t *testing.T, orders map[string]bool) int {
	t.Helper()
	ctx := context.Background()
	w := broker.NewWriter(brokers, nil)
	defer w.Close()
	seen := map[string]bool{}
	var batch []*consumer.Message
	for _, km := range readTopics(t, []string{e.topics.Of(events.Inventory)}) {
		m := consumer.NewMessage(km)
		if m.Event == nil || !orders[m.Event.OrderID] || seen[m.Event.EventID] ||
			m.Event.Type != events.InventoryReserved && m.Event.Type != events.InventoryRejected {
			continue
		}
		seen[m.Event.EventID] = true
		batch = append(batch, m)
	}
	group := e.group(events.Payment)
	park := consumer.DeadLetter(consumer.DeadLetterConfig{Publisher: w, Topic: e.topics.DeadLetter(), Group: group})
	err := park(func(context.Context, []*consumer.Message) error {
		var f consumer.Failures
		for _, m := range batch {
			f = append(f, consumer.Failure{Message: m, Err: consumer.Permanent(errors.New("parked for the exactly-once test")), Attempts: 1})
		}
		return f
	})(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	client := dlq.Client{Brokers: brokers, Topic: e.topics.DeadLetter()}
	letters, err := client.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, l := range letters {
		if l.Group == group && seen[l.EventID] {
			refs = append(refs, l.Ref())
		}
	}
	chosen, err := dlq.Select(letters, refs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := dlq.Replay(ctx, w, chosen...); err != nil {
		t.Fatal(err)
	}
	return len(chosen)
}

// eventLog is what the service topics hold about some orders.
type eventLog struct {
	ids      map[string]map[events.Type]map[string]bool // order → type → event ids
	messages int                                        // messages of the orders
	distinct int                                        // distinct event ids among them
	copies   int                                        // messages - distinct
}

func (e *onceEnv) eventLog(t *testing.T, orders map[string]bool) eventLog {
	t.Helper()
	l := eventLog{ids: map[string]map[events.Type]map[string]bool{}}
	seen := map[string]bool{}
	for _, km := range readTopics(t, e.serviceTopics()) {
		ev, err := events.Decode(km.Value)
		if err != nil || !orders[ev.OrderID] {
			continue
		}
		l.messages++
		if seen[ev.EventID] {
			l.copies++
			continue
		}
		seen[ev.EventID] = true
		l.distinct++
		if l.ids[ev.OrderID] == nil {
			l.ids[ev.OrderID] = map[events.Type]map[string]bool{}
		}
		if l.ids[ev.OrderID][ev.Type] == nil {
			l.ids[ev.OrderID][ev.Type] = map[string]bool{}
		}
		l.ids[ev.OrderID][ev.Type][ev.EventID] = true
	}
	return l
}

// endOffsets returns the end offset of every partition of the topics.
func endOffsets(t *testing.T, topics []string) map[string]map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	reqs := map[string][]kafka.OffsetRequest{}
	for _, tp := range meta.Topics {
		if tp.Error != nil {
			t.Fatalf("topic %s: %v", tp.Name, tp.Error)
		}
		for _, p := range tp.Partitions {
			reqs[tp.Name] = append(reqs[tp.Name], kafka.LastOffsetOf(p.ID))
		}
	}
	resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: reqs})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[int]int64{}
	for topic, parts := range resp.Topics {
		out[topic] = map[int]int64{}
		for _, p := range parts {
			if p.Error != nil {
				t.Fatalf("offsets of %s/%d: %v", topic, p.Partition, p.Error)
			}
			out[topic][p.Partition] = p.LastOffset
		}
	}
	return out
}

// groupOffsets returns the offsets a group committed, by topic and
// partition.
func groupOffsets(t *testing.T, group string) map[string]map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	resp, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group})
	if err == nil {
		err = resp.Error
	}
	if err != nil {
		t.Fatalf("offsets of group %s: %v", group, err)
	}
	out := map[string]map[int]int64{}
	for topic, parts := range resp.Topics {
		out[topic] = map[int]int64{}
		for _, p := range parts {
			if p.Error == nil && p.CommittedOffset >= 0 {
				out[topic][p.Partition] = p.CommittedOffset
			}
		}
	}
	return out
}

// readTopics reads every message of the topics, partition by partition.
func readTopics(t *testing.T, topics []string) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), finalWithin)
	defer cancel()
	var out []kafka.Message
	for topic, parts := range endOffsets(t, topics) {
		for p, end := range parts {
			if end == 0 {
				continue
			}
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond})
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					r.Close()
					t.Fatalf("reading %s/%d: %v", topic, p, err)
				}
				out = append(out, m)
				if m.Offset >= end-1 {
					break
				}
			}
			r.Close()
		}
	}
	return out
}

// doubling publishes every batch twice while on is set when the batch
// comes in, counting the messages of the second copies in copies.
type doubling struct {
	next   outbox.Publisher
	on     *atomic.Bool
	copies *atomic.Int64
}

func (d *doubling) Publish(ctx context.Context, msgs ...kafka.Message) error {
	twice := d.on.Load()
	if err := d.next.Publish(ctx, msgs...); err != nil || !twice {
		return err
	}
	if err := d.next.Publish(ctx, msgs...); err != nil {
		return err
	}
	d.copies.Add(int64(len(msgs)))
	return nil
}

// deliveries counts the events handed to each consumer group's handler.
type deliveries struct {
	mu      sync.Mutex
	byGroup map[string]map[string]int // group → event id → deliveries
}

// middleware counts what reaches the group's handler.
func (d *deliveries) middleware(group string) consumer.Middleware {
	return func(next consumer.Handler) consumer.Handler {
		return func(ctx context.Context, batch []*consumer.Message) error {
			d.mu.Lock()
			if d.byGroup[group] == nil {
				d.byGroup[group] = map[string]int{}
			}
			for _, m := range batch {
				if m.Event != nil {
					d.byGroup[group][m.Event.EventID]++
				}
			}
			d.mu.Unlock()
			return next(ctx, batch)
		}
	}
}

// duplicates returns the deliveries, over every group, of an event the
// group had been delivered before.
func (d *deliveries) duplicates() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, ids := range d.byGroup {
		for _, c := range ids {
			n += c - 1
		}
	}
	return n
}
