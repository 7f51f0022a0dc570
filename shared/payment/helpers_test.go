package payment_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// testTime is the clock of every service under test.
func testTime() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 891234000, time.UTC) }

// eachDB runs fn on SQLite and on PostgreSQL, each time with a service on a
// fresh migrated database and no fault injection.
func eachDB(t *testing.T, fn func(t *testing.T, db *sqldb.DB, svc *payment.Service)) {
	t.Helper()
	sqltest.Each(t, []sqldb.Migrations{payment.Migrations()}, func(t *testing.T, db *sqldb.DB) {
		fn(t, db, payment.New(db, nil, testTime))
	})
}

// setCustomer sets a customer or fails the test.
func setCustomer(tb testing.TB, svc *payment.Service, id string, credit domain.Cents) {
	tb.Helper()
	if _, err := svc.SetCustomer(context.Background(), payment.CustomerInput{ID: id, Name: "Customer " + id, CreditCents: credit}); err != nil {
		tb.Fatalf("setting customer %s: %v", id, err)
	}
}

// wantCredit fails the test unless the customer has this credit left.
func wantCredit(tb testing.TB, svc *payment.Service, id string, credit domain.Cents) {
	tb.Helper()
	c, err := svc.Customer(context.Background(), id)
	if err != nil {
		tb.Fatalf("reading customer %s: %v", id, err)
	}
	if c.CreditCents != credit {
		tb.Fatalf("customer %s has %d cents left, want %d", id, c.CreditCents, credit)
	}
}

// charge charges or fails the test on a fault.
func charge(tb testing.TB, svc *payment.Service, orderID, customerID string, amount domain.Cents) payment.Payment {
	tb.Helper()
	p, err := svc.Charge(context.Background(), orderID, customerID, amount)
	if err != nil {
		tb.Fatalf("charging order %s: %v", orderID, err)
	}
	return p
}

// refund refunds or fails the test.
func refund(tb testing.TB, svc *payment.Service, orderID string) payment.Payment {
	tb.Helper()
	p, err := svc.Refund(context.Background(), orderID)
	if err != nil {
		tb.Fatalf("refunding order %s: %v", orderID, err)
	}
	return p
}

// failing returns an injector that fails a share rate of calls, its choices
// fixed by seed.
func failing(tb testing.TB, rate float64, seed uint64) *faults.Injector {
	tb.Helper()
	in := faults.New("payment", seed)
	if err := in.Set(faults.Setting{ErrorRate: rate}); err != nil {
		tb.Fatal(err)
	}
	return in
}

// race runs fn(i) for i in [0, n) on n goroutines started together and
// returns each call's error.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var (
		start = make(chan struct{})
		wg    sync.WaitGroup
	)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// fieldNames lists the fields of an errs.Invalid error.
func fieldNames(err error) []string {
	var e *errs.Error
	if !errors.As(err, &e) {
		return nil
	}
	var names []string
	for _, f := range e.Fields {
		names = append(names, f.Field)
	}
	return names
}
