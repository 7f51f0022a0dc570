package events

import (
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// Payload is the data part of an event: its type and producer, and the
// data encoded as JSON. The order service's events each have a payload
// type of their own; every step event's payload is a StepEvent.
type Payload interface {
	EventType() Type
	EventProducer() Service
}

// orderEvent marks a payload of the order service's events.
type orderEvent struct{}

// EventProducer implements Payload.
func (orderEvent) EventProducer() Service { return Orders }

// Item is an order line as it travels in events.
type Item struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// PricedItem is an order line once inventory priced it.
type PricedItem struct {
	SKU        string       `json:"sku"`
	Quantity   int64        `json:"quantity"`
	PriceCents domain.Cents `json:"price_cents"`
}

// Address is a shipping address as it travels in events.
type Address struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// Pricing is what inventory charged for an order. Events after the
// inventory step carry it, so a consumer never needs another service's
// database to learn it.
type Pricing struct {
	Items      []PricedItem `json:"items"`
	TotalCents domain.Cents `json:"total_cents"`
}

// OrderPlacedData: the order service stored a new order.
type OrderPlacedData struct {
	orderEvent
	CustomerID string  `json:"customer_id"`
	Items      []Item  `json:"items"`
	ShipTo     Address `json:"ship_to"`
}

// OrderCancelRequestedData: the client asked to cancel the order.
type OrderCancelRequestedData struct{ orderEvent }

// OrderCompletedData: every step is done; the order is completed.
//
// Version 2 adds the customer and the time the order completed, so an
// observer of finished orders needs no OrderPlaced to know whose order it
// was. It is a version of its own (see doc.go, "Versions") because a v2
// reader may count on them: every v2 event carries both. It only adds to
// v1, so v1 readers read it (Type.MinReader is 1). A v1 event read by a
// v2 reader is upcast: CompletedAt is the event's occurred_at (when the
// order service emitted it, at most a moment after the order completed)
// and Missing names customer_id, which stays empty.
type OrderCompletedData struct {
	orderEvent
	TrackingNumber string       `json:"tracking_number"`
	TotalCents     domain.Cents `json:"total_cents"`
	// CustomerID (v2) is the customer who placed the order.
	CustomerID string `json:"customer_id,omitempty"`
	// CompletedAt (v2) is when the order completed.
	CompletedAt time.Time `json:"completed_at,omitzero"`

	// Missing names the fields, by their JSON names, the event did not
	// carry and reading could not fill: set when it was read as a version
	// older than the newest.
	Missing []string `json:"-"`
}

// orderCompletedV1 is version 1 of OrderCompletedData.
type orderCompletedV1 struct {
	TrackingNumber string       `json:"tracking_number"`
	TotalCents     domain.Cents `json:"total_cents"`
}

// writeAs implements downcaster: version 1 has no customer_id and no
// completed_at.
func (p OrderCompletedData) writeAs(int) any {
	return orderCompletedV1{TrackingNumber: p.TrackingNumber, TotalCents: p.TotalCents}
}

// upcastFrom implements upcaster: read as version 1, the payload has
// neither the customer nor the completion time; the time is taken from the
// envelope, the customer is missing.
func (p *OrderCompletedData) upcastFrom(_ int, e *Envelope) {
	p.CustomerID = ""
	p.CompletedAt = e.OccurredAt
	p.Missing = []string{"customer_id"}
}

// OrderFailedData: a step refused and the steps before it are compensated.
type OrderFailedData struct {
	orderEvent
	Reason domain.FailureReason `json:"reason"`
}

// OrderCancelledData: the cancel chain finished; every done step is
// compensated.
type OrderCancelledData struct{ orderEvent }

// EventType implements Payload.
func (OrderPlacedData) EventType() Type { return OrderPlaced }

// EventType implements Payload.
func (OrderCancelRequestedData) EventType() Type { return OrderCancelRequested }

// EventType implements Payload.
func (OrderCompletedData) EventType() Type { return OrderCompleted }

// EventType implements Payload.
func (OrderFailedData) EventType() Type { return OrderFailed }

// EventType implements Payload.
func (OrderCancelledData) EventType() Type { return OrderCancelled }

// StepEvent is the payload of every step event: done, refused, undone and
// completed. A step's action runs on the order it carries forward (the
// customer, items, address and, once priced, the pricing), so no service
// needs another's database; a refusal adds the reason, a compensation its
// outcome and cause, and a step that ships the order its tracking number.
type StepEvent struct {
	// Type is the event's type and Step the step that produced it; they
	// travel in the envelope, not in the payload.
	Type Type            `json:"-"`
	Step domain.StepName `json:"-"`

	CustomerID     string               `json:"customer_id,omitempty"`
	Items          []Item               `json:"items,omitempty"`
	ShipTo         *Address             `json:"ship_to,omitempty"`
	Pricing        *Pricing             `json:"pricing,omitempty"`
	TrackingNumber string               `json:"tracking_number,omitempty"`
	Reason         domain.FailureReason `json:"reason,omitempty"`  // refused: why
	Outcome        saga.Undo            `json:"outcome,omitempty"` // undone: what the compensation found
	// Cause is why a compensation ran: "cancelled" for the cancel chain,
	// else the reason of the step that refused.
	Cause domain.FailureReason `json:"cause,omitempty"`
}

// EventType implements Payload.
func (p StepEvent) EventType() Type { return p.Type }

// EventProducer implements Payload.
func (p StepEvent) EventProducer() Service { return ServiceOf(p.Step) }

// Input returns the saga input the event carries forward for orderID.
func (p StepEvent) Input(orderID string) saga.Input {
	in := saga.Input{OrderID: orderID, CustomerID: p.CustomerID, Items: DomainItems(p.Items)}
	if p.ShipTo != nil {
		in.ShipTo = p.ShipTo.Domain()
	}
	if p.Pricing != nil {
		in.TotalCents = p.Pricing.TotalCents
	}
	return in
}

// Carrying returns a step event of type typ from step carrying the order
// in (and, when known, its pricing) forward.
func Carrying(typ Type, step domain.StepName, in saga.Input, pricing *Pricing) StepEvent {
	to := AddressOf(in.ShipTo)
	return StepEvent{Type: typ, Step: step, CustomerID: in.CustomerID, Items: ItemsOf(in.Items), ShipTo: &to, Pricing: pricing}
}

// AsStep decodes the payload of a step event, checking the schema version.
// Errors wrap ErrMalformed or ErrUnsupportedVersion.
func AsStep(e *Envelope, ref StepEventRef) (StepEvent, error) {
	p := StepEvent{Type: e.Type, Step: ref.Step.Name}
	if err := e.decode(&p); err != nil {
		return StepEvent{}, err
	}
	return p, nil
}

// ItemsOf converts domain items to their wire form.
func ItemsOf(items []domain.Item) []Item {
	out := make([]Item, len(items))
	for i, it := range items {
		out[i] = Item{SKU: it.SKU, Quantity: it.Quantity}
	}
	return out
}

// DomainItems converts wire items to the domain's.
func DomainItems(items []Item) []domain.Item {
	out := make([]domain.Item, len(items))
	for i, it := range items {
		out[i] = domain.Item{SKU: it.SKU, Quantity: it.Quantity}
	}
	return out
}

// PricingOf returns the wire form of inventory's pricing.
func PricingOf(items []domain.PricedItem, total domain.Cents) Pricing {
	out := make([]PricedItem, len(items))
	for i, it := range items {
		out[i] = PricedItem{SKU: it.SKU, Quantity: it.Quantity, PriceCents: it.PriceCents}
	}
	return Pricing{Items: out, TotalCents: total}
}

// DomainItems returns the priced lines in the domain's form.
func (p Pricing) DomainItems() []domain.PricedItem {
	out := make([]domain.PricedItem, len(p.Items))
	for i, it := range p.Items {
		out[i] = domain.PricedItem{SKU: it.SKU, Quantity: it.Quantity, PriceCents: it.PriceCents}
	}
	return out
}

// Known reports whether the pricing holds any line.
func (p Pricing) Known() bool { return len(p.Items) > 0 }

// AddressOf converts a domain address to its wire form.
func AddressOf(a domain.Address) Address {
	return Address{Name: a.Name, Line1: a.Line1, Line2: a.Line2, City: a.City, PostalCode: a.PostalCode, Country: a.Country}
}

// Domain converts the address to the domain's form.
func (a Address) Domain() domain.Address {
	return domain.Address{Name: a.Name, Line1: a.Line1, Line2: a.Line2, City: a.City, PostalCode: a.PostalCode, Country: a.Country}
}
