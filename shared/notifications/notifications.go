// Package notifications is the customer-notification service: when an
// order ends (completed, failed or cancelled), its customer gets one
// notification, kept in the service's own database and listed by
// GET /v1/customers/{id}/notifications.
//
// The service is not a step of the saga: it observes how orders end.
// Each variant tells it in its own way (the choreographed variant by a
// consumer group of its own on the order service's events, the
// orchestrated one by an activity of the workflow), and each can rebuild
// it from what it retains (events, workflow histories). What a
// notification says is decided here, once: see New.
package notifications

import (
	"errors"
	"fmt"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// Notification is what a customer is told about one order that ended.
type Notification struct {
	OrderID        string
	CustomerID     string
	Status         domain.Status        // completed, failed or cancelled
	Reason         domain.FailureReason // why it failed or was cancelled; "" when completed
	TrackingNumber string               // the shipment's, when completed
	TotalCents     domain.Cents         // what was charged, when completed; 0 when unknown
	Message        string               // the text the customer reads
	// EndedAt is when the order ended, as the variant that ran it
	// recorded it: the same instant whether the notification is recorded
	// live or rebuilt.
	EndedAt time.Time
	// RecordedAt is when this database stored the notification (not part
	// of what a rebuild must reproduce).
	RecordedAt time.Time
}

// Ending is how an order ended: what a variant knows when it notifies.
type Ending struct {
	OrderID        string
	CustomerID     string
	Status         domain.Status
	Reason         domain.FailureReason
	TrackingNumber string
	TotalCents     domain.Cents
	EndedAt        time.Time
}

// ErrNotFinal says an Ending does not describe an order that ended.
var ErrNotFinal = errors.New("the order has not ended")

// New returns the notification of an order's ending: its fields, and the
// message the customer reads. Errors: ErrNotFinal for a status that is not
// final; an error for a missing order or customer id or end time.
func New(e Ending) (Notification, error) {
	switch {
	case !domain.ValidID(e.OrderID):
		return Notification{}, fmt.Errorf("notification: bad order id %q", e.OrderID)
	case !domain.ValidID(e.CustomerID):
		return Notification{}, fmt.Errorf("notification of order %s: bad customer id %q", e.OrderID, e.CustomerID)
	case e.EndedAt.IsZero():
		return Notification{}, fmt.Errorf("notification of order %s: no end time", e.OrderID)
	}
	n := Notification{
		OrderID: e.OrderID, CustomerID: e.CustomerID, Status: e.Status, Reason: e.Reason,
		TrackingNumber: e.TrackingNumber, TotalCents: e.TotalCents, EndedAt: e.EndedAt.UTC().Truncate(time.Microsecond),
	}
	switch e.Status {
	case domain.StatusCompleted:
		n.Reason = ""
		n.Message = fmt.Sprintf("Your order %s is on its way", e.OrderID)
		if e.TrackingNumber != "" {
			n.Message += ": tracking number " + e.TrackingNumber
		}
		n.Message += "."
	case domain.StatusFailed:
		n.TrackingNumber, n.TotalCents = "", 0
		n.Message = fmt.Sprintf("We could not fulfil your order %s (%s). Nothing was charged and nothing is held.", e.OrderID, reasonText(e.Reason))
	case domain.StatusCancelled:
		n.TrackingNumber, n.TotalCents = "", 0
		if n.Reason == "" {
			n.Reason = domain.ReasonCancelled
		}
		n.Message = fmt.Sprintf("Your order %s is cancelled. Nothing was charged and nothing is held.", e.OrderID)
	default:
		return Notification{}, fmt.Errorf("%w: order %s is %q", ErrNotFinal, e.OrderID, e.Status)
	}
	return n, nil
}

// reasonText is a failure reason in the customer's words.
func reasonText(r domain.FailureReason) string {
	switch r {
	case domain.ReasonOutOfStock:
		return "an item is out of stock"
	case domain.ReasonPaymentDeclined:
		return "the payment was declined"
	case domain.ReasonShippingUnavailable:
		return "we do not ship to that address"
	case domain.ReasonStepUnavailable:
		return "one of our services stayed unavailable"
	case domain.ReasonRejected:
		return "the order's data was refused"
	case "":
		return "no reason given"
	}
	return string(r)
}
