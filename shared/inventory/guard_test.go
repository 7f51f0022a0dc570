package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// TestReserve_Guard_RefusesWhenARivalTookTheUnitsAfterTheRead makes a rival
// transaction take the last units of b after the service read them, on
// PostgreSQL: the service decides to hold the order, its conditional update
// of b waits for the rival and then matches no row. It must refuse the order
// and give back the units of a it had moved.
func TestReserve_Guard_RefusesWhenARivalTookTheUnitsAfterTheRead(t *testing.T) {
	t.Parallel()
	db := sqltest.Open(t, sqldb.Postgres, inventory.Migrations())
	svc := inventory.New(db, nil, testTime)
	setProduct(t, svc, "a", 100, 5)
	setProduct(t, svc, "b", 200, 3)
	ctx := context.Background()

	rival, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rival.Rollback()
	if _, err := rival.ExecContext(ctx, `UPDATE products SET available = 0, reserved = 3 WHERE sku = 'b'`); err != nil {
		t.Fatal(err)
	}
	type result struct {
		r   inventory.Reservation
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := svc.Reserve(ctx, "o-1", []domain.Item{item("a", 2), item("b", 1)})
		done <- result{r, err}
	}()
	waitForLockWait(t, db)
	if err := rival.Commit(); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if got.err != nil || got.r.Status != inventory.Rejected {
		t.Fatalf("Reserve = %+v, %v; want rejected", got.r, got.err)
	}
	wantStock(t, svc, "a", 5, 0)
	wantStock(t, svc, "b", 0, 3)
}

// waitForLockWait waits until a session on db's database waits for a lock.
func waitForLockWait(t *testing.T, db *sqldb.DB) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		var n int
		if err := db.QueryRowContext(context.Background(), `
			SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatalf("reading the sessions waiting for a lock: %v", err)
		}
		if n > 0 {
			return
		}
	}
	t.Fatal("no session waited for the rival's lock within 10s")
}
