package stack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/broker"
	"github.com/ordersaga/ordersaga/choreographed/dlq"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/internal/kafkatest"
	"github.com/ordersaga/ordersaga/choreographed/outbox"
	"github.com/ordersaga/ordersaga/choreographed/stack"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/payment"
)

// The event-evolution tests run the order service (the producer of
// OrderCompleted) and the steps' services (inventory consumes
// OrderCompleted to commit the stock) as two processes on one broker and
// one set of databases, and restart either with other event versions
// while orders are in flight: a rolling upgrade.

// evolution is the two processes of an event-evolution test.
type evolution struct {
	t      *testing.T
	dbs    map[hosted.Role]string
	prefix string
	// wrap, when set, wraps the order process's publisher.
	wrap func(outbox.Publisher) outbox.Publisher
	api  *httptest.Server

	mu            sync.Mutex
	orders, steps *running
}

// newEvolution starts the order process writing OrderCompleted as version
// write and the steps' process reading it up to version read.
func newEvolution(t *testing.T, dbs map[hosted.Role]string, write, read int, wrap func(outbox.Publisher) outbox.Publisher) *evolution {
	e := &evolution{t: t, dbs: dbs, prefix: "evolution" + kafkatest.Unique(), wrap: wrap}
	e.startSteps(read)
	e.startOrders(write)
	e.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.process(&e.orders).Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		e.api.Close()
		var wg sync.WaitGroup
		for _, p := range []**running{&e.orders, &e.steps} {
			wg.Go(func() {
				if err := e.process(p).stop(); err != nil {
					t.Errorf("stopping a process: %v", err)
				}
			})
		}
		wg.Wait()
	})
	return e
}

func (e *evolution) process(p **running) *running {
	e.mu.Lock()
	defer e.mu.Unlock()
	return *p
}

func (e *evolution) config(name string, roles ...hosted.Role) stack.Config {
	return stack.Config{
		Hosted:      hosted.Config{Roles: roles, Databases: e.dbs},
		Brokers:     brokers,
		TopicPrefix: e.prefix,
		Auth:        authtest.Keys(e.t),
		Logger:      logger.With("env", "evolution", "process", name),
	}
}

// startOrders starts the order process writing OrderCompleted as version
// write.
func (e *evolution) startOrders(write int) {
	cfg := e.config(fmt.Sprintf("orders-writes-v%d", write), hosted.RoleOrders)
	cfg.WriteVersions = events.Versions{events.OrderCompleted: write}
	if e.wrap != nil {
		cfg.WrapPublisher = func(_ events.Service, p outbox.Publisher) outbox.Publisher { return e.wrap(p) }
	}
	e.set(&e.orders, cfg)
}

// startSteps starts the process of the steps' services, reading
// OrderCompleted up to version read.
func (e *evolution) startSteps(read int) {
	cfg := e.config(fmt.Sprintf("steps-read-v%d", read), hosted.RoleInventory, hosted.RolePayment, hosted.RoleShipping)
	cfg.ReadVersions = events.Versions{events.OrderCompleted: read}
	e.set(&e.steps, cfg)
}

func (e *evolution) set(p **running, cfg stack.Config) {
	e.t.Helper()
	r, err := start(context.Background(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	*p = r
	e.mu.Unlock()
}

// restart stops a process, as SIGTERM would, and starts its upgrade.
func (e *evolution) restart(p **running, upgrade func()) {
	e.t.Helper()
	if err := e.process(p).stop(); err != nil {
		e.t.Fatalf("stopping a process for its upgrade: %v", err)
	}
	upgrade()
}

func (e *evolution) inventory() *inventory.Service { return e.process(&e.steps).Hosted().Inventory }

// fixture creates a product with stock units and a customer with plenty
// of credit.
func (e *evolution) fixture(stock int64) (sku, customer string) {
	e.t.Helper()
	ctx := context.Background()
	sku, customer = "mug-"+e.prefix, "ada-"+e.prefix
	if _, err := e.inventory().SetProduct(ctx, inventory.ProductInput{SKU: sku, Name: "mug", PriceCents: 1000, Stock: stock}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.process(&e.steps).Hosted().Payment.SetCustomer(ctx, payment.CustomerInput{ID: customer, Name: "Ada", CreditCents: 10_000_000}); err != nil {
		e.t.Fatal(err)
	}
	return sku, customer
}

// waitCommitted waits until inventory committed the order's stock.
func (e *evolution) waitCommitted(id string) {
	e.t.Helper()
	deadline := time.Now().Add(finalWithin)
	for {
		r, err := e.inventory().Reservation(context.Background(), id)
		if err == nil && r.Status == inventory.Committed {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the stock of order %s was never committed: %+v, %v", id, r, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wire is what the broker holds of the test's orders: each
// OrderCompleted by order, and the distinct InventoryCommitted events of
// each order, with the OrderCompleted each was caused by.
type wire struct {
	completed map[string]*events.Envelope   // order → its OrderCompleted
	minReader map[string]string             // order → its OrderCompleted's schema-min-reader header
	committed map[string][]*events.Envelope // order → its InventoryCommitted events, one per event id
}

// readWire reads the orders and inventory topics from the start until
// every order in want has its OrderCompleted and an InventoryCommitted,
// then for a moment more, so an extra commit would show.
func readWire(t *testing.T, prefix string, want []string) wire {
	t.Helper()
	topics := events.Topics{Prefix: prefix}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, GroupID: "evolution-reader-" + kafkatest.Unique(),
		GroupTopics: []string{topics.Of(events.Orders), topics.Of(events.Inventory)}, StartOffset: kafka.FirstOffset, MaxWait: 50 * time.Millisecond})
	defer r.Close()
	w := wire{completed: map[string]*events.Envelope{}, minReader: map[string]string{}, committed: map[string][]*events.Envelope{}}
	seen := map[string]bool{}
	done := func() bool {
		for _, id := range want {
			if w.completed[id] == nil || len(w.committed[id]) == 0 {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(finalWithin)
	var quietUntil time.Time
	for {
		if quietUntil.IsZero() && done() {
			quietUntil = time.Now().Add(500 * time.Millisecond)
		}
		until := deadline
		if !quietUntil.IsZero() {
			until = quietUntil
		}
		ctx, cancel := context.WithDeadline(context.Background(), until)
		m, err := r.ReadMessage(ctx)
		cancel()
		if err != nil {
			if !quietUntil.IsZero() {
				return w
			}
			t.Fatalf("reading the events of the orders: %v; read %d OrderCompleted and the commits of %d orders", err, len(w.completed), len(w.committed))
		}
		e, err := events.Decode(m.Value)
		if err != nil || seen[e.EventID] {
			continue
		}
		seen[e.EventID] = true
		switch e.Type {
		case events.OrderCompleted:
			w.completed[e.OrderID] = e
			w.minReader[e.OrderID] = events.Header(m.Headers, events.HeaderSchemaMinReader)
		case events.InventoryCommitted:
			w.committed[e.OrderID] = append(w.committed[e.OrderID], e)
		}
	}
}

// deadLetters returns the letters of the test's dead-letter topic.
func deadLetters(t *testing.T, prefix string) []dlq.Letter {
	t.Helper()
	letters, err := dlq.Client{Brokers: brokers, Topic: events.Topics{Prefix: prefix}.DeadLetter()}.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return letters
}

// upgradeStep is one step of a rolling upgrade: the versions in force
// while a batch of orders is placed. The upgrade to the next step's
// versions starts once the first order of the batch had its stock
// committed, with the rest of the batch in flight.
type upgradeStep struct {
	write int // the OrderCompleted version the order process writes
	read  int // the newest OrderCompleted version the inventory consumer reads
}

// TestEvolution_OrderCompletedV2_RollsOutInEitherOrderWithOrdersInFlight
// upgrades the producer and the consumer of OrderCompleted from v1 to v2
// in both orders, each process restarted with the new setting on the
// same databases and broker while orders are in flight: consumers first
// (v1/v1 → v1 read by a v2 consumer → v2/v2), on SQLite; producers first
// (v1/v1 → v2 read by a v1 consumer → v2/v2), on PostgreSQL. Every order
// ends as designed, its stock committed exactly once, events of both
// versions are on the broker and consumed, each by the consumer that the
// upgrade step says, and nothing is dead-lettered.
func TestEvolution_OrderCompletedV2_RollsOutInEitherOrderWithOrdersInFlight(t *testing.T) {
	for _, c := range []struct {
		name  string
		dbs   func(t *testing.T) map[hosted.Role]string
		steps []upgradeStep
	}{
		{"consumers first", func(t *testing.T) map[hosted.Role]string { return hosted.SQLiteDatabases(t.TempDir()) },
			[]upgradeStep{{1, 1}, {1, 2}, {2, 2}}},
		{"producers first", func(t *testing.T) map[hosted.Role]string { return postgresDatabases(t) },
			[]upgradeStep{{1, 1}, {2, 1}, {2, 2}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			first := c.steps[0]
			e := newEvolution(t, c.dbs(t), first.write, first.read, nil)
			const stock = 100
			mug, ada := e.fixture(stock)
			a := api{base: e.api.URL}

			var completing, failing []string
			// handledIn: orders whose OrderCompleted was written and read
			// within one upgrade step, by its versions.
			handledIn := map[string]upgradeStep{}
			for i, s := range c.steps {
				if i > 0 {
					prev := c.steps[i-1]
					if s.read != prev.read {
						e.restart(&e.steps, func() { e.startSteps(s.read) })
					}
					if s.write != prev.write {
						e.restart(&e.orders, func() { e.startOrders(s.write) })
					}
				}
				var batch []string
				for j := range 4 {
					id := fmt.Sprintf("o%d%d-%s", i, j, e.prefix)
					country := "DE"
					if j == 3 {
						country = "AQ" // not served: fails after payment, compensated
					}
					a.place(t, placeRequest{OrderID: id, CustomerID: ada, Items: []line{{mug, 1}},
						ShipTo: address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: country}})
					if j == 3 {
						failing = append(failing, id)
					} else {
						batch = append(batch, id)
					}
				}
				completing = append(completing, batch...)
				e.waitCommitted(batch[0]) // the rest of the batch stays in flight across the upgrade
				handledIn[batch[0]] = s
			}

			var final []orderJSON
			for _, id := range completing {
				o := a.waitFinal(t, id)
				expect(t, o, domain.StatusCompleted, "", allDone)
				final = append(final, o)
			}
			for _, id := range failing {
				o := a.waitFinal(t, id)
				expect(t, o, domain.StatusFailed, domain.ReasonShippingUnavailable, [3]domain.StepStatus{compensated, compensated, failed})
				final = append(final, o)
			}

			// Stock: every completed order's unit committed, once; nothing
			// still held.
			for _, id := range completing {
				e.waitCommitted(id)
			}
			p, err := e.inventory().Product(context.Background(), mug)
			if err != nil {
				t.Fatal(err)
			}
			if p.Reserved != 0 || p.Available != stock-int64(len(completing)) {
				t.Errorf("product: available %d, reserved %d; want %d and 0", p.Available, p.Reserved, stock-len(completing))
			}

			// The broker: one InventoryCommitted per completed order, caused
			// by its OrderCompleted; OrderCompleted of both versions.
			w := readWire(t, e.prefix, completing)
			byVersion := map[int]int{}
			for _, id := range completing {
				oc := w.completed[id]
				byVersion[oc.SchemaVersion]++
				if oc.MinReaderVersion != 1 || w.minReader[id] != "1" {
					t.Errorf("order %s: OrderCompleted v%d readable from v%d (header %q), want from v1", id, oc.SchemaVersion, oc.MinReaderVersion, w.minReader[id])
				}
				if n := len(w.committed[id]); n != 1 || w.committed[id][0].CausationID != oc.EventID {
					t.Errorf("order %s: %d InventoryCommitted events, want 1 caused by its OrderCompleted %s", id, n, oc.EventID)
				}
				if s, ok := handledIn[id]; ok && oc.SchemaVersion != s.write {
					t.Errorf("order %s, completed while the order process wrote v%d: its OrderCompleted is v%d", id, s.write, oc.SchemaVersion)
				}
				p, err := events.As[events.OrderCompletedData](oc)
				if err != nil {
					t.Fatal(err)
				}
				switch oc.SchemaVersion {
				case 1:
					if p.CustomerID != "" || len(p.Missing) != 1 {
						t.Errorf("order %s: v1 read as %+v, want customer_id missing", id, p)
					}
				case 2:
					if p.CustomerID != ada || p.CompletedAt.IsZero() || p.Missing != nil {
						t.Errorf("order %s: v2 read as %+v, want customer %s and the completion time", id, p, ada)
					}
				}
			}
			if byVersion[1] < 1 || byVersion[2] < 1 || byVersion[1]+byVersion[2] != len(completing) {
				t.Errorf("OrderCompleted by schema version %v: want both versions, %d in all", byVersion, len(completing))
			}
			// Each combination of the upgrade happened: an event of the
			// step's version, read by a consumer of the step's.
			for _, s := range c.steps {
				found := false
				for _, got := range handledIn {
					found = found || got == s
				}
				if !found {
					t.Errorf("no order was written as v%d and read by a consumer of v%d", s.write, s.read)
				}
			}
			if letters := deadLetters(t, e.prefix); len(letters) != 0 {
				t.Errorf("%d events dead-lettered, want none; the first: %s %s", len(letters), letters[0].EventType, letters[0].Reason)
			}
		})
	}
}

// minReader2 rewrites every OrderCompleted it publishes as unreadable by
// v1 readers (min_reader_version 2, in the envelope and the header): the
// order service of a v2 that changed what v1 readers rely on.
type minReader2 struct{ next outbox.Publisher }

func (p minReader2) Publish(ctx context.Context, msgs ...kafka.Message) error {
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		out[i] = m
		if events.Header(m.Headers, events.HeaderEventType) != string(events.OrderCompleted) {
			continue
		}
		var env map[string]json.RawMessage
		if err := json.Unmarshal(m.Value, &env); err != nil {
			return err
		}
		env["min_reader_version"] = json.RawMessage("2")
		v, err := json.Marshal(env)
		if err != nil {
			return err
		}
		out[i].Value = v
		out[i].Headers = events.SetHeader(m.Headers, events.HeaderSchemaMinReader, "2")
	}
	return p.next.Publish(ctx, out...)
}

// TestEvolution_AChangeOldConsumersCannotRead_IsDeadLetteredThenReplayedAfterTheirUpgrade
// runs an order service whose OrderCompleted v2 v1 readers cannot read
// (min reader 2) next to an inventory consumer that reads v1 only: the
// orders complete, the consumer dead-letters each OrderCompleted
// (unsupported version) and holds the stock; once upgraded, a replay of
// the dead letters commits the stock of each order once.
func TestEvolution_AChangeOldConsumersCannotRead_IsDeadLetteredThenReplayedAfterTheirUpgrade(t *testing.T) {
	e := newEvolution(t, hosted.SQLiteDatabases(t.TempDir()), 2, 1, func(p outbox.Publisher) outbox.Publisher { return minReader2{p} })
	const stock = 10
	mug, ada := e.fixture(stock)
	a := api{base: e.api.URL}
	var ids []string
	for i := range 3 {
		id := fmt.Sprintf("o%d-%s", i, e.prefix)
		a.place(t, placeRequest{OrderID: id, CustomerID: ada, Items: []line{{mug, 1}},
			ShipTo: address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"}})
		ids = append(ids, id)
	}
	for _, id := range ids {
		expect(t, a.waitFinal(t, id), domain.StatusCompleted, "", allDone)
	}

	// The old inventory consumer dead-letters every OrderCompleted.
	var letters []dlq.Letter
	deadline := time.Now().Add(finalWithin)
	for len(letters) < len(ids) {
		letters = letters[:0]
		for _, l := range deadLetters(t, e.prefix) {
			if l.EventType == events.OrderCompleted {
				letters = append(letters, l)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d OrderCompleted dead-lettered, want %d", len(letters), len(ids))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, l := range letters {
		if l.Group != e.prefix+"."+string(events.Inventory) || !strings.Contains(l.Reason, events.ErrUnsupportedVersion.Error()) ||
			!strings.Contains(l.Reason, "readable from v2") || l.Attempts != 1 {
			t.Errorf("dead letter of order %s: group %s, %d attempts, reason %q; want the inventory group's unsupported version at once", l.OrderID, l.Group, l.Attempts, l.Reason)
		}
	}
	if n := len(deadLetters(t, e.prefix)); n != len(ids) {
		t.Errorf("%d dead letters, want only the %d OrderCompleted", n, len(ids))
	}
	held := func() inventory.Product {
		p, err := e.inventory().Product(context.Background(), mug)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := held(); p.Reserved != int64(len(ids)) {
		t.Fatalf("before the upgrade: %d units reserved, want the %d of the completed orders still held", p.Reserved, len(ids))
	}

	// Upgrade the consumer: it reads the next order's OrderCompleted, and
	// holds the stock of the dead-lettered ones...
	e.restart(&e.steps, func() { e.startSteps(2) })
	next := "next-" + e.prefix
	a.place(t, placeRequest{OrderID: next, CustomerID: ada, Items: []line{{mug, 1}},
		ShipTo: address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"}})
	e.waitCommitted(next)
	for _, id := range ids {
		if r, err := e.inventory().Reservation(context.Background(), id); err != nil || r.Status != inventory.Reserved {
			t.Fatalf("order %s after the upgrade, before the replay: %+v, %v", id, r, err)
		}
	}
	ids = append(ids, next)
	// ...until the replay of the dead letters commits it.
	w := broker.NewWriter(brokers, nil)
	defer w.Close()
	if err := dlq.Replay(context.Background(), w, letters...); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		e.waitCommitted(id)
	}
	if p := held(); p.Reserved != 0 || p.Available != stock-int64(len(ids)) {
		t.Errorf("after the replay: available %d, reserved %d; want %d and 0", p.Available, p.Reserved, stock-len(ids))
	}
	wr := readWire(t, e.prefix, ids)
	for _, id := range ids {
		if oc := wr.completed[id]; oc.SchemaVersion != 2 || oc.MinReaderVersion != 2 || wr.minReader[id] != "2" {
			t.Errorf("order %s: OrderCompleted v%d readable from v%d (header %q), want v2 from v2", id, oc.SchemaVersion, oc.MinReaderVersion, wr.minReader[id])
		}
		if n := len(wr.committed[id]); n != 1 {
			t.Errorf("order %s: %d InventoryCommitted events, want 1", id, n)
		}
	}
}
