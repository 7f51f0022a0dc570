package orders

import (
	"fmt"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/outbox"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/saga"
)

var t0 = time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)

var pricing = events.Pricing{Items: []events.PricedItem{{SKU: "mug", Quantity: 2, PriceCents: 1250}}, TotalCents: 2500}

func newOrder(t *testing.T) *domain.Order {
	t.Helper()
	o, err := domain.NewOrder(domain.PlaceOrder{
		OrderID: "o-1", CustomerID: "c-1", Items: []domain.Item{{SKU: "mug", Quantity: 2}},
		ShipTo: domain.Address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"},
	}, saga.Default().Names(), t0)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// step returns a step event of type typ (of the default saga) carrying p.
func step(typ events.Type, p events.StepEvent) events.StepEvent {
	ref, ok := events.NewTable(nil).Lookup(typ)
	if !ok {
		panic("no step event " + typ)
	}
	p.Type, p.Step = typ, ref.Step.Name
	return p
}

// priced is a step event of type typ carrying the pricing.
func priced(typ events.Type) events.StepEvent {
	pr := pricing
	return step(typ, events.StepEvent{CustomerID: "c-1", Pricing: &pr})
}

// tracked is a done event of type typ carrying the pricing and a tracking
// number.
func tracked(typ events.Type, tracking string) events.StepEvent {
	p := priced(typ)
	p.TrackingNumber = tracking
	return p
}

// refused is a refusal event of type typ for reason.
func refused(typ events.Type, reason domain.FailureReason) events.StepEvent {
	p := priced(typ)
	p.Reason = reason
	return p
}

// undone is a compensation event of type typ that found u.
func undone(typ events.Type, u saga.Undo, cause domain.FailureReason) events.StepEvent {
	return step(typ, events.StepEvent{Outcome: u, Cause: cause})
}

func ev(t *testing.T, p events.Payload) *events.Envelope {
	t.Helper()
	e, err := events.New(p, "o-1", nil, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// permutations calls fn with every order of the events.
func permutations(es []*events.Envelope, fn func([]*events.Envelope)) {
	var rec func(int)
	rec = func(k int) {
		if k == len(es) {
			fn(es)
			return
		}
		for i := k; i < len(es); i++ {
			es[k], es[i] = es[i], es[k]
			rec(k + 1)
			es[k], es[i] = es[i], es[k]
		}
	}
	rec(0)
}

type want struct {
	status domain.Status
	reason domain.FailureReason
	steps  [3]domain.StepStatus // inventory, payment, shipping
	final  events.Type          // the final event emitted, exactly once
}

// check applies the events in every order of arrival and checks the result.
func check(t *testing.T, cancel bool, es []*events.Envelope, w want) {
	t.Helper()
	n := 0
	r := New(events.NewTable(nil), nil, outbox.Emitter{}, nil)
	permutations(es, func(seq []*events.Envelope) {
		n++
		o := newOrder(t)
		if cancel {
			if err := o.RequestCancel(t0); err != nil {
				t.Fatal(err)
			}
		}
		var finals []events.Type
		var order []events.Type
		for _, e := range seq {
			order = append(order, e.Type)
			ch, err := r.changeOf(e)
			if err != nil {
				t.Fatal(err)
			}
			p, err := r.reduce(o, ch, e.OccurredAt)
			if err != nil {
				t.Fatalf("%v: reduce %s: %v", order, e.Type, err)
			}
			if p != nil {
				finals = append(finals, p.EventType())
			}
		}
		s := o.State()
		got := [3]domain.StepStatus{s.Steps[0].Status, s.Steps[1].Status, s.Steps[2].Status}
		if s.Status != w.status || s.FailureReason != w.reason || got != w.steps {
			t.Fatalf("arrival %v: order %s/%s steps %v; want %s/%s %v", order, s.Status, s.FailureReason, got, w.status, w.reason, w.steps)
		}
		if fmt.Sprint(finals) != fmt.Sprint([]events.Type{w.final}) {
			t.Fatalf("arrival %v: final events %v, want [%s]", order, finals, w.final)
		}
		if w.status != domain.StatusFailed && w.status != domain.StatusCancelled && (s.TotalCents == nil || *s.TotalCents != 2500) {
			t.Fatalf("arrival %v: total %v", order, s.TotalCents)
		}
	})
	if n == 0 {
		t.Fatal("no permutation ran")
	}
}

const (
	done        = domain.StepDone
	failed      = domain.StepFailed
	compensated = domain.StepCompensated
	skipped     = domain.StepSkipped
)

func TestReduce_HappyPath_CompletesInAnyArrivalOrder(t *testing.T) {
	check(t, false, []*events.Envelope{
		ev(t, priced(events.InventoryReserved)),
		ev(t, priced(events.PaymentCompleted)),
		ev(t, tracked(events.ShipmentCreated, "TRK1")),
	}, want{status: domain.StatusCompleted, steps: [3]domain.StepStatus{done, done, done}, final: events.OrderCompleted})
}

func TestReduce_OutOfStock_FailsAtOnce(t *testing.T) {
	check(t, false, []*events.Envelope{
		ev(t, refused(events.InventoryRejected, domain.ReasonOutOfStock)),
	}, want{status: domain.StatusFailed, reason: domain.ReasonOutOfStock, steps: [3]domain.StepStatus{failed, skipped, skipped}, final: events.OrderFailed})
}

func TestReduce_PaymentDeclined_FailsOnlyOnceInventoryIsReleased(t *testing.T) {
	check(t, false, []*events.Envelope{
		ev(t, priced(events.InventoryReserved)),
		ev(t, refused(events.PaymentDeclined, domain.ReasonPaymentDeclined)),
		ev(t, undone(events.InventoryReleased, saga.Undone, domain.ReasonPaymentDeclined)),
	}, want{status: domain.StatusFailed, reason: domain.ReasonPaymentDeclined, steps: [3]domain.StepStatus{compensated, failed, skipped}, final: events.OrderFailed})
}

func TestReduce_ShippingUnavailable_FailsOnlyOnceEveryStepBeforeIsCompensated(t *testing.T) {
	check(t, false, []*events.Envelope{
		ev(t, priced(events.InventoryReserved)),
		ev(t, priced(events.PaymentCompleted)),
		ev(t, refused(events.ShipmentFailed, domain.ReasonShippingUnavailable)),
		ev(t, undone(events.PaymentRefunded, saga.Undone, domain.ReasonShippingUnavailable)),
		ev(t, undone(events.InventoryReleased, saga.Undone, domain.ReasonShippingUnavailable)),
	}, want{status: domain.StatusFailed, reason: domain.ReasonShippingUnavailable, steps: [3]domain.StepStatus{compensated, compensated, failed}, final: events.OrderFailed})
}

func TestReduce_CancelAfterShipment_NeverCompletesAndCompensatesEveryStep(t *testing.T) {
	check(t, true, []*events.Envelope{
		ev(t, priced(events.InventoryReserved)),
		ev(t, priced(events.PaymentCompleted)),
		ev(t, tracked(events.ShipmentCreated, "TRK1")),
		ev(t, undone(events.ShipmentCancelled, saga.Undone, domain.ReasonCancelled)),
		ev(t, undone(events.PaymentRefunded, saga.Undone, domain.ReasonCancelled)),
		ev(t, undone(events.InventoryReleased, saga.Undone, domain.ReasonCancelled)),
	}, want{status: domain.StatusCancelled, reason: domain.ReasonCancelled, steps: [3]domain.StepStatus{compensated, compensated, compensated}, final: events.OrderCancelled})
}

func TestReduce_CancelWhilePaymentInFlight_TombstonesSkipTheStepsThatNeverRan(t *testing.T) {
	// Shipping and payment compensated before their actions: tombstones.
	// The late charge is a no-op and emits nothing.
	check(t, true, []*events.Envelope{
		ev(t, priced(events.InventoryReserved)),
		ev(t, undone(events.ShipmentCancelled, saga.Tombstone, domain.ReasonCancelled)),
		ev(t, undone(events.PaymentRefunded, saga.Tombstone, domain.ReasonCancelled)),
		ev(t, undone(events.InventoryReleased, saga.Undone, domain.ReasonCancelled)),
	}, want{status: domain.StatusCancelled, reason: domain.ReasonCancelled, steps: [3]domain.StepStatus{compensated, skipped, skipped}, final: events.OrderCancelled})
}

func TestReduce_CancelRacingADecline_EndsCancelledWithThePaymentFailed(t *testing.T) {
	check(t, true, []*events.Envelope{
		ev(t, priced(events.InventoryReserved)),
		ev(t, refused(events.PaymentDeclined, domain.ReasonPaymentDeclined)),
		ev(t, undone(events.InventoryReleased, saga.Undone, domain.ReasonPaymentDeclined)),
		ev(t, undone(events.ShipmentCancelled, saga.Tombstone, domain.ReasonCancelled)),
		ev(t, undone(events.PaymentRefunded, saga.WasRefused, domain.ReasonCancelled)),
	}, want{status: domain.StatusCancelled, reason: domain.ReasonCancelled, steps: [3]domain.StepStatus{compensated, failed, skipped}, final: events.OrderCancelled})
}

func TestReduce_ARefusalWithAnotherReason_FailsWithTheReasonGiven(t *testing.T) {
	check(t, false, []*events.Envelope{
		ev(t, priced(events.InventoryReserved)),
		ev(t, refused(events.PaymentDeclined, "card_expired")),
		ev(t, undone(events.InventoryReleased, saga.Undone, "card_expired")),
	}, want{status: domain.StatusFailed, reason: "card_expired", steps: [3]domain.StepStatus{compensated, failed, skipped}, final: events.OrderFailed})
}

func TestReduce_Completed_RecordsTheTrackingNumber(t *testing.T) {
	o := newOrder(t)
	r := New(events.NewTable(nil), nil, outbox.Emitter{}, nil)
	for _, p := range []events.Payload{priced(events.InventoryReserved), priced(events.PaymentCompleted), tracked(events.ShipmentCreated, "TRK9")} {
		e := ev(t, p)
		ch, err := r.changeOf(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.reduce(o, ch, e.OccurredAt); err != nil {
			t.Fatal(err)
		}
	}
	if s := o.State(); s.Status != domain.StatusCompleted || s.TrackingNumber != "TRK9" {
		t.Fatalf("order %s tracking %q, want completed TRK9", s.Status, s.TrackingNumber)
	}
}
