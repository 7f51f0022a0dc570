package orders_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// t0 has nanoseconds, which the store keeps only to the microsecond.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.UTC)

// eachDB runs fn on SQLite and on PostgreSQL, each time with a store on a
// fresh migrated database.
func eachDB(t *testing.T, fn func(t *testing.T, db *sqldb.DB, store *orders.Store)) {
	t.Helper()
	sqltest.Each(t, []sqldb.Migrations{orders.Migrations()}, func(t *testing.T, db *sqldb.DB) {
		fn(t, db, orders.New(db))
	})
}

// request returns a valid request for order id.
func request(id string) domain.PlaceOrder {
	return domain.PlaceOrder{
		OrderID:    id,
		CustomerID: "c-1",
		Items:      []domain.Item{{SKU: "mug", Quantity: 2}, {SKU: "tee", Quantity: 1}},
		ShipTo: domain.Address{Name: "Ada", Line1: "1 Main St", Line2: "Flat 2", City: "Berlin",
			PostalCode: "10115", Country: "DE"},
	}
}

// newOrder returns a new order for the request, placed at at.
func newOrder(tb testing.TB, p domain.PlaceOrder, at time.Time) *domain.Order {
	tb.Helper()
	o, err := domain.NewOrder(p, []domain.StepName{domain.StepInventory, domain.StepPayment, domain.StepShipping}, at)
	if err != nil {
		tb.Fatalf("new order %s: %v", p.OrderID, err)
	}
	return o
}

// create stores a new order and fails the test unless it was created.
func create(tb testing.TB, store *orders.Store, id string, at time.Time) *domain.Order {
	tb.Helper()
	o, created, err := store.Create(context.Background(), newOrder(tb, request(id), at))
	if err != nil || !created {
		tb.Fatalf("creating order %s: created %v, err %v", id, created, err)
	}
	return o
}

// get reads an order or fails the test.
func get(tb testing.TB, store *orders.Store, id string) *domain.Order {
	tb.Helper()
	o, err := store.Get(context.Background(), id)
	if err != nil {
		tb.Fatalf("reading order %s: %v", id, err)
	}
	return o
}

// update changes an order or fails the test.
func update(tb testing.TB, store *orders.Store, id string, fn func(*domain.Order) error) *domain.Order {
	tb.Helper()
	o, err := store.Update(context.Background(), id, fn)
	if err != nil {
		tb.Fatalf("updating order %s: %v", id, err)
	}
	return o
}

// atMicros returns s with every time in UTC at microsecond precision, as
// the store keeps it.
func atMicros(s domain.OrderState) domain.OrderState {
	m := func(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }
	s.CreatedAt, s.UpdatedAt = m(s.CreatedAt), m(s.UpdatedAt)
	for i := range s.Steps {
		s.Steps[i].At = m(s.Steps[i].At)
	}
	return s
}

// waitFor fails the test unless cond holds within a generous deadline.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// completeWith records tracking and makes the order completed; its steps
// must be done.
func completeWith(o *domain.Order, tracking string, at time.Time) error {
	if err := o.Contribute(domain.Contribution{TrackingNumber: tracking}, at); err != nil {
		return err
	}
	return o.Complete(at)
}
