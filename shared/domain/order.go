package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/shared/errs"
)

// Limits of an order request.
const (
	MaxItems    = 50
	MaxQuantity = 1000
)

// Item is a line of an order request: a sku and how many units.
type Item struct {
	SKU      string
	Quantity int64
}

// PricedItem is a line of an order once inventory priced it.
type PricedItem struct {
	SKU        string
	Quantity   int64
	PriceCents Cents
}

// Address is where an order ships to. Country is an ISO 3166-1 alpha-2 code.
type Address struct {
	Name       string
	Line1      string
	Line2      string
	City       string
	PostalCode string
	Country    string
}

// PlaceOrder is a request to place an order, as a client sends it.
type PlaceOrder struct {
	OrderID    string
	CustomerID string
	Items      []Item
	ShipTo     Address
}

// Validate checks every field of the request and returns an errs.Invalid
// error listing each bad field by its API name, or nil.
func (p PlaceOrder) Validate() error {
	var fe []errs.FieldError
	add := func(field, msg string) { fe = append(fe, errs.FieldError{Field: field, Message: msg}) }
	if !ValidID(p.OrderID) {
		add("order_id", IDRule)
	}
	if !ValidID(p.CustomerID) {
		add("customer_id", IDRule)
	}
	switch {
	case len(p.Items) == 0:
		add("items", "must hold at least one item")
	case len(p.Items) > MaxItems:
		add("items", fmt.Sprintf("must hold at most %d items", MaxItems))
	}
	seen := make(map[string]int, len(p.Items))
	for i, it := range p.Items {
		if i >= MaxItems {
			break
		}
		if !ValidID(it.SKU) {
			add(fmt.Sprintf("items[%d].sku", i), IDRule)
		} else if j, dup := seen[it.SKU]; dup {
			add(fmt.Sprintf("items[%d].sku", i), fmt.Sprintf("repeats the sku of items[%d]", j))
		} else {
			seen[it.SKU] = i
		}
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			add(fmt.Sprintf("items[%d].quantity", i), fmt.Sprintf("must be from 1 to %d", MaxQuantity))
		}
	}
	checkText := func(field, v string, required bool, max int) {
		switch {
		case required && strings.TrimSpace(v) == "":
			add(field, "is required")
		case len(v) > max:
			add(field, fmt.Sprintf("must be at most %d characters", max))
		}
	}
	checkText("ship_to.name", p.ShipTo.Name, true, 200)
	checkText("ship_to.line1", p.ShipTo.Line1, true, 200)
	checkText("ship_to.line2", p.ShipTo.Line2, false, 200)
	checkText("ship_to.city", p.ShipTo.City, true, 100)
	checkText("ship_to.postal_code", p.ShipTo.PostalCode, true, 20)
	if !ValidCountry(p.ShipTo.Country) {
		add("ship_to.country", "must be an ISO 3166-1 alpha-2 code such as DE")
	}
	if len(fe) > 0 {
		return errs.InvalidFields(fe)
	}
	return nil
}

// Fingerprint is a digest of what the request asks for (customer, items and
// address, not the order id). Two requests with the same order id and the same
// fingerprint are the same request; with another fingerprint, a conflict.
func (p PlaceOrder) Fingerprint() string {
	items := slices.Clone(p.Items)
	slices.SortFunc(items, func(a, b Item) int { return strings.Compare(a.SKU, b.SKU) })
	b, err := json.Marshal(struct {
		C string
		I []Item
		A Address
	}{p.CustomerID, items, p.ShipTo})
	if err != nil { // cannot happen for these plain types
		panic(fmt.Sprintf("fingerprint: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// StepState is where one step of an order stands and since when.
type StepState struct {
	Step   StepName
	Status StepStatus
	At     time.Time
	// Reason is why a failed step refused.
	Reason FailureReason
}

// Contribution is what a done step adds to its order.
type Contribution struct {
	Prices         []PricedItem // the priced lines (the step that prices the order)
	TrackingNumber string       // the shipment's (the step that ships the order)
}

// Order is the order aggregate. Its fields are unexported: it changes only
// through its methods, which keep its invariants (a final order never
// changes; steps move only forward).
type Order struct {
	s OrderState
}

// OrderState is an order's full state as it is stored and carried between
// processes. Use Restore to turn it back into an Order.
type OrderState struct {
	OrderID         string
	CustomerID      string
	Items           []Item
	Prices          []PricedItem // nil until inventory priced the order
	TotalCents      *Cents       // nil until inventory priced the order
	ShipTo          Address
	Fingerprint     string
	Status          Status
	FailureReason   FailureReason
	Steps           []StepState
	TrackingNumber  string
	CancelRequested bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// NewOrder validates the request and returns a pending order with each of
// the saga's steps (see saga.Saga.Names) pending.
func NewOrder(p PlaceOrder, stepNames []StepName, now time.Time) (*Order, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if len(stepNames) == 0 {
		return nil, fmt.Errorf("order %s: no steps", p.OrderID)
	}
	now = now.UTC()
	steps := make([]StepState, 0, len(stepNames))
	for _, name := range stepNames {
		steps = append(steps, StepState{Step: name, Status: StepPending, At: now})
	}
	return &Order{s: OrderState{
		OrderID:     p.OrderID,
		CustomerID:  p.CustomerID,
		Items:       slices.Clone(p.Items),
		ShipTo:      p.ShipTo,
		Fingerprint: p.Fingerprint(),
		Status:      StatusPending,
		Steps:       steps,
		CreatedAt:   now,
		UpdatedAt:   now,
	}}, nil
}

// Restore rebuilds an order from stored state, checking that it is coherent.
func Restore(s OrderState) (*Order, error) {
	if !ValidID(s.OrderID) || !ValidID(s.CustomerID) {
		return nil, fmt.Errorf("restoring order %q: bad id", s.OrderID)
	}
	if !s.Status.Valid() {
		return nil, fmt.Errorf("restoring order %q: unknown status %q", s.OrderID, s.Status)
	}
	if len(s.Items) == 0 {
		return nil, fmt.Errorf("restoring order %q: no items", s.OrderID)
	}
	s.Items = slices.Clone(s.Items)
	s.Prices = slices.Clone(s.Prices)
	s.Steps = slices.Clone(s.Steps)
	return &Order{s: s}, nil
}

// State returns a copy of the order's state, for storage and transport.
func (o *Order) State() OrderState {
	s := o.s
	s.Items = slices.Clone(s.Items)
	s.Prices = slices.Clone(s.Prices)
	s.Steps = slices.Clone(s.Steps)
	if s.TotalCents != nil {
		t := *s.TotalCents
		s.TotalCents = &t
	}
	return s
}

// ID returns the order id.
func (o *Order) ID() string { return o.s.OrderID }

// Status returns the order's status.
func (o *Order) Status() Status { return o.s.Status }

// Request returns the request the order was placed with.
func (o *Order) Request() PlaceOrder {
	return PlaceOrder{OrderID: o.s.OrderID, CustomerID: o.s.CustomerID, Items: slices.Clone(o.s.Items), ShipTo: o.s.ShipTo}
}

// Step returns the state of one step.
func (o *Order) Step(name StepName) (StepState, bool) {
	for _, st := range o.s.Steps {
		if st.Step == name {
			return st, true
		}
	}
	return StepState{}, false
}

func (o *Order) touch(at time.Time) {
	at = at.UTC()
	if at.After(o.s.UpdatedAt) {
		o.s.UpdatedAt = at
	}
}

func (o *Order) checkOpen() error {
	if o.s.Status.Final() {
		return errs.Wrap(errs.Conflict, ErrFinal, fmt.Sprintf("order %s is already %s", o.s.OrderID, o.s.Status))
	}
	return nil
}

// SetPrices records the prices inventory charged for each line and the total.
func (o *Order) SetPrices(prices []PricedItem, at time.Time) error {
	if err := o.checkOpen(); err != nil {
		return err
	}
	var total Cents
	for _, p := range prices {
		line, err := p.PriceCents.Mul(p.Quantity)
		if err != nil {
			return fmt.Errorf("pricing order %s: %w", o.s.OrderID, err)
		}
		if total, err = total.Add(line); err != nil {
			return fmt.Errorf("pricing order %s: %w", o.s.OrderID, err)
		}
	}
	o.s.Prices = slices.Clone(prices)
	o.s.TotalCents = &total
	o.touch(at)
	return nil
}

// Contribute records what a done step adds to the order: the prices (once)
// and the tracking number.
func (o *Order) Contribute(c Contribution, at time.Time) error {
	if len(c.Prices) > 0 && o.s.TotalCents == nil {
		if err := o.SetPrices(c.Prices, at); err != nil {
			return err
		}
	}
	if c.TrackingNumber != "" && o.s.TrackingNumber != c.TrackingNumber {
		if err := o.checkOpen(); err != nil {
			return err
		}
		o.s.TrackingNumber = c.TrackingNumber
		o.touch(at)
	}
	return nil
}

// Refuse records that a step refused for reason: the step is failed, and
// the order fails with that reason once the steps before it are
// compensated (see Fail).
func (o *Order) Refuse(name StepName, reason FailureReason, at time.Time) error {
	if err := o.MarkStep(name, StepFailed, at); err != nil {
		return err
	}
	for i := range o.s.Steps {
		if o.s.Steps[i].Step == name && o.s.Steps[i].Reason == "" {
			o.s.Steps[i].Reason = reason
		}
	}
	return nil
}

// Refusal returns the first failed step and the reason it gave, and false
// when no step refused.
func (o *Order) Refusal() (StepName, FailureReason, bool) {
	for _, st := range o.s.Steps {
		if st.Status == StepFailed {
			return st.Step, st.Reason, true
		}
	}
	return "", "", false
}

// stepMoves lists the legal moves of a step's status.
var stepMoves = map[StepStatus][]StepStatus{
	StepPending:     {StepDone, StepFailed, StepCompensated, StepSkipped},
	StepDone:        {StepCompensated},
	StepFailed:      nil,
	StepCompensated: nil,
	StepSkipped:     {StepCompensated},
}

// MarkStep moves a step to a new status. Setting the status it already has is
// a no-op, so replayed updates are harmless; a backward move is an error.
// Steps change even on a final order only by compensation, which may finish
// after the order's status was decided.
func (o *Order) MarkStep(name StepName, to StepStatus, at time.Time) error {
	for i, st := range o.s.Steps {
		if st.Step != name {
			continue
		}
		if st.Status == to {
			return nil
		}
		if o.s.Status.Final() && to != StepCompensated {
			return o.checkOpen()
		}
		if !slices.Contains(stepMoves[st.Status], to) {
			return fmt.Errorf("order %s: step %s cannot move from %s to %s", o.s.OrderID, name, st.Status, to)
		}
		o.s.Steps[i].Status = to
		o.s.Steps[i].At = at.UTC()
		o.touch(at)
		return nil
	}
	return fmt.Errorf("order %s: unknown step %q", o.s.OrderID, name)
}

// RequestCancel records that the client asked to cancel. A cancel is
// accepted while the order runs its steps; it is a no-op on an order
// already cancelled or already asked to cancel, and an errs.Conflict on an
// order that is completing (every step done), failing (a step refused or
// gave up: its reason stands) or final.
func (o *Order) RequestCancel(at time.Time) error {
	if o.s.Status == StatusCancelled || o.s.CancelRequested && !o.s.Status.Final() {
		return nil
	}
	if err := o.checkOpen(); err != nil {
		return err
	}
	if step, reason, refused := o.Refusal(); refused {
		return errs.E(errs.Conflict, "order %s is failing (its %s step failed: %s) and can no longer be cancelled", o.s.OrderID, step, reason)
	}
	if o.AllDone() {
		return errs.E(errs.Conflict, "order %s is completing and can no longer be cancelled", o.s.OrderID)
	}
	o.s.CancelRequested = true
	o.touch(at)
	return nil
}

// CancelRequested reports whether the client asked to cancel the order.
func (o *Order) CancelRequested() bool { return o.s.CancelRequested }

// Complete makes the order completed. It refuses an order that is final,
// that the client asked to cancel, or whose steps are not all done.
func (o *Order) Complete(at time.Time) error {
	if o.s.Status == StatusCompleted {
		return nil
	}
	if err := o.checkOpen(); err != nil {
		return err
	}
	if o.s.CancelRequested {
		return errs.E(errs.Conflict, "order %s was asked to cancel", o.s.OrderID)
	}
	for _, st := range o.s.Steps {
		if st.Status != StepDone {
			return fmt.Errorf("completing order %s: step %s is %s", o.s.OrderID, st.Step, st.Status)
		}
	}
	o.s.Status = StatusCompleted
	o.touch(at)
	return nil
}

// AllDone reports whether every step of the order is done.
func (o *Order) AllDone() bool {
	for _, st := range o.s.Steps {
		if st.Status != StepDone {
			return false
		}
	}
	return true
}

// Fail makes the order failed for a business reason; steps that never ran
// become skipped.
func (o *Order) Fail(reason FailureReason, at time.Time) error {
	return o.end(StatusFailed, reason, at)
}

// Cancel makes the order cancelled; steps that never ran become skipped.
func (o *Order) Cancel(at time.Time) error {
	return o.end(StatusCancelled, ReasonCancelled, at)
}

func (o *Order) end(status Status, reason FailureReason, at time.Time) error {
	if o.s.Status == status && o.s.FailureReason == reason {
		return nil
	}
	if err := o.checkOpen(); err != nil {
		return err
	}
	for i, st := range o.s.Steps {
		if st.Status == StepPending {
			o.s.Steps[i].Status = StepSkipped
			o.s.Steps[i].At = at.UTC()
		}
	}
	o.s.Status = status
	o.s.FailureReason = reason
	o.touch(at)
	return nil
}
