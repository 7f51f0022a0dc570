package stack_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/broker"
	"github.com/ordersaga/ordersaga/choreographed/dlq"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/intake"
	"github.com/ordersaga/ordersaga/choreographed/internal/kafkatest"
	"github.com/ordersaga/ordersaga/choreographed/outbox"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/shipping"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

func splitAPI() api { return api{base: split.api.URL} }

func TestSplit_EachServiceInItsOwnProcess_CompletesWithAChainOfEventsAnyClientCanRead(t *testing.T) {
	f := newFixture()
	mug := f.product(t, "mug", 1250, 10)
	ada := f.customer(t, "ada", 100_000)
	a := splitAPI()
	placed := a.place(t, f.request("o", ada, "DE", line{mug, 2}))
	if placed.Status != domain.StatusPending {
		t.Fatalf("placed order is %s, want pending", placed.Status)
	}
	o := a.waitFinal(t, placed.OrderID)
	expect(t, o, domain.StatusCompleted, "", allDone)
	if o.TotalCents == nil || *o.TotalCents != 2500 || o.Items[0].PriceCents == nil || *o.Items[0].PriceCents != 1250 {
		t.Errorf("order priced %v, items %+v; want 2500", o.TotalCents, o.Items)
	}
	f.checkInvariants(t, o)

	// The events, as a plain Kafka client sees them on the four topics.
	want := []events.Type{events.OrderPlaced, events.InventoryReserved, events.PaymentCompleted,
		events.ShipmentCreated, events.OrderCompleted, events.InventoryCommitted}
	got := readOrderEvents(t, placed.OrderID, len(want))
	byType := map[events.Type]*events.Envelope{}
	var traceID string
	for _, m := range got {
		e, err := events.Decode(m.Value)
		if err != nil {
			t.Fatalf("%s: %v", m.Value, err)
		}
		byType[e.Type] = e
		producer, _ := events.NewTable(nil).Producer(e.Type)
		if topic := (events.Topics{Prefix: splitPrefix}).Of(producer); m.Topic != topic || e.Producer != producer {
			t.Errorf("%s on topic %s, want %s", e.Type, m.Topic, topic)
		}
		if events.Header(m.Headers, events.HeaderEventType) != string(e.Type) || events.Header(m.Headers, events.HeaderEventID) != e.EventID {
			t.Errorf("%s headers %v", e.Type, m.Headers)
		}
		tp := events.Header(m.Headers, events.HeaderTraceParent)
		if len(tp) != 55 || (traceID != "" && tp[3:35] != traceID) {
			t.Errorf("%s traceparent %q is not in the order's trace %s", e.Type, tp, traceID)
		}
		traceID = tp[3:35]
	}
	root := byType[events.OrderPlaced]
	for i, typ := range want {
		e := byType[typ]
		if e == nil {
			t.Fatalf("no %s among %d events of the order", typ, len(got))
		}
		if e.CorrelationID != root.EventID {
			t.Errorf("%s correlation %s, want %s", typ, e.CorrelationID, root.EventID)
		}
		if i > 0 && e.CausationID != byType[want[i-1]].EventID {
			t.Errorf("%s caused by %s, want the %s %s", typ, e.CausationID, want[i-1], byType[want[i-1]].EventID)
		}
	}
}

// readOrderEvents reads the split environment's topics from the start with
// a plain kafka-go reader until it found n events of the order.
func readOrderEvents(t *testing.T, orderID string, n int) []kafka.Message {
	t.Helper()
	topics := events.Topics{Prefix: splitPrefix}
	var names []string
	for _, s := range events.Services() {
		names = append(names, topics.Of(s))
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, GroupID: "reader-" + kafkatest.Unique(),
		GroupTopics: names, StartOffset: kafka.FirstOffset, MaxWait: 50 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), finalWithin)
	defer cancel()
	var out []kafka.Message
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("found %d of %d events of order %s: %v", len(out), n, orderID, err)
		}
		if string(m.Key) == orderID {
			out = append(out, m)
		}
	}
	return out
}

func TestSplit_EveryEventDeliveredTwice_NothingHappensTwice(t *testing.T) {
	before := splitCounter(t, "ordersaga_consumer_messages_total", "outcome", "duplicate")
	split.dup.Store(true)
	t.Cleanup(func() { split.dup.Store(false) })

	f := newFixture()
	mug := f.product(t, "mug", 1000, 5)
	rich := f.customer(t, "rich", 100_000)
	poor := f.customer(t, "poor", 500)
	a := splitAPI()
	ok1 := a.place(t, f.request("ok1", rich, "DE", line{mug, 1}))
	ok2 := a.place(t, f.request("ok2", rich, "FR", line{mug, 2}))
	declined := a.place(t, f.request("declined", poor, "DE", line{mug, 1}))
	unavailable := a.place(t, f.request("unavailable", rich, "AQ", line{mug, 1}))
	oos := a.place(t, f.request("oos", rich, "DE", line{mug, 6}))

	final := map[string]orderJSON{}
	for _, o := range []orderJSON{ok1, ok2, declined, unavailable, oos} {
		final[o.OrderID] = a.waitFinal(t, o.OrderID)
	}
	expect(t, final[ok1.OrderID], domain.StatusCompleted, "", allDone)
	expect(t, final[ok2.OrderID], domain.StatusCompleted, "", allDone)
	expect(t, final[declined.OrderID], domain.StatusFailed, domain.ReasonPaymentDeclined, [3]domain.StepStatus{compensated, failed, skipped})
	expect(t, final[unavailable.OrderID], domain.StatusFailed, domain.ReasonShippingUnavailable, [3]domain.StepStatus{compensated, compensated, failed})
	expect(t, final[oos.OrderID], domain.StatusFailed, domain.ReasonOutOfStock, [3]domain.StepStatus{failed, skipped, skipped})
	var all []orderJSON
	for _, o := range final {
		all = append(all, o)
	}
	f.checkInvariants(t, all...)

	// Every service's consumer saw copies, and skipped them.
	after := splitCounter(t, "ordersaga_consumer_messages_total", "outcome", "duplicate")
	for _, role := range hosted.AllRoles() {
		if after[role] <= before[role] {
			t.Errorf("the %s consumer skipped no duplicate (%v before, %v after)", role, before[role], after[role])
		}
	}
}

// splitCounter sums a counter of each split process over the series with
// the label value.
func splitCounter(t *testing.T, name, label, value string) map[hosted.Role]float64 {
	t.Helper()
	out := map[hosted.Role]float64{}
	for _, role := range hosted.AllRoles() {
		out[role] = counter(t, split.stack(role).reg, name, label, value)
	}
	return out
}

func counter(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

func TestSplit_PoisonMessage_DeadLetteredWhileLaterOrdersComplete(t *testing.T) {
	topics := events.Topics{Prefix: splitPrefix}
	w := broker.NewWriter(brokers, nil)
	defer w.Close()
	key := "poison-" + kafkatest.Unique()
	poison := kafka.Message{Topic: topics.Of(events.Payment), Key: []byte(key), Value: []byte("\xff\xfe not an event")}
	if err := w.Publish(context.Background(), poison); err != nil {
		t.Fatal(err)
	}

	f := newFixture()
	mug := f.product(t, "mug", 700, 3)
	ada := f.customer(t, "ada", 10_000)
	a := splitAPI()
	o := a.waitFinal(t, a.place(t, f.request("after-poison", ada, "NL", line{mug, 1})).OrderID)
	expect(t, o, domain.StatusCompleted, "", allDone)
	f.checkInvariants(t, o)

	// Each group that reads the payment topic parked the message.
	client := dlq.Client{Brokers: brokers, Topic: topics.DeadLetter()}
	var mine []dlq.Letter
	deadline := time.Now().Add(finalWithin)
	for len(mine) < 3 {
		letters, err := client.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		mine = mine[:0]
		for _, l := range letters {
			if string(l.Key) == key {
				mine = append(mine, l)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("found %d dead letters of the poison message, want 3", len(mine))
		}
		time.Sleep(20 * time.Millisecond)
	}
	groups := map[string]bool{}
	for _, l := range mine {
		groups[l.Group] = true
		if l.OriginalTopic != poison.Topic || string(l.Value) != string(poison.Value) || !strings.Contains(l.Reason, "malformed") {
			t.Errorf("letter %+v", l)
		}
	}
	for _, s := range []events.Service{events.Inventory, events.Shipping, events.Orders} {
		if !groups[splitPrefix+"."+string(s)] {
			t.Errorf("no dead letter from the %s group; groups %v", s, groups)
		}
	}
}

func TestSplit_ServiceRestartedMidSaga_NothingLostNothingDoubled(t *testing.T) {
	f := newFixture()
	mug := f.product(t, "mug", 1500, 10)
	ada := f.customer(t, "ada", 50_000)
	a := splitAPI()
	reqA := f.request("a", ada, "DE", line{mug, 2})
	// Payment charges A and commits, then stops before committing the
	// offset: the worst moment to go down.
	h := split.holds.add(t, events.Payment, events.InventoryReserved, reqA.OrderID, true)
	a.place(t, reqA)
	h.waitReached(t)
	split.stopProcess(t, hosted.RolePayment)
	h.unblock()

	// While payment is down, B is placed and reserved.
	b := a.place(t, f.request("b", ada, "JP", line{mug, 1}))
	a.waitStep(t, b.OrderID, domain.StepInventory, domain.StepDone)
	if got := a.get(t, b.OrderID); got.step(domain.StepPayment) != domain.StepPending {
		t.Fatalf("order b got past payment while payment was down: %v", got.Steps)
	}

	split.startProcess(t, hosted.RolePayment)
	oa, ob := a.waitFinal(t, reqA.OrderID), a.waitFinal(t, b.OrderID)
	expect(t, oa, domain.StatusCompleted, "", allDone)
	expect(t, ob, domain.StatusCompleted, "", allDone)
	f.checkInvariants(t, oa, ob) // A charged once, B charged once

	// The restarted payment service got A's event again and skipped it.
	if n := counter(t, split.stack(hosted.RolePayment).reg, "ordersaga_consumer_messages_total", "outcome", "duplicate"); n < 1 {
		t.Errorf("the restarted payment service skipped %v duplicates, want the redelivered event of order a", n)
	}
}

func TestSplit_CrashBetweenCommitAndPublish_OutboxDeliversAfterRestart(t *testing.T) {
	f := newFixture()
	mug := f.product(t, "mug", 900, 4)
	ada := f.customer(t, "ada", 10_000)

	// The order service stores the order and its OrderPlaced, then dies
	// before any relay published it.
	split.stopProcess(t, hosted.RoleOrders)
	ctx := context.Background()
	db, err := sqldb.Open(ctx, split.dbs[hosted.RoleOrders])
	if err != nil {
		t.Fatal(err)
	}
	store := orders.New(db)
	fl := intake.New(store, outbox.Emitter{Outbox: outbox.New(nil), Topics: events.Topics{Prefix: splitPrefix}}, nil)
	req := f.request("crash", ada, "CA", line{mug, 3})
	o, err := domain.NewOrder(domain.PlaceOrder{OrderID: req.OrderID, CustomerID: ada,
		Items: []domain.Item{{SKU: mug, Quantity: 3}}, ShipTo: domain.Address{Name: "Ada", Line1: "1 Main St", City: "Toronto", PostalCode: "M5V", Country: "CA"}}, saga.Default().Names(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, created, err := fl.Place(ctx, o); err != nil || !created {
		t.Fatalf("Place = %v, %v", created, err)
	}
	var rows int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox WHERE msg_key = $1", []byte(req.OrderID)).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Fatalf("%d outbox rows for the order, want its OrderPlaced", rows)
	}
	db.Close()

	split.startProcess(t, hosted.RoleOrders)
	a := splitAPI()
	final := a.waitFinal(t, req.OrderID)
	expect(t, final, domain.StatusCompleted, "", allDone)
	f.checkInvariants(t, final)
}

func TestSplit_CancelAtEachStep_EndsCancelledWithEveryDoneStepCompensated(t *testing.T) {
	cases := []struct {
		name    string
		service events.Service // the service held at the event
		event   events.Type
		// waitFor: the step the cancel chain must have reached before the
		// held service goes on, so the order of events is the one named.
		waitFor domain.StepName
		steps   [3]domain.StepStatus
	}{
		// Inventory held: shipping and payment compensate first (tombstones),
		// so the late charge is a no-op; the reservation is released.
		{"during inventory", events.Inventory, events.OrderPlaced, domain.StepPayment, [3]domain.StepStatus{compensated, skipped, skipped}},
		// Payment held: shipping cancels first (a tombstone), so the late
		// shipment is a no-op; the charge is refunded.
		{"during payment", events.Payment, events.InventoryReserved, domain.StepShipping, [3]domain.StepStatus{compensated, compensated, skipped}},
		// Shipping held: it ships, then cancels the shipment.
		{"during shipping", events.Shipping, events.PaymentCompleted, "", [3]domain.StepStatus{compensated, compensated, compensated}},
		// The order service held at ShipmentCreated: it must not complete
		// an order asked to cancel.
		{"after shipping, before the order service completes", events.Orders, events.ShipmentCreated, "", [3]domain.StepStatus{compensated, compensated, compensated}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture()
			mug := f.product(t, "mug", 800, 5)
			ada := f.customer(t, "ada", 10_000)
			a := splitAPI()
			req := f.request("held", ada, "DE", line{mug, 2})
			h := split.holds.add(t, c.service, c.event, req.OrderID, false)
			a.place(t, req)
			h.waitReached(t)
			if st := a.cancel(t, req.OrderID); st != http.StatusAccepted {
				t.Fatalf("cancel: %d, want 202", st)
			}
			if c.waitFor != "" {
				a.waitStep(t, req.OrderID, c.waitFor, domain.StepSkipped)
			}
			h.unblock()
			o := a.waitFinal(t, req.OrderID)
			expect(t, o, domain.StatusCancelled, domain.ReasonCancelled, c.steps)
			f.checkInvariants(t, o)
			if st := a.cancel(t, req.OrderID); st != http.StatusAccepted {
				t.Errorf("second cancel: %d, want 202", st)
			}
			switch c.service {
			case events.Inventory: // the late charge found the refund's tombstone
				p, err := paymentSvc().Payment(context.Background(), req.OrderID)
				if err != nil || p.Status != payment.Refunded || !p.Tombstone {
					t.Errorf("payment = %+v, %v; want a refund tombstone", p, err)
				}
			case events.Payment: // the late shipment found the cancel's tombstone
				s, err := split.stack(hosted.RoleShipping).Hosted().Shipping.Shipment(context.Background(), req.OrderID)
				if err != nil || s.Status != shipping.Cancelled || !s.Tombstone || s.TrackingNumber != "" {
					t.Errorf("shipment = %+v, %v; want a cancel tombstone", s, err)
				}
			}
		})
	}
}

func TestSplit_CancelCompletedOrder_Conflict(t *testing.T) {
	f := newFixture()
	mug := f.product(t, "mug", 800, 5)
	ada := f.customer(t, "ada", 10_000)
	a := splitAPI()
	o := a.waitFinal(t, a.place(t, f.request("done", ada, "DE", line{mug, 1})).OrderID)
	if st := a.cancel(t, o.OrderID); st != http.StatusConflict {
		t.Fatalf("cancel of a completed order: %d, want 409", st)
	}
	if st := a.cancel(t, f.id("unknown")); st != http.StatusNotFound {
		t.Fatalf("cancel of an unknown order: %d, want 404", st)
	}
	expect(t, a.get(t, o.OrderID), domain.StatusCompleted, "", allDone)
	f.checkInvariants(t, o)
}

func TestSplit_DuplicatePost_StartsOneSaga(t *testing.T) {
	f := newFixture()
	mug := f.product(t, "mug", 800, 5)
	ada := f.customer(t, "ada", 10_000)
	a := splitAPI()
	req := f.request("dup", ada, "DE", line{mug, 2})
	first := a.place(t, req)
	status, b := a.do(t, http.MethodPost, "/v1/orders", req)
	if status != http.StatusOK || decode(t, b).OrderID != first.OrderID {
		t.Fatalf("repeated POST: %d %s, want 200 with the order", status, b)
	}
	other := req
	other.Items = []line{{mug, 1}}
	if status, b := a.do(t, http.MethodPost, "/v1/orders", other); status != http.StatusConflict {
		t.Fatalf("same order_id, other body: %d %s, want 409", status, b)
	}
	o := a.waitFinal(t, first.OrderID)
	expect(t, o, domain.StatusCompleted, "", allDone)
	f.checkInvariants(t, o) // two units taken once, not twice
}

func TestSplit_TransientFaults30Percent_EveryOrderStillRight(t *testing.T) {
	retries := func() float64 {
		var sum float64
		for _, role := range hosted.AllRoles() {
			sum += counter(t, split.stack(role).reg, "ordersaga_consumer_retries_total", "group", splitPrefix+"."+string(role))
		}
		return sum
	}
	retriesBefore := retries()
	deadLettered := func() float64 {
		var sum float64
		for _, n := range splitCounter(t, "ordersaga_consumer_messages_total", "outcome", "dead_lettered") {
			sum += n
		}
		return sum
	}
	deadBefore := deadLettered()
	for _, svc := range []hosted.Role{hosted.RoleInventory, hosted.RolePayment, hosted.RoleShipping} {
		in := split.stack(svc).Hosted().Faults[string(svc)]
		if err := in.Set(faults.Setting{ErrorRate: 0.3}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = in.Set(faults.Setting{}) })
	}

	f := newFixture()
	mug := f.product(t, "mug", 300, 30)
	rich := f.customer(t, "rich", 1_000_000)
	poor := f.customer(t, "poor", 100)
	a := splitAPI()
	type want struct {
		status domain.Status
		reason domain.FailureReason
	}
	wants := map[string]want{}
	var placed []string
	add := func(name, customer, country string, qty int64, w want) {
		o := a.place(t, f.request(name, customer, country, line{mug, qty}))
		wants[o.OrderID] = w
		placed = append(placed, o.OrderID)
	}
	for i := range 12 {
		add("ok"+string(rune('a'+i)), rich, "GB", 1, want{domain.StatusCompleted, ""})
	}
	for i := range 3 {
		add("declined"+string(rune('a'+i)), poor, "GB", 1, want{domain.StatusFailed, domain.ReasonPaymentDeclined})
		add("unavailable"+string(rune('a'+i)), rich, "AQ", 1, want{domain.StatusFailed, domain.ReasonShippingUnavailable})
	}
	add("oos", rich, "GB", 100, want{domain.StatusFailed, domain.ReasonOutOfStock})

	var final []orderJSON
	for _, id := range placed {
		o := a.waitFinal(t, id)
		if w := wants[id]; o.Status != w.status || o.FailureReason != w.reason {
			t.Errorf("order %s: %s %q, want %s %q (steps %v)", id, o.Status, o.FailureReason, w.status, w.reason, o.Steps)
		}
		final = append(final, o)
	}
	f.checkInvariants(t, final...)
	if retriesAfter := retries(); retriesAfter <= retriesBefore {
		t.Errorf("no retry happened under a 30%% fault rate (%v before, %v after)", retriesBefore, retriesAfter)
	}
	if n := deadLettered() - deadBefore; n != 0 {
		t.Errorf("transient faults dead-lettered %v events", n)
	}
}
