package payment_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// TestCharge_Guard_DeclinesWhenARivalTookTheCreditAfterTheRead makes a
// rival transaction spend the customer's credit after the service read it,
// on PostgreSQL: the service decides the account covers the charge, its
// conditional update waits for the rival and then matches no row. It must
// decline the charge and leave the credit as the rival did.
func TestCharge_Guard_DeclinesWhenARivalTookTheCreditAfterTheRead(t *testing.T) {
	t.Parallel()
	db := sqltest.Open(t, sqldb.Postgres, payment.Migrations())
	svc := payment.New(db, nil, testTime)
	setCustomer(t, svc, "c-1", 1000)
	ctx := context.Background()

	rival, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rival.Rollback()
	if _, err := rival.ExecContext(ctx, `UPDATE customers SET credit_cents = credit_cents - 900 WHERE id = 'c-1'`); err != nil {
		t.Fatal(err)
	}
	type result struct {
		p   payment.Payment
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := svc.Charge(ctx, "o-1", "c-1", 500)
		done <- result{p, err}
	}()
	// Wait until the charge waits for the rival's lock on the customer.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var n int
		if err := db.QueryRowContext(ctx, `
			SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatalf("reading the sessions waiting for a lock: %v", err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the charge did not wait for the rival's lock within 10s")
		}
	}
	if err := rival.Commit(); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if got.err != nil || got.p.Status != payment.Declined {
		t.Fatalf("Charge = %+v, %v; want declined", got.p, got.err)
	}
	wantCredit(t, svc, "c-1", 100)
}
