package orders_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/intake"
	chorders "github.com/ordersaga/ordersaga/choreographed/orders"
	"github.com/ordersaga/ordersaga/choreographed/outbox"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
	"github.com/ordersaga/ordersaga/shared/timeline"
)

var t0 = time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)

// clock is a clock that moves one millisecond at each reading, so every
// time the service takes differs.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// service is the choreographed order service on one database: its flow
// (placing and cancelling orders), its reactions and its timeline, all on
// one clock.
type service struct {
	t        *testing.T
	db       *sqldb.DB
	store    *orders.Store
	timeline *chorders.Timeline
	flow     *intake.Service
	routes   consumer.Routes
	clock    *clock
}

// onBothEngines runs each case as a subtest on one order database of each
// engine, migrated as the choreographed stack migrates it; the cases share
// the database and use order ids of their own.
func onBothEngines(t *testing.T, cases map[string]func(t *testing.T, s *service)) {
	for _, d := range sqltest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			db := sqltest.Open(t, d, orders.Migrations(), outbox.Migrations(d), chorders.Migrations(d))
			c := &clock{t: t0}
			store := orders.New(db)
			tl := chorders.NewTimeline(events.NewTable(nil), store, c.now)
			emit := tl.Recording(outbox.Emitter{Outbox: outbox.New(c.now), Now: c.now})
			routes := chorders.New(events.NewTable(nil), store, emit, tl).Routes()
			for _, name := range slices.Sorted(maps.Keys(cases)) {
				t.Run(name, func(t *testing.T) {
					cases[name](t, &service{t: t, db: db, store: store, timeline: tl, flow: intake.New(store, emit, c.now), routes: routes, clock: c})
				})
			}
		})
	}
}

// stepEvent returns p as a step event of type typ of the default saga.
func stepEvent(typ events.Type, p events.StepEvent) events.StepEvent {
	ref, _ := events.NewTable(nil).Lookup(typ)
	p.Type, p.Step = typ, ref.Step.Name
	return p
}

// place places order id to country.
func (s *service) place(id, country string) {
	s.t.Helper()
	o, err := domain.NewOrder(domain.PlaceOrder{
		OrderID: id, CustomerID: "c-1", Items: []domain.Item{{SKU: "mug", Quantity: 2}},
		ShipTo: domain.Address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: country},
	}, saga.Default().Names(), s.clock.now())
	if err != nil {
		s.t.Fatal(err)
	}
	if _, _, err := s.flow.Place(context.Background(), o); err != nil {
		s.t.Fatal(err)
	}
}

// event returns a new event of another service about order id, occurring
// now.
func (s *service) event(id string, p events.Payload) *events.Envelope {
	s.t.Helper()
	e, err := events.New(p, id, nil, s.clock.now())
	if err != nil {
		s.t.Fatal(err)
	}
	return e
}

// consume hands the events to the order service, each in a transaction of
// its own, as its consumer does.
func (s *service) consume(es ...*events.Envelope) {
	s.t.Helper()
	for _, e := range es {
		if err := s.db.InTx(context.Background(), func(tx *sqldb.Tx) error { return s.routes[e.Type](context.Background(), tx, e) }); err != nil {
			s.t.Fatalf("consuming %s: %v", e.Type, err)
		}
	}
}

// lines reads the order's timeline as "service kind [step] [event]
// [status] [detail]", failing the test unless it is sorted by time.
func (s *service) lines(id string) []string {
	s.t.Helper()
	es, err := s.timeline.Timeline(context.Background(), id)
	if err != nil {
		s.t.Fatalf("timeline of %s: %v", id, err)
	}
	var out []string
	for i, e := range es {
		if i > 0 && e.At.Before(es[i-1].At) {
			s.t.Errorf("entry %d at %v is before entry %d at %v", i, e.At, i-1, es[i-1].At)
		}
		parts := []string{e.Service, string(e.Kind)}
		for _, p := range []string{string(e.Step), e.Event, string(e.Status), e.Detail} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

func expectLines(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

var priced = events.Pricing{Items: []events.PricedItem{{SKU: "mug", Quantity: 2, PriceCents: 1250}}, TotalCents: 2500}

func TestTimeline_RecordsWhatTheOrderServicePublishedAndConsumed(t *testing.T) {
	onBothEngines(t, map[string]func(*testing.T, *service){
		"ShippingUnavailable_ListsTheCompensationsInOrderAndEndsFailed": shippingUnavailable,
		"EventsConsumedOutOfOrder_AreListedWhenTheyHappened":            consumedOutOfOrder,
		"CancelledEarly_NothingToUndo_NoCompensationOfARefusedStep":     cancelledEarly,
		"RolledBackHandling_RecordsNothing":                             rolledBack,
		"UnknownOrder_IsNotFound_KnownOrderWithoutRows_IsEmpty":         unknownOrEmpty,
	})
}

func shippingUnavailable(t *testing.T, s *service) {
	s.place("aq", "AQ")
	s.consume(s.event("aq", stepEvent(events.InventoryReserved, events.StepEvent{CustomerID: "c-1", Pricing: &priced})))
	s.consume(s.event("aq", stepEvent(events.PaymentCompleted, events.StepEvent{CustomerID: "c-1", Pricing: &priced})))
	s.consume(s.event("aq", stepEvent(events.ShipmentFailed, events.StepEvent{Reason: domain.ReasonShippingUnavailable, Pricing: &priced})))
	s.consume(s.event("aq", stepEvent(events.PaymentRefunded, events.StepEvent{Outcome: saga.Undone, Cause: domain.ReasonShippingUnavailable})))
	released := s.event("aq", stepEvent(events.InventoryReleased, events.StepEvent{Outcome: saga.Undone, Cause: domain.ReasonShippingUnavailable}))
	s.consume(released)
	// A redelivery past the inbox adds nothing.
	s.consume(released)

	expectLines(t, s.lines("aq"), []string{
		"orders order_placed",
		"orders event_published OrderPlaced",
		"inventory step_done inventory",
		"inventory event_published InventoryReserved",
		"orders event_consumed InventoryReserved",
		"payment step_done payment",
		"payment event_published PaymentCompleted",
		"orders event_consumed PaymentCompleted",
		"shipping step_failed shipping shipping_unavailable",
		"shipping event_published ShipmentFailed",
		"orders event_consumed ShipmentFailed",
		"payment step_compensated payment " + timeline.DetailUndone,
		"payment event_published PaymentRefunded",
		"orders event_consumed PaymentRefunded",
		"inventory step_compensated inventory " + timeline.DetailUndone,
		"inventory event_published InventoryReleased",
		"orders event_consumed InventoryReleased",
		"orders event_published OrderFailed",
		"orders order_final failed shipping_unavailable",
	})
}

func consumedOutOfOrder(t *testing.T, s *service) {
	s.place("late", "DE")
	reserved := s.event("late", stepEvent(events.InventoryReserved, events.StepEvent{CustomerID: "c-1", Pricing: &priced}))
	charged := s.event("late", stepEvent(events.PaymentCompleted, events.StepEvent{CustomerID: "c-1", Pricing: &priced}))
	shipped := s.event("late", stepEvent(events.ShipmentCreated, events.StepEvent{TrackingNumber: "TRK-1", Pricing: &priced}))
	// The three topics deliver in another order than the events happened.
	s.consume(shipped, charged, reserved)

	expectLines(t, s.lines("late"), []string{
		"orders order_placed",
		"orders event_published OrderPlaced",
		"inventory step_done inventory",
		"inventory event_published InventoryReserved",
		"payment step_done payment",
		"payment event_published PaymentCompleted",
		"shipping step_done shipping",
		"shipping event_published ShipmentCreated",
		"orders event_consumed ShipmentCreated",
		"orders event_published OrderCompleted",
		"orders order_final completed",
		"orders event_consumed PaymentCompleted",
		"orders event_consumed InventoryReserved",
	})
}

func cancelledEarly(t *testing.T, s *service) {
	s.place("cancel", "DE")
	if _, err := s.flow.Cancel(context.Background(), "cancel"); err != nil {
		t.Fatal(err)
	}
	cancelled := func(typ events.Type, u saga.Undo) events.StepEvent {
		return stepEvent(typ, events.StepEvent{Outcome: u, Cause: domain.ReasonCancelled})
	}
	s.consume(s.event("cancel", stepEvent(events.InventoryRejected, events.StepEvent{Reason: domain.ReasonOutOfStock})))
	s.consume(s.event("cancel", cancelled(events.ShipmentCancelled, saga.Tombstone)))
	// Every step is now failed or skipped: the order ends cancelled here.
	s.consume(s.event("cancel", cancelled(events.PaymentRefunded, saga.Tombstone)))
	s.consume(s.event("cancel", cancelled(events.InventoryReleased, saga.WasRefused)))

	expectLines(t, s.lines("cancel"), []string{
		"orders order_placed",
		"orders event_published OrderPlaced",
		"orders event_published OrderCancelRequested",
		"inventory step_failed inventory out_of_stock",
		"inventory event_published InventoryRejected",
		"orders event_consumed InventoryRejected",
		"shipping step_compensated shipping " + timeline.DetailTombstone,
		"shipping event_published ShipmentCancelled",
		"orders event_consumed ShipmentCancelled",
		"payment step_compensated payment " + timeline.DetailTombstone,
		"payment event_published PaymentRefunded",
		"orders event_consumed PaymentRefunded",
		"orders event_published OrderCancelled",
		"orders order_final cancelled cancelled",
		"inventory event_published InventoryReleased",
		"orders event_consumed InventoryReleased",
	})
}

func rolledBack(t *testing.T, s *service) {
	s.place("rollback", "DE")
	e := s.event("rollback", stepEvent(events.InventoryReserved, events.StepEvent{CustomerID: "c-1", Pricing: &priced}))
	failed := errors.New("the batch failed later")
	err := s.db.InTx(context.Background(), func(tx *sqldb.Tx) error {
		if err := s.routes[e.Type](context.Background(), tx, e); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("err = %v", err)
	}
	expectLines(t, s.lines("rollback"), []string{"orders order_placed", "orders event_published OrderPlaced"})
}

func unknownOrEmpty(t *testing.T, s *service) {
	if _, err := s.timeline.Timeline(context.Background(), "nope"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("unknown order: err = %v, want not found", err)
	}
	// An order stored without its events (as before timelines were kept).
	o, err := domain.NewOrder(domain.PlaceOrder{
		OrderID: "old", CustomerID: "c-1", Items: []domain.Item{{SKU: "mug", Quantity: 1}},
		ShipTo: domain.Address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"},
	}, saga.Default().Names(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.store.Create(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	es, err := s.timeline.Timeline(context.Background(), "old")
	if err != nil || len(es) != 0 {
		t.Fatalf("order without rows: %v, %v; want no entries", es, err)
	}
}
