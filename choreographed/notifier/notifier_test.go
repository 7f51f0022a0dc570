package notifier_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/notifier"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/notifications"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

var t0 = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

func TestNotifier_LearnsTheCustomerFromOrderPlacedAndNotifiesEachEndingOnce(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			store := notifications.NewStore(sqltest.Open(t, d, notifications.Migrations()), nil)
			routes := notifier.New(store).Routes()
			apply := func(p events.Payload, orderID string, at time.Time) error {
				t.Helper()
				e, err := events.New(p, orderID, nil, at)
				if err != nil {
					t.Fatal(err)
				}
				read, err := events.Reader{}.Read(e)
				if err != nil {
					t.Fatal(err)
				}
				h, ok := routes[e.Type]
				if !ok {
					t.Fatalf("the notifier does not follow %s", e.Type)
				}
				return store.DB().InTx(ctx, func(tx *sqldb.Tx) error { return h(ctx, tx, read) })
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			for id, customer := range map[string]string{"done": "ada", "failed": "bob", "cancelled": "ada"} {
				must(apply(events.OrderPlacedData{CustomerID: customer}, id, t0))
			}
			// OrderCompleted v2 carries a customer too: the notifier goes by
			// OrderPlaced's.
			must(apply(events.OrderCompletedData{TrackingNumber: "TRK-9", TotalCents: 2500, CustomerID: "someone-else", CompletedAt: t0}, "done", t0.Add(time.Second)))
			must(apply(events.OrderCompletedData{TrackingNumber: "TRK-9", TotalCents: 2500}, "done", t0.Add(2*time.Second))) // a repeat
			must(apply(events.OrderFailedData{Reason: domain.ReasonPaymentDeclined}, "failed", t0.Add(time.Second)))
			must(apply(events.OrderCancelledData{}, "cancelled", t0.Add(time.Second)))

			all, err := store.All(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]notifications.Notification{
				"cancelled": {CustomerID: "ada", Status: domain.StatusCancelled, Reason: domain.ReasonCancelled},
				"done":      {CustomerID: "ada", Status: domain.StatusCompleted, TrackingNumber: "TRK-9", TotalCents: 2500},
				"failed":    {CustomerID: "bob", Status: domain.StatusFailed, Reason: domain.ReasonPaymentDeclined},
			}
			if len(all) != len(want) {
				t.Fatalf("%d notifications, want %d: %+v", len(all), len(want), all)
			}
			for _, n := range all {
				w := want[n.OrderID]
				if n.CustomerID != w.CustomerID || n.Status != w.Status || n.Reason != w.Reason || n.TrackingNumber != w.TrackingNumber ||
					n.TotalCents != w.TotalCents || !n.EndedAt.Equal(t0.Add(time.Second)) || n.Message == "" {
					t.Errorf("notification %+v, want %+v ended at the first ending event's occurred_at", n, w)
				}
			}

			// An ending whose OrderPlaced the notifier never saw, and an
			// OrderPlaced without a customer: no retry fixes them.
			err = apply(events.OrderFailedData{Reason: domain.ReasonOutOfStock}, "unknown", t0)
			if !consumer.IsPermanent(err) || errs.CodeOf(err) != errs.NotFound {
				t.Errorf("ending of an order never placed: %v, want a permanent not-found error", err)
			}
			if err := apply(events.OrderPlacedData{CustomerID: ""}, "nobody", t0); !consumer.IsPermanent(err) {
				t.Errorf("OrderPlaced without a customer: %v, want a permanent error", err)
			}
		})
	}
}
