package shipping_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/shipping"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// testTime is the clock of every service under test.
func testTime() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.UTC) }

// eachDB runs fn on SQLite and on PostgreSQL, each time with a service on a
// fresh migrated database, configured with cfg and the injector in (nil for
// none).
func eachDB(t *testing.T, cfg shipping.Config, in func() *faults.Injector, fn func(t *testing.T, db *sqldb.DB, svc *shipping.Service)) {
	t.Helper()
	sqltest.Each(t, []sqldb.Migrations{shipping.Migrations()}, func(t *testing.T, db *sqldb.DB) {
		var f *faults.Injector
		if in != nil {
			f = in()
		}
		fn(t, db, shipping.New(db, cfg, f, testTime))
	})
}

// address returns a valid address in country.
func address(country string) domain.Address {
	return domain.Address{Name: "Ada", Line1: "1 Main St", City: "Somewhere", PostalCode: "10115", Country: country}
}

// ship ships or fails the test on a fault.
func ship(tb testing.TB, svc *shipping.Service, orderID, country string) shipping.Shipment {
	tb.Helper()
	sh, err := svc.Ship(context.Background(), orderID, address(country))
	if err != nil {
		tb.Fatalf("shipping order %s: %v", orderID, err)
	}
	return sh
}

// cancel cancels or fails the test on a fault.
func cancel(tb testing.TB, svc *shipping.Service, orderID string) shipping.Shipment {
	tb.Helper()
	sh, err := svc.Cancel(context.Background(), orderID)
	if err != nil {
		tb.Fatalf("cancelling order %s: %v", orderID, err)
	}
	return sh
}

// stored returns the order's recorded shipment or fails the test.
func stored(tb testing.TB, svc *shipping.Service, orderID string) shipping.Shipment {
	tb.Helper()
	sh, err := svc.Shipment(context.Background(), orderID)
	if err != nil {
		tb.Fatalf("reading the shipment of order %s: %v", orderID, err)
	}
	return sh
}

// countShipments returns how many records the shipments table holds.
func countShipments(tb testing.TB, db *sqldb.DB) int {
	tb.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM shipments`).Scan(&n); err != nil {
		tb.Fatalf("counting shipments: %v", err)
	}
	return n
}
