// Package notifier is the notification service's part of the choreography:
// a consumer group of its own on the order service's topic, which no
// producer knows about. It learns whose order an order id is from
// OrderPlaced and, when OrderCompleted, OrderFailed or OrderCancelled ends
// the order, records the customer's one notification (shared/notifications
// decides what it says). It emits no event, so it has no outbox: its
// database holds the notifications, the remembered customers and the
// inbox of its consumer group.
//
// Both events of an order travel on one partition of the order service's
// topic (the key is the order id), so OrderPlaced is handled before the
// event that ends the order. The handlers are idempotent (one customer and
// one notification per order id), so a rebuild from the retained events
// (package rebuild) applies them again as they are.
package notifier

import (
	"context"
	"fmt"

	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/notifications"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Notifier holds the notification service's event handlers.
type Notifier struct {
	store *notifications.Store
}

// New returns the handlers that keep store up to date.
func New(store *notifications.Store) *Notifier {
	return &Notifier{store: store}
}

// Subscriptions returns the services whose topics the notifier reads: the
// order service's alone.
func (n *Notifier) Subscriptions() []events.Service { return []events.Service{events.Orders} }

// Routes returns the handler of each event type the notifier follows:
// OrderPlaced, and the three events that end an order.
func (n *Notifier) Routes() consumer.Routes {
	return consumer.Routes{
		events.OrderPlaced:    n.placed,
		events.OrderCompleted: n.ended,
		events.OrderFailed:    n.ended,
		events.OrderCancelled: n.ended,
	}
}

// placed remembers whose order it is.
func (n *Notifier) placed(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	p, err := events.As[events.OrderPlacedData](e)
	if err != nil {
		return err
	}
	if !domain.ValidID(p.CustomerID) {
		return consumer.Permanent(fmt.Errorf("OrderPlaced %s of order %s: bad customer id %q", e.EventID, e.OrderID, p.CustomerID))
	}
	return n.store.RememberCustomerTx(ctx, tx, e.OrderID, p.CustomerID)
}

// ended records the notification of an order that ended, for the customer
// its OrderPlaced named. An order whose OrderPlaced the notifier never saw
// (it was no longer retained when the notifier started) cannot be
// notified: errs.NotFound, which the consumer dead-letters.
func (n *Notifier) ended(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	end, err := endingOf(e)
	if err != nil {
		return err
	}
	if end.CustomerID, err = n.store.CustomerOfTx(ctx, tx, e.OrderID); err != nil {
		return fmt.Errorf("notifying the end of order %s: %w", e.OrderID, err)
	}
	note, err := notifications.New(end)
	if err != nil {
		return consumer.Permanent(err)
	}
	_, err = n.store.RecordTx(ctx, tx, note)
	return err
}

// endingOf reads how an order ended from the event that ended it, without
// its customer; it ended at the event's occurred_at, so a rebuild records
// the same instant.
func endingOf(e *events.Envelope) (notifications.Ending, error) {
	end := notifications.Ending{OrderID: e.OrderID, EndedAt: e.OccurredAt}
	switch e.Type {
	case events.OrderCompleted:
		p, err := events.As[events.OrderCompletedData](e)
		if err != nil {
			return end, err
		}
		end.Status, end.TrackingNumber, end.TotalCents = domain.StatusCompleted, p.TrackingNumber, p.TotalCents
	case events.OrderFailed:
		p, err := events.As[events.OrderFailedData](e)
		if err != nil {
			return end, err
		}
		end.Status, end.Reason = domain.StatusFailed, p.Reason
	case events.OrderCancelled:
		if _, err := events.As[events.OrderCancelledData](e); err != nil {
			return end, err
		}
		end.Status, end.Reason = domain.StatusCancelled, domain.ReasonCancelled
	default:
		return end, consumer.Permanent(fmt.Errorf("%s %s does not end an order", e.Type, e.EventID))
	}
	return end, nil
}
