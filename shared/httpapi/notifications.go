package httpapi

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/notifications"
)

// notificationService names the notification service in Upstreams. It
// carries out no saga step, so it has no fault injector: /v1/admin/faults
// never asks its process.
const notificationService = "notifications"

// Notifications is the notification service's store, as the API uses it.
type Notifications interface {
	// List returns a page of one customer's notifications, newest first.
	// Errors: errs.Invalid naming the limit or cursor field.
	List(ctx context.Context, f notifications.Filter) (notifications.Page, error)
}

// notificationJSON is one notification as GET
// /v1/customers/{id}/notifications shows it.
type notificationJSON struct {
	OrderID        string    `json:"order_id"`
	Status         string    `json:"status"`
	Reason         string    `json:"reason,omitempty"`
	TrackingNumber string    `json:"tracking_number,omitempty"`
	TotalCents     int64     `json:"total_cents,omitempty"`
	Message        string    `json:"message"`
	EndedAt        time.Time `json:"ended_at"`
}

// notificationsJSON is a page of notifications.
type notificationsJSON struct {
	Notifications []notificationJSON `json:"notifications"`
	NextCursor    string             `json:"next_cursor,omitempty"`
}

// needNotifications forwards the request to the notification service's
// process when this one does not host it and knows that process
// (Upstreams); without either it answers 503.
func (a *api) needNotifications(c *gin.Context) {
	if a.Notifications == nil && !a.forwardToOwner(c) {
		a.fail(c, errs.E(errs.Unavailable, "this stack serves no notifications"))
	}
}

// listNotifications serves GET /v1/customers/{id}/notifications?limit=&cursor=:
// a page of the customer's notifications, newest first. A customer reaches
// it only for its own (ownCustomer, before any forwarding).
func (a *api) listNotifications(c *gin.Context) {
	var f fieldErrors
	f.id("id", c.Param("id"))
	filter := notifications.Filter{CustomerID: c.Param("id")}
	filter.Limit, filter.Cursor = pageQuery(c, notifications.MaxListLimit, &f)
	if err := f.err(); err != nil {
		a.fail(c, err)
		return
	}
	page, err := a.Notifications.List(c.Request.Context(), filter)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := notificationsJSON{Notifications: make([]notificationJSON, 0, len(page.Notifications)), NextCursor: page.NextCursor}
	for _, n := range page.Notifications {
		out.Notifications = append(out.Notifications, notificationJSON{
			OrderID: n.OrderID, Status: string(n.Status), Reason: string(n.Reason), TrackingNumber: n.TrackingNumber,
			TotalCents: int64(n.TotalCents), Message: n.Message, EndedAt: n.EndedAt,
		})
	}
	a.ok(c, out)
}
