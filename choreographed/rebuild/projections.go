package rebuild

import (
	"context"
	"fmt"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/notifier"
	chorders "github.com/ordersaga/ordersaga/choreographed/orders"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/notifications"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// The projections a rebuild knows, by name.
const (
	// NotificationsName is the notification service's notifications and
	// the customers it remembered, from the order service's topic.
	NotificationsName = "notifications"
	// TimelineName is the order timelines of the order service's
	// database, from the order service's topic and every step's.
	TimelineName = "timeline"
)

// Names returns the names of the projections a rebuild knows.
func Names() []string { return []string{NotificationsName, TimelineName} }

// RoleOf returns the role whose database holds the projection name, and
// false for an unknown name.
func RoleOf(name string) (hosted.Role, bool) {
	switch name {
	case NotificationsName:
		return hosted.RoleNotifications, true
	case TimelineName:
		return hosted.RoleOrders, true
	}
	return "", false
}

// Of returns the projection name on n, which hosts its role (RoleOf).
func Of(name string, n *hosted.Services) (Projection, error) {
	switch name {
	case NotificationsName:
		if n.Notifications != nil {
			return Notifications(n.Notifications), nil
		}
	case TimelineName:
		if n.Orders != nil {
			return Timeline(chorders.NewTimeline(events.NewTable(n.Saga), n.Orders, nil), n.Orders.DB()), nil
		}
	default:
		return Projection{}, fmt.Errorf("no projection %q (projections: %v)", name, Names())
	}
	role, _ := RoleOf(name)
	return Projection{}, fmt.Errorf("the %s projection is in the %s database, which is not open", name, role)
}

// Notifications is the notification service's projection: its
// notifications and the customers it remembered, derived from the order
// service's events by the notifier's handlers.
func Notifications(store *notifications.Store) Projection {
	n := notifier.New(store)
	routes := n.Routes()
	return Projection{
		Name:    NotificationsName,
		DB:      store.DB(),
		Tables:  []string{"notifications", "order_customers"},
		Sources: n.Subscriptions(),
		Follows: func(t events.Type) bool { _, ok := routes[t]; return ok },
		Reset:   store.ResetTx,
		Apply: func(ctx context.Context, tx *sqldb.Tx, e *events.Envelope, _ time.Time) error {
			return routes[e.Type](ctx, tx, e)
		},
	}
}

// Timeline is the order service's timeline projection on db (the order
// database), derived from the events it published and those it consumed
// (see chorders.Timeline.Replay).
func Timeline(tl *chorders.Timeline, db *sqldb.DB) Projection {
	return Projection{
		Name:    TimelineName,
		DB:      db,
		Tables:  []string{"order_timeline"},
		Sources: tl.Sources(),
		Follows: tl.Follows,
		Reset:   tl.ResetTx,
		Apply:   tl.Replay,
	}
}
