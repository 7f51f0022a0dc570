package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// testTime is the clock of every service under test.
func testTime() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 891234000, time.UTC) }

// eachDB runs fn on SQLite and on PostgreSQL, each time with a service on a
// fresh migrated database and the injector f (nil for none).
func eachDB(t *testing.T, f func() *faults.Injector, fn func(t *testing.T, db *sqldb.DB, svc *inventory.Service)) {
	t.Helper()
	sqltest.Each(t, []sqldb.Migrations{inventory.Migrations()}, func(t *testing.T, db *sqldb.DB) {
		var inj *faults.Injector
		if f != nil {
			inj = f()
		}
		fn(t, db, inventory.New(db, inj, testTime))
	})
}

// setProduct sets a product or fails the test.
func setProduct(tb testing.TB, svc *inventory.Service, sku string, price domain.Cents, stock int64) {
	tb.Helper()
	if _, err := svc.SetProduct(context.Background(), inventory.ProductInput{SKU: sku, Name: "Product " + sku, PriceCents: price, Stock: stock}); err != nil {
		tb.Fatalf("setting product %s: %v", sku, err)
	}
}

// wantStock fails the test unless the product has these units.
func wantStock(tb testing.TB, svc *inventory.Service, sku string, available, reserved int64) {
	tb.Helper()
	p, err := svc.Product(context.Background(), sku)
	if err != nil {
		tb.Fatalf("reading product %s: %v", sku, err)
	}
	if p.Available != available || p.Reserved != reserved {
		tb.Fatalf("product %s: available %d, reserved %d; want available %d, reserved %d", sku, p.Available, p.Reserved, available, reserved)
	}
}

// reserve reserves or fails the test on a fault.
func reserve(tb testing.TB, svc *inventory.Service, orderID string, items ...domain.Item) inventory.Reservation {
	tb.Helper()
	r, err := svc.Reserve(context.Background(), orderID, items)
	if err != nil {
		tb.Fatalf("reserving order %s: %v", orderID, err)
	}
	return r
}

// release releases or fails the test.
func release(tb testing.TB, svc *inventory.Service, orderID string) inventory.Reservation {
	tb.Helper()
	r, err := svc.Release(context.Background(), orderID)
	if err != nil {
		tb.Fatalf("releasing order %s: %v", orderID, err)
	}
	return r
}

// commit commits or fails the test.
func commit(tb testing.TB, svc *inventory.Service, orderID string) inventory.Reservation {
	tb.Helper()
	r, err := svc.Commit(context.Background(), orderID)
	if err != nil {
		tb.Fatalf("committing order %s: %v", orderID, err)
	}
	return r
}

func item(sku string, q int64) domain.Item { return domain.Item{SKU: sku, Quantity: q} }
