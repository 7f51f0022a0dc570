// Package payment is the payment service: customer accounts with spendable
// credit, and the charges the order saga makes against them. It owns its own
// database (tables and migrations in migrations/).
//
// Saga step "payment": Charge is the action and Refund the compensation.
// Both are idempotent by order id and safe in any order of arrival: a Refund
// before its Charge leaves a tombstone, and the late Charge becomes a no-op
// reporting domain.ErrCompensated.
//
// The rules live in small types: Account decides whether a customer's
// credit covers a charge, and Payment whether a refund gives anything back
// (and what a tombstone means). The service reads the records, decides with
// them, and writes with conditional updates that guard against a concurrent
// writer: credit never drops below zero, whatever the concurrency.
//
// Fault injection: every saga operation (Charge, Refund and their Tx forms)
// first asks the fault injector, which may add latency or fail the call with
// an errs.Unavailable error before anything changed. The forms that run
// their own transaction ask it a second time after the commit: a failure
// then stands for a lost reply (the effect happened, the caller sees
// errs.Unavailable and retries), which idempotency by order id absorbs.
package payment

import (
	"fmt"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/sagametrics"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Customer is a customer account.
type Customer struct {
	ID          string
	Name        string
	CreditCents domain.Cents // what is left to spend now
}

// CustomerInput sets a customer and its spendable credit.
type CustomerInput struct {
	ID          string
	Name        string
	CreditCents domain.Cents
}

// PaymentStatus is where one order's payment stands.
type PaymentStatus string

// Payment statuses.
const (
	Charged  PaymentStatus = "charged"  // the amount was taken from the credit
	Declined PaymentStatus = "declined" // refused: unknown customer or too little credit
	Refunded PaymentStatus = "refunded" // compensated, or a tombstone left by an early refund
)

// Payment is the outcome of the saga's payment step for one order.
type Payment struct {
	OrderID     string
	CustomerID  string
	AmountCents domain.Cents
	Status      PaymentStatus
	// Tombstone is true when a Refund found no charge to undo and recorded
	// its own: nothing was ever charged for the order.
	Tombstone bool
	UpdatedAt time.Time
}

// Err returns the business outcome of a Charge as an error: nil when
// charged, an error wrapping domain.ErrPaymentDeclined when declined, and one
// wrapping domain.ErrCompensated when refunded.
func (p Payment) Err() error {
	switch p.Status {
	case Charged:
		return nil
	case Declined:
		return fmt.Errorf("charging order %s: %w", p.OrderID, domain.ErrPaymentDeclined)
	case Refunded:
		return fmt.Errorf("charging order %s: its payment was refunded: %w", p.OrderID, domain.ErrCompensated)
	}
	return fmt.Errorf("charging order %s: unknown payment status %q", p.OrderID, p.Status)
}

// Service is the payment service.
type Service struct {
	db     *sqldb.DB
	faults *faults.Injector
	now    func() time.Time
	steps  *sagametrics.Steps // times Charge and Refund; nil for none
}

// New returns the payment service on db (already migrated). faults may be
// nil; now is the clock.
func New(db *sqldb.DB, f *faults.Injector, now func() time.Time) *Service {
	return &Service{db: db, faults: f, now: now}
}

// SetStepMetrics makes the service time each run of the payment step's
// action (Charge) and compensation (Refund) with m (nil: not at all). Call
// it before the service is used.
func (s *Service) SetStepMetrics(m *sagametrics.Steps) { s.steps = m }

// undid reports whether a Refund gave a charge back.
func (p Payment) undid() bool { return p.Status == Refunded && !p.Tombstone }

// refundTombstone returns the record a Refund leaves for an order that has
// no payment: nothing was ever charged, and a late Charge finds the order
// compensated (its Err wraps domain.ErrCompensated) and takes nothing.
func refundTombstone(orderID string, at time.Time) Payment {
	return Payment{OrderID: orderID, Status: Refunded, Tombstone: true, UpdatedAt: at}
}

// refund returns the payment once refunded at at, and whether that moves
// it: only a charged order's amount goes back to the customer. A payment
// refunded before (or a tombstone) or declined stays as it is, with nothing
// to give back.
func (p Payment) refund(at time.Time) (Payment, bool, error) {
	switch p.Status {
	case Charged:
		p.Status, p.UpdatedAt = Refunded, at
		return p, true, nil
	case Refunded, Declined:
		return p, false, nil
	}
	return p, false, fmt.Errorf("refunding order %s: unknown payment status %q", p.OrderID, p.Status)
}
