package notifications_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/notifications"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

var ended = time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)

func notification(t *testing.T, e notifications.Ending) notifications.Notification {
	t.Helper()
	n, err := notifications.New(e)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNew_MessageAndFieldsFollowTheEnding(t *testing.T) {
	done := notification(t, notifications.Ending{OrderID: "o-1", CustomerID: "ada", Status: domain.StatusCompleted,
		Reason: "ignored", TrackingNumber: "TRK-1", TotalCents: 2599, EndedAt: ended})
	if done.Reason != "" || done.TrackingNumber != "TRK-1" || done.TotalCents != 2599 || !strings.Contains(done.Message, "TRK-1") {
		t.Errorf("completed: %+v", done)
	}
	if !done.EndedAt.Equal(ended.Truncate(time.Microsecond)) {
		t.Errorf("ended at %v, want %v to the microsecond", done.EndedAt, ended)
	}
	failed := notification(t, notifications.Ending{OrderID: "o-2", CustomerID: "ada", Status: domain.StatusFailed,
		Reason: domain.ReasonPaymentDeclined, TrackingNumber: "x", TotalCents: 5, EndedAt: ended})
	if failed.TrackingNumber != "" || failed.TotalCents != 0 || !strings.Contains(failed.Message, "payment was declined") {
		t.Errorf("failed: %+v", failed)
	}
	cancelled := notification(t, notifications.Ending{OrderID: "o-3", CustomerID: "ada", Status: domain.StatusCancelled, EndedAt: ended})
	if cancelled.Reason != domain.ReasonCancelled || !strings.Contains(cancelled.Message, "cancelled") {
		t.Errorf("cancelled: %+v", cancelled)
	}
	for name, e := range map[string]notifications.Ending{
		"pending":     {OrderID: "o-4", CustomerID: "ada", Status: domain.StatusPending, EndedAt: ended},
		"no customer": {OrderID: "o-4", Status: domain.StatusCompleted, EndedAt: ended},
		"no order":    {CustomerID: "ada", Status: domain.StatusCompleted, EndedAt: ended},
		"no end time": {OrderID: "o-4", CustomerID: "ada", Status: domain.StatusCompleted},
	} {
		if _, err := notifications.New(e); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := notifications.New(notifications.Ending{OrderID: "o-4", CustomerID: "ada", Status: domain.StatusPending, EndedAt: ended}); !errors.Is(err, notifications.ErrNotFinal) {
		t.Errorf("pending: %v, want ErrNotFinal", err)
	}
}

func TestStore_RecordsOncePerOrder_ListsNewestFirstByPage(t *testing.T) {
	sqltest.Each(t, []sqldb.Migrations{notifications.Migrations()}, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := notifications.NewStore(db, nil)
		for i, id := range []string{"o-1", "o-2", "o-3"} {
			n := notification(t, notifications.Ending{OrderID: id, CustomerID: "ada", Status: domain.StatusCompleted,
				TrackingNumber: "T" + id, EndedAt: ended.Add(time.Duration(i) * time.Second)})
			for range 2 {
				if _, err := s.Record(ctx, n); err != nil {
					t.Fatal(err)
				}
			}
		}
		again := notification(t, notifications.Ending{OrderID: "o-1", CustomerID: "ada", Status: domain.StatusFailed, Reason: domain.ReasonOutOfStock, EndedAt: ended})
		if stored, err := s.Record(ctx, again); err != nil || stored {
			t.Fatalf("a second notification of o-1: stored %v, %v", stored, err)
		}
		if _, err := s.Record(ctx, notification(t, notifications.Ending{OrderID: "o-9", CustomerID: "bob", Status: domain.StatusCancelled, EndedAt: ended})); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Count(ctx); err != nil || n != 4 {
			t.Fatalf("count %d, %v; want 4", n, err)
		}
		first, err := s.List(ctx, notifications.Filter{CustomerID: "ada", Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(first.Notifications) != 2 || first.Notifications[0].OrderID != "o-3" || first.Notifications[1].OrderID != "o-2" || first.NextCursor == "" {
			t.Fatalf("first page %+v", first)
		}
		second, err := s.List(ctx, notifications.Filter{CustomerID: "ada", Limit: 2, Cursor: first.NextCursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(second.Notifications) != 1 || second.Notifications[0].OrderID != "o-1" || second.NextCursor != "" {
			t.Fatalf("second page %+v", second)
		}
		if got := second.Notifications[0]; got.Status != domain.StatusCompleted || got.TrackingNumber != "To-1" || !got.EndedAt.Equal(ended.Truncate(time.Microsecond)) {
			t.Errorf("o-1 read back as %+v", got)
		}
		_, err = s.List(ctx, notifications.Filter{CustomerID: "ada", Limit: 500, Cursor: "nope"})
		if e, ok := errors.AsType[*errs.Error](err); !ok || e.Code != errs.Invalid || len(e.Fields) != 2 {
			t.Errorf("bad limit and cursor: %v", err)
		}
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error { return s.ResetTx(ctx, tx) }); err != nil {
			t.Fatal(err)
		}
		if all, err := s.All(ctx); err != nil || len(all) != 0 {
			t.Errorf("after reset: %v, %v", all, err)
		}
	})
}

func TestStore_RemembersTheCustomerOfAnOrderOnce(t *testing.T) {
	sqltest.Each(t, []sqldb.Migrations{notifications.Migrations()}, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := notifications.NewStore(db, nil)
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if err := s.RememberCustomerTx(ctx, tx, "o-1", "ada"); err != nil {
				return err
			}
			if err := s.RememberCustomerTx(ctx, tx, "o-1", "bob"); err != nil {
				return err
			}
			if id, err := s.CustomerOfTx(ctx, tx, "o-1"); err != nil || id != "ada" {
				t.Errorf("customer of o-1: %q, %v", id, err)
			}
			if _, err := s.CustomerOfTx(ctx, tx, "o-2"); !errs.Is(err, errs.NotFound) {
				t.Errorf("customer of o-2: %v, want not found", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
