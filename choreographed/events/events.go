package events

import (
	"strconv"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// Service names a service of the choreography: the producer of a topic and
// the owner of a consumer group. Besides the order service, each step's
// service is named like its step.
type Service string

// The order service, and the services of the default saga's steps.
const (
	Orders    Service = "orders"
	Inventory         = Service(domain.StepInventory)
	Payment           = Service(domain.StepPayment)
	Shipping          = Service(domain.StepShipping)
)

// ServiceOf returns the service that owns a step.
func ServiceOf(step domain.StepName) Service { return Service(step) }

// ServicesOf returns every service of saga g: the order service, then each
// step's in saga order.
func ServicesOf(g *saga.Saga) []Service {
	out := []Service{Orders}
	for _, name := range g.Names() {
		out = append(out, ServiceOf(name))
	}
	return out
}

// Services returns every service of the default saga.
func Services() []Service { return ServicesOf(saga.Default()) }

// Type names an event.
type Type string

// The order service's events.
const (
	OrderPlaced          Type = "OrderPlaced"
	OrderCancelRequested Type = "OrderCancelRequested"
	OrderCompleted       Type = "OrderCompleted"
	OrderFailed          Type = "OrderFailed"
	OrderCancelled       Type = "OrderCancelled"
)

// OrderTypes returns the order service's event types.
func OrderTypes() []Type {
	return []Type{OrderPlaced, OrderCancelRequested, OrderCompleted, OrderFailed, OrderCancelled}
}

// The event types of the default saga's steps (see TypesOf).
const (
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

// DeadLetter returns the dead-letter topic.
func (t Topics) DeadLetter() string { return t.prefix() + ".deadletter" }

// RedeliveryLevels is how many redelivery topics a service has: one per
// delay of its redeliveries (the first, the second, and every later one).
const RedeliveryLevels = 3

// Redelivery returns the topic where the consumer group of service s parks
// a message for its level-th delay (1 to RedeliveryLevels):
// <prefix>.retry.<service>.<level> (ordersaga.retry.payment.2). One topic
// per delay keeps each topic's messages in the order they fall due.
func (t Topics) Redelivery(s Service, level int) string {
	return t.prefix() + ".retry." + string(s) + "." + strconv.Itoa(level)
}

// RedeliveryDelays returns the waits before a parked message's first,
// second and every later redelivery for a step deadline: a 120th, a 24th
// and a quarter of it (1 s, 5 s and 30 s for the default 2 minutes), so a
// step's action is tried about eight times before its deadline whatever
// the deadline.
func RedeliveryDelays(stepDeadline time.Duration) []time.Duration {
	return []time.Duration{stepDeadline / 120, stepDeadline / 24, stepDeadline / 4}
}

// All returns every topic of a deployment of the default saga, for
// creating them up front.
func (t Topics) All() []string { return t.AllOf(saga.Default()) }

// AllOf returns every topic of a deployment of saga g: each service's
// topic, the dead-letter topic, then each service's redelivery topics.
func (t Topics) AllOf(g *saga.Saga) []string {
	services := ServicesOf(g)
	all := make([]string, 0, len(services)*(1+RedeliveryLevels)+1)
	for _, s := range services {
		all = append(all, t.Of(s))
	}
	all = append(all, t.DeadLetter())
	for _, s := range services {
		for level := 1; level <= RedeliveryLevels; level++ {
			all = append(all, t.Redelivery(s, level))
		}
	}
	return all
}
