package inbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/inbox"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func claim(t *testing.T, db *sqldb.DB, consumer, id string, at time.Time) bool {
	t.Helper()
	var first bool
	if err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
		var err error
		first, err = inbox.Claim(context.Background(), tx, consumer, id, at)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return first
}

func TestClaim_SecondClaimOfAnEvent_ReportsADuplicatePerConsumer(t *testing.T) {
	sqltest.Each(t, []sqldb.Migrations{inbox.Migrations()}, func(t *testing.T, db *sqldb.DB) {
		if !claim(t, db, "payment", "e1", t0) {
			t.Fatal("first claim reported a duplicate")
		}
		if claim(t, db, "payment", "e1", t0) {
			t.Fatal("second claim by the same consumer reported first")
		}
		if !claim(t, db, "shipping", "e1", t0) {
			t.Fatal("another consumer's first claim reported a duplicate")
		}
	})
}

func TestClaim_RolledBack_LeavesTheEventUnclaimed(t *testing.T) {
	sqltest.Each(t, []sqldb.Migrations{inbox.Migrations()}, func(t *testing.T, db *sqldb.DB) {
		_ = db.InTx(context.Background(), func(tx *sqldb.Tx) error {
			if _, err := inbox.Claim(context.Background(), tx, "payment", "e1", t0); err != nil {
				t.Fatal(err)
			}
			return context.Canceled // roll back: the state change failed
		})
		if !claim(t, db, "payment", "e1", t0) {
			t.Fatal("a rolled-back claim was kept")
		}
	})
}

func TestPrune_ForgetsOnlyOldEvents(t *testing.T) {
	sqltest.Each(t, []sqldb.Migrations{inbox.Migrations()}, func(t *testing.T, db *sqldb.DB) {
		claim(t, db, "c", "old", t0)
		claim(t, db, "c", "new", t0.Add(48*time.Hour))
		n, err := inbox.Prune(context.Background(), db, t0.Add(24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("Prune = %d, %v; want 1", n, err)
		}
		if !claim(t, db, "c", "old", t0) || claim(t, db, "c", "new", t0) {
			t.Fatal("prune forgot the wrong events")
		}
	})
}

func TestClaimAll_ReportsFirstClaimsOnlyAndAgreesWithClaim(t *testing.T) {
	sqltest.Each(t, []sqldb.Migrations{inbox.Migrations()}, func(t *testing.T, db *sqldb.DB) {
		claim(t, db, "payment", "e1", t0)
		claim(t, db, "shipping", "e2", t0) // another consumer's claim
		var first map[string]bool
		if err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
			var err error
			first, err = inbox.ClaimAll(context.Background(), tx, "payment", []string{"e1", "e2", "e3", "e2"}, t0)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(first) != 2 || !first["e2"] || !first["e3"] {
			t.Fatalf("first claims = %v, want e2 and e3", first)
		}
		for _, id := range []string{"e1", "e2", "e3"} {
			if claim(t, db, "payment", id, t0) {
				t.Fatalf("event %s claimed again after ClaimAll", id)
			}
		}
		if err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
			_, err := inbox.ClaimAll(context.Background(), tx, "payment", []string{"e4", "e5"}, t0)
			if err != nil {
				t.Fatal(err)
			}
			return context.Canceled // roll back
		}); err == nil {
			t.Fatal("the rolled-back transaction reported success")
		}
		if !claim(t, db, "payment", "e4", t0) {
			t.Fatal("a rolled-back ClaimAll was kept")
		}
	})
}
