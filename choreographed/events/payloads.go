package events

import (
	"github.com/ordersaga/ordersaga/shared/domain"
)

// Payload is the data part of an event. Each event type has one payload
// type; EventType ties them together.
type Payload interface {
	EventType() Type
}

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

// Outcome says what a compensation found.
type Outcome string

// Outcomes of a compensation.
const (
	// OutcomeUndone: the step's action had taken effect and is now undone
	// (or was undone before: compensations repeat harmlessly).
	OutcomeUndone Outcome = "undone"
	// OutcomeTombstone: the action had not run; a tombstone now makes a
	// late action a no-op.
	OutcomeTombstone Outcome = "tombstone"
	// OutcomeRefused: the action had refused (a business failure); there
	// was nothing to undo.
	OutcomeRefused Outcome = "refused"
)

// Compensation is the payload common to the compensation events.
type Compensation struct {
	Outcome Outcome `json:"outcome"`
	// Cause is why the compensation ran: "cancelled" for the cancel chain,
	// else the failure reason of the step that refused.
	Cause domain.FailureReason `json:"cause"`
}

// OrderPlacedData: the order service stored a new order.
type OrderPlacedData struct {
	CustomerID string  `json:"customer_id"`
	Items      []Item  `json:"items"`
	ShipTo     Address `json:"ship_to"`
}

// OrderCancelRequestedData: the client asked to cancel the order.
type OrderCancelRequestedData struct{}

// OrderCompletedData: every step is done; the order is completed.
type OrderCompletedData struct {
	TrackingNumber string       `json:"tracking_number"`
	TotalCents     domain.Cents `json:"total_cents"`
}

// OrderFailedData: a step refused and the steps before it are compensated.
type OrderFailedData struct {
	Reason domain.FailureReason `json:"reason"`
}

// OrderCancelledData: the cancel chain finished; every done step is
// compensated.
type OrderCancelledData struct{}

// InventoryReservedData: inventory holds every item of the order.
type InventoryReservedData struct {
	CustomerID string  `json:"customer_id"`
	ShipTo     Address `json:"ship_to"`
	Pricing
}

// InventoryRejectedData: inventory refused the order (out of stock).
type InventoryRejectedData struct {
	Reason domain.FailureReason `json:"reason"`
}

// InventoryReleasedData: inventory compensated its step.
type InventoryReleasedData struct{ Compensation }

// InventoryCommittedData: the order completed and its units left for good.
type InventoryCommittedData struct{}

// PaymentCompletedData: the order's total was charged.
type PaymentCompletedData struct {
	CustomerID string  `json:"customer_id"`
	ShipTo     Address `json:"ship_to"`
	Pricing
}

// PaymentDeclinedData: payment refused the charge.
type PaymentDeclinedData struct {
	Reason domain.FailureReason `json:"reason"`
	Pricing
}

// PaymentRefundedData: payment compensated its step.
type PaymentRefundedData struct{ Compensation }

// ShipmentCreatedData: the order shipped.
type ShipmentCreatedData struct {
	TrackingNumber string `json:"tracking_number"`
	Pricing
}

// ShipmentFailedData: shipping refused the order (country not served).
type ShipmentFailedData struct {
	Reason domain.FailureReason `json:"reason"`
	Pricing
}

// ShipmentCancelledData: shipping compensated its step.
type ShipmentCancelledData struct{ Compensation }

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

// EventType implements Payload.
func (InventoryReservedData) EventType() Type { return InventoryReserved }

// EventType implements Payload.
func (InventoryRejectedData) EventType() Type { return InventoryRejected }

// EventType implements Payload.
func (InventoryReleasedData) EventType() Type { return InventoryReleased }

// EventType implements Payload.
func (InventoryCommittedData) EventType() Type { return InventoryCommitted }

// EventType implements Payload.
func (PaymentCompletedData) EventType() Type { return PaymentCompleted }

// EventType implements Payload.
func (PaymentDeclinedData) EventType() Type { return PaymentDeclined }

// EventType implements Payload.
func (PaymentRefundedData) EventType() Type { return PaymentRefunded }

// EventType implements Payload.
func (ShipmentCreatedData) EventType() Type { return ShipmentCreated }

// EventType implements Payload.
func (ShipmentFailedData) EventType() Type { return ShipmentFailed }

// EventType implements Payload.
func (ShipmentCancelledData) EventType() Type { return ShipmentCancelled }

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
