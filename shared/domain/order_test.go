package domain_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// steps are the steps of the orders these tests place.
var steps = []domain.StepName{domain.StepInventory, domain.StepPayment, domain.StepShipping}

// doneAll marks every step of o done.
func doneAll(t *testing.T, o *domain.Order) {
	t.Helper()
	for _, s := range steps {
		if err := o.MarkStep(s, domain.StepDone, t0); err != nil {
			t.Fatal(err)
		}
	}
}

func validRequest() domain.PlaceOrder {
	return domain.PlaceOrder{
		OrderID:    "o-1",
		CustomerID: "c-1",
		Items:      []domain.Item{{SKU: "mug", Quantity: 2}, {SKU: "tee", Quantity: 1}},
		ShipTo:     domain.Address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"},
	}
}

func newOrder(t *testing.T) *domain.Order {
	t.Helper()
	o, err := domain.NewOrder(validRequest(), steps, t0)
	if err != nil {
		t.Fatalf("NewOrder: %v", err)
	}
	return o
}

func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Invalid {
		t.Fatalf("error %v is not an errs.Invalid", err)
	}
	var names []string
	for _, f := range e.Fields {
		names = append(names, f.Field)
	}
	return names
}

func TestValidate_ReportsEveryBadFieldByItsAPIName(t *testing.T) {
	many := make([]domain.Item, 51)
	for i := range many {
		many[i] = domain.Item{SKU: fmt.Sprintf("s%d", i), Quantity: 1}
	}
	cases := []struct {
		name   string
		mutate func(*domain.PlaceOrder)
		want   []string
	}{
		{"bad order id", func(p *domain.PlaceOrder) { p.OrderID = "has space" }, []string{"order_id"}},
		{"long order id", func(p *domain.PlaceOrder) { p.OrderID = strings.Repeat("a", 65) }, []string{"order_id"}},
		{"empty customer", func(p *domain.PlaceOrder) { p.CustomerID = "" }, []string{"customer_id"}},
		{"no items", func(p *domain.PlaceOrder) { p.Items = nil }, []string{"items"}},
		{"51 items", func(p *domain.PlaceOrder) { p.Items = many }, []string{"items"}},
		{"zero quantity", func(p *domain.PlaceOrder) { p.Items[0].Quantity = 0 }, []string{"items[0].quantity"}},
		{"negative quantity", func(p *domain.PlaceOrder) { p.Items[1].Quantity = -5 }, []string{"items[1].quantity"}},
		{"huge quantity", func(p *domain.PlaceOrder) { p.Items[0].Quantity = 1001 }, []string{"items[0].quantity"}},
		{"duplicate sku", func(p *domain.PlaceOrder) { p.Items[1].SKU = "mug" }, []string{"items[1].sku"}},
		{"bad sku", func(p *domain.PlaceOrder) { p.Items[0].SKU = "m/g" }, []string{"items[0].sku"}},
		{"lower-case country", func(p *domain.PlaceOrder) { p.ShipTo.Country = "de" }, []string{"ship_to.country"}},
		{"unassigned country", func(p *domain.PlaceOrder) { p.ShipTo.Country = "XX" }, []string{"ship_to.country"}},
		{"blank address", func(p *domain.PlaceOrder) { p.ShipTo = domain.Address{Country: "DE"} },
			[]string{"ship_to.name", "ship_to.line1", "ship_to.city", "ship_to.postal_code"}},
		{"several at once", func(p *domain.PlaceOrder) { p.CustomerID = ""; p.Items[0].Quantity = 0 },
			[]string{"customer_id", "items[0].quantity"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := validRequest()
			c.mutate(&p)
			got := fieldsOf(t, p.Validate())
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("fields = %v, want %v", got, c.want)
			}
			if _, err := domain.NewOrder(p, steps, t0); err == nil {
				t.Fatal("NewOrder accepted an invalid request")
			}
		})
	}
	if err := validRequest().Validate(); err != nil {
		t.Fatalf("valid request refused: %v", err)
	}
}

func TestFingerprint_IgnoresItemOrderButNotContent(t *testing.T) {
	a := validRequest()
	b := validRequest()
	b.Items[0], b.Items[1] = b.Items[1], b.Items[0]
	b.OrderID = "other-id"
	if a.Fingerprint() != b.Fingerprint() {
		t.Fatal("reordered items (and another order id) changed the fingerprint")
	}
	c := validRequest()
	c.Items[0].Quantity = 3
	if a.Fingerprint() == c.Fingerprint() {
		t.Fatal("another quantity kept the fingerprint")
	}
	d := validRequest()
	d.ShipTo.City = "Paris"
	if a.Fingerprint() == d.Fingerprint() {
		t.Fatal("another address kept the fingerprint")
	}
}

func TestNewOrder_StartsPendingWithEveryStepPending(t *testing.T) {
	o := newOrder(t)
	s := o.State()
	if s.Status != domain.StatusPending || s.TotalCents != nil || s.Prices != nil {
		t.Fatalf("new order state = %+v", s)
	}
	if len(s.Steps) != 3 {
		t.Fatalf("steps = %v, want 3", s.Steps)
	}
	for i, name := range []domain.StepName{domain.StepInventory, domain.StepPayment, domain.StepShipping} {
		if s.Steps[i].Step != name || s.Steps[i].Status != domain.StepPending {
			t.Fatalf("step %d = %+v, want %s pending", i, s.Steps[i], name)
		}
	}
}

func TestSetPrices_TotalsLinesAndRefusesOverflow(t *testing.T) {
	o := newOrder(t)
	err := o.SetPrices([]domain.PricedItem{{SKU: "mug", Quantity: 2, PriceCents: 1250}, {SKU: "tee", Quantity: 1, PriceCents: 999}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := *o.State().TotalCents; got != 3499 {
		t.Fatalf("total = %d, want 3499", got)
	}
	err = o.SetPrices([]domain.PricedItem{{SKU: "mug", Quantity: 1000, PriceCents: domain.Cents(1) << 60}}, t0)
	if !errors.Is(err, domain.ErrOverflow) {
		t.Fatalf("overflowing price: err = %v, want ErrOverflow", err)
	}
}

func TestMarkStep_MovesOnlyForwardAndRepeatsHarmlessly(t *testing.T) {
	o := newOrder(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(o.MarkStep(domain.StepInventory, domain.StepDone, t0))
	must(o.MarkStep(domain.StepInventory, domain.StepDone, t0.Add(time.Second))) // replay
	if err := o.MarkStep(domain.StepInventory, domain.StepPending, t0); err == nil {
		t.Fatal("done → pending was accepted")
	}
	if err := o.MarkStep(domain.StepInventory, domain.StepFailed, t0); err == nil {
		t.Fatal("done → failed was accepted")
	}
	must(o.MarkStep(domain.StepInventory, domain.StepCompensated, t0))
	if err := o.MarkStep("warehouse", domain.StepDone, t0); err == nil {
		t.Fatal("unknown step accepted")
	}
	st, _ := o.Step(domain.StepInventory)
	if st.Status != domain.StepCompensated {
		t.Fatalf("inventory step = %s, want compensated", st.Status)
	}
}

func TestFail_SkipsStepsThatNeverRanAndFreezesTheOrder(t *testing.T) {
	o := newOrder(t)
	_ = o.MarkStep(domain.StepInventory, domain.StepDone, t0)
	_ = o.MarkStep(domain.StepPayment, domain.StepFailed, t0)
	if err := o.Fail(domain.ReasonPaymentDeclined, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	s := o.State()
	if s.Status != domain.StatusFailed || s.FailureReason != domain.ReasonPaymentDeclined {
		t.Fatalf("state = %s/%s", s.Status, s.FailureReason)
	}
	if st, _ := o.Step(domain.StepShipping); st.Status != domain.StepSkipped {
		t.Fatalf("shipping = %s, want skipped", st.Status)
	}
	// The compensation of a done step may finish after the status is decided.
	if err := o.MarkStep(domain.StepInventory, domain.StepCompensated, t0); err != nil {
		t.Fatalf("compensating after fail: %v", err)
	}
	if err := o.Fail(domain.ReasonPaymentDeclined, t0); err != nil {
		t.Fatalf("repeated Fail: %v", err)
	}
	for name, err := range map[string]error{
		"complete": o.Complete(t0),
		"cancel":   o.Cancel(t0),
		"reprice":  o.SetPrices(nil, t0),
		"request":  o.RequestCancel(t0),
		"step":     o.MarkStep(domain.StepShipping, domain.StepDone, t0),
	} {
		if !errs.Is(err, errs.Conflict) {
			t.Errorf("%s on a failed order: err = %v, want conflict", name, err)
		}
	}
}

func TestRequestCancel_BlocksCompletionAndIsIdempotent(t *testing.T) {
	o := newOrder(t)
	if err := o.RequestCancel(t0); err != nil {
		t.Fatal(err)
	}
	if err := o.RequestCancel(t0); err != nil {
		t.Fatalf("second request: %v", err)
	}
	if !o.CancelRequested() {
		t.Fatal("cancel not recorded")
	}
	doneAll(t, o)
	if err := o.Complete(t0); !errs.Is(err, errs.Conflict) {
		t.Fatalf("complete after cancel request: err = %v, want conflict", err)
	}
	if err := o.Cancel(t0); err != nil {
		t.Fatal(err)
	}
	if err := o.RequestCancel(t0); err != nil {
		t.Fatalf("request on a cancelled order: %v", err)
	}
	if s := o.State(); s.Status != domain.StatusCancelled || s.FailureReason != domain.ReasonCancelled {
		t.Fatalf("state = %s/%s", s.Status, s.FailureReason)
	}
}

func TestComplete_NeedsEveryStepDoneAndRefusesCancelAfterwards(t *testing.T) {
	o := newOrder(t)
	if err := o.MarkStep(domain.StepInventory, domain.StepDone, t0); err != nil {
		t.Fatal(err)
	}
	if err := o.Complete(t0); err == nil {
		t.Fatal("completed with steps pending")
	}
	doneAll(t, o)
	if err := o.Contribute(domain.Contribution{TrackingNumber: "T1"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := o.Complete(t0); err != nil {
		t.Fatal(err)
	}
	if err := o.Complete(t0); err != nil {
		t.Fatalf("repeated complete: %v", err)
	}
	if s := o.State(); s.Status != domain.StatusCompleted || s.TrackingNumber != "T1" {
		t.Fatalf("state = %s, tracking %q", s.Status, s.TrackingNumber)
	}
	if err := o.RequestCancel(t0); !errs.Is(err, errs.Conflict) {
		t.Fatalf("cancel of completed: err = %v, want conflict", err)
	}
}

func TestRestore_RoundTripsStateAndRejectsIncoherentState(t *testing.T) {
	o := newOrder(t)
	_ = o.SetPrices([]domain.PricedItem{{SKU: "mug", Quantity: 2, PriceCents: 5}}, t0)
	s := o.State()
	r, err := domain.Restore(s)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID() != o.ID() || *r.State().TotalCents != 10 || r.Request().Fingerprint() != o.Request().Fingerprint() {
		t.Fatalf("restored %+v from %+v", r.State(), s)
	}
	// The copy is independent of the original.
	s.Steps[0].Status = domain.StepDone
	if st, _ := o.Step(domain.StepInventory); st.Status != domain.StepPending {
		t.Fatal("State() shares its steps with the order")
	}
	bad := o.State()
	bad.Status = "lost"
	if _, err := domain.Restore(bad); err == nil {
		t.Fatal("unknown status restored")
	}
}

func TestCents_AddAndMulRefuseOverflow(t *testing.T) {
	if _, err := domain.Cents(1 << 62).Mul(4); !errors.Is(err, domain.ErrOverflow) {
		t.Fatalf("Mul overflow err = %v", err)
	}
	if _, err := domain.Cents(1<<63 - 1).Add(1); !errors.Is(err, domain.ErrOverflow) {
		t.Fatalf("Add overflow err = %v", err)
	}
	if v, err := domain.Cents(1250).Mul(3); err != nil || v != 3750 {
		t.Fatalf("1250*3 = %d, %v", v, err)
	}
}

func TestValidCountry(t *testing.T) {
	for _, c := range []string{"DE", "US", "AQ", "JP", "ZW"} {
		if !domain.ValidCountry(c) {
			t.Errorf("%s refused", c)
		}
	}
	for _, c := range []string{"", "D", "de", "DEU", "XX", "D E", "AD AE"} {
		if domain.ValidCountry(c) {
			t.Errorf("%q accepted", c)
		}
	}
}

func TestNewOrder_HasTheStepsItIsGiven(t *testing.T) {
	o, err := domain.NewOrder(validRequest(), []domain.StepName{"inventory", "loyalty"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if s := o.State(); len(s.Steps) != 2 || s.Steps[1].Step != "loyalty" {
		t.Fatalf("steps = %+v", s.Steps)
	}
	if _, err := domain.NewOrder(validRequest(), nil, t0); err == nil {
		t.Fatal("an order with no steps was made")
	}
}

func TestRefuse_RecordsTheReasonTheStepGave(t *testing.T) {
	o := newOrder(t)
	if _, _, ok := o.Refusal(); ok {
		t.Fatal("a new order reports a refusal")
	}
	_ = o.MarkStep(domain.StepInventory, domain.StepDone, t0)
	if err := o.Refuse(domain.StepPayment, "card_expired", t0); err != nil {
		t.Fatal(err)
	}
	step, reason, ok := o.Refusal()
	if !ok || step != domain.StepPayment || reason != "card_expired" {
		t.Fatalf("Refusal() = %s %s %v", step, reason, ok)
	}
	if st, _ := o.Step(domain.StepPayment); st.Status != domain.StepFailed || st.Reason != "card_expired" {
		t.Fatalf("payment step = %+v", st)
	}
}

func TestContribute_PricesOnceAndRecordsTracking(t *testing.T) {
	o := newOrder(t)
	prices := []domain.PricedItem{{SKU: "mug", Quantity: 2, PriceCents: 5}}
	if err := o.Contribute(domain.Contribution{Prices: prices}, t0); err != nil {
		t.Fatal(err)
	}
	if err := o.Contribute(domain.Contribution{Prices: []domain.PricedItem{{SKU: "mug", Quantity: 2, PriceCents: 7}}, TrackingNumber: "T9"}, t0); err != nil {
		t.Fatal(err)
	}
	if s := o.State(); *s.TotalCents != 10 || s.TrackingNumber != "T9" {
		t.Fatalf("total %d tracking %q, want 10 and T9", *s.TotalCents, s.TrackingNumber)
	}
}

func TestReasonOf_FindsAnyRefusal(t *testing.T) {
	custom := fmt.Errorf("awarding: %w", domain.Refuse("loyalty_frozen", "account frozen"))
	if r, ok := domain.ReasonOf(custom); !ok || r != "loyalty_frozen" {
		t.Fatalf("ReasonOf(custom refusal) = %q %v", r, ok)
	}
}

func TestReasonOf_MapsBusinessSentinels(t *testing.T) {
	wrapped := fmt.Errorf("reserving: %w", domain.ErrOutOfStock)
	if r, ok := domain.ReasonOf(wrapped); !ok || r != domain.ReasonOutOfStock {
		t.Fatalf("ReasonOf(out of stock) = %q %v", r, ok)
	}
	if _, ok := domain.ReasonOf(errors.New("timeout")); ok {
		t.Fatal("a fault was taken for a business failure")
	}
}

func TestRequestCancel_RefusedOnceFailingOrCompleting(t *testing.T) {
	failing := newOrder(t)
	_ = failing.MarkStep(domain.StepInventory, domain.StepDone, t0)
	if err := failing.Refuse(domain.StepPayment, domain.ReasonPaymentDeclined, t0); err != nil {
		t.Fatal(err)
	}
	if err := failing.RequestCancel(t0); !errs.Is(err, errs.Conflict) {
		t.Fatalf("cancel of a failing order: err = %v, want conflict", err)
	}
	if failing.CancelRequested() {
		t.Fatal("the refused cancel was recorded")
	}
	completing := newOrder(t)
	doneAll(t, completing)
	if err := completing.RequestCancel(t0); !errs.Is(err, errs.Conflict) {
		t.Fatalf("cancel of a completing order: err = %v, want conflict", err)
	}
	running := newOrder(t)
	_ = running.MarkStep(domain.StepInventory, domain.StepDone, t0)
	if err := running.RequestCancel(t0); err != nil || !running.CancelRequested() {
		t.Fatalf("cancel of a running order: %v", err)
	}
}
