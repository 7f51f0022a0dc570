package events

import "strings"

// Service names a service of the choreography: the producer of a topic and
// the owner of a consumer group.
type Service string

// The services.
const (
	Orders    Service = "orders"
	Inventory Service = "inventory"
	Payment   Service = "payment"
	Shipping  Service = "shipping"
)

// Services returns every service, in the order of the saga's steps after the
// order service.
func Services() []Service { return []Service{Orders, Inventory, Payment, Shipping} }

// Type names an event.
type Type string

// The event types, grouped by the service that produces them.
const (
	OrderPlaced          Type = "OrderPlaced"
	OrderCancelRequested Type = "OrderCancelRequested"
	OrderCompleted       Type = "OrderCompleted"
	OrderFailed          Type = "OrderFailed"
	OrderCancelled       Type = "OrderCancelled"

	InventoryReserved  Type = "InventoryReserved"
	InventoryRejected  Type = "InventoryRejected"
	InventoryReleased  Type = "InventoryReleased"
	InventoryCommitted Type = "InventoryCommitted"

	PaymentCompleted Type = "PaymentCompleted"
	PaymentDeclined  Type = "PaymentDeclined"
	PaymentRefunded  Type = "PaymentRefunded"

	ShipmentCreated   Type = "ShipmentCreated"
	ShipmentFailed    Type = "ShipmentFailed"
	ShipmentCancelled Type = "ShipmentCancelled"
)

// Types returns every event type this version of the software knows.
func Types() []Type {
	return []Type{
		OrderPlaced, OrderCancelRequested, OrderCompleted, OrderFailed, OrderCancelled,
		InventoryReserved, InventoryRejected, InventoryReleased, InventoryCommitted,
		PaymentCompleted, PaymentDeclined, PaymentRefunded,
		ShipmentCreated, ShipmentFailed, ShipmentCancelled,
	}
}

// Producer returns the service that emits events of type t, and false for a
// type this version does not know.
func (t Type) Producer() (Service, bool) {
	switch t {
	case OrderPlaced, OrderCancelRequested, OrderCompleted, OrderFailed, OrderCancelled:
		return Orders, true
	case InventoryReserved, InventoryRejected, InventoryReleased, InventoryCommitted:
		return Inventory, true
	case PaymentCompleted, PaymentDeclined, PaymentRefunded:
		return Payment, true
	case ShipmentCreated, ShipmentFailed, ShipmentCancelled:
		return Shipping, true
	}
	return "", false
}

// SchemaVersion returns the version of t's payload this software writes
// and the newest it reads; 0 for an unknown type. A change that old readers
// cannot ignore (a renamed, removed or re-typed field) bumps it; adding an
// optional field does not.
func (t Type) SchemaVersion() int {
	if _, ok := t.Producer(); ok {
		return 1
	}
	return 0
}

// DefaultTopicPrefix is the prefix of the topic names when none is set.
const DefaultTopicPrefix = "ordersaga"

// Topics names the topics of one deployment: one per producing service,
// <prefix>.<service>, and the dead-letter topic <prefix>.deadletter.
type Topics struct {
	Prefix string // DefaultTopicPrefix when empty
}

func (t Topics) prefix() string {
	if t.Prefix == "" {
		return DefaultTopicPrefix
	}
	return strings.TrimSuffix(t.Prefix, ".")
}

// Of returns the topic the service publishes to.
func (t Topics) Of(s Service) string { return t.prefix() + "." + string(s) }

// For returns the topic events of type et are published to, and false for an
// unknown type.
func (t Topics) For(et Type) (string, bool) {
	s, ok := et.Producer()
	if !ok {
		return "", false
	}
	return t.Of(s), true
}

// DeadLetter returns the dead-letter topic.
func (t Topics) DeadLetter() string { return t.prefix() + ".deadletter" }

// All returns every topic of the deployment, for creating them up front.
func (t Topics) All() []string {
	all := make([]string, 0, len(Services())+1)
	for _, s := range Services() {
		all = append(all, t.Of(s))
	}
	return append(all, t.DeadLetter())
}
