// Package payment is the payment service: customer accounts with spendable
// credit, and the charges the order saga makes against them. It owns its own
// database (tables and migrations in migrations/).
//
// Saga step "payment": Charge is the action and Refund the compensation.
// Both are idempotent by order id and safe in any order of arrival: a Refund
// before its Charge leaves a tombstone, and the late Charge becomes a no-op
// reporting domain.ErrCompensated.
package payment

import (
	"context"
	"errors"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

var errUnimplemented = errors.New("unimplemented")

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
func (p Payment) Err() error { return errUnimplemented }

// Service is the payment service.
type Service struct {
	db     *sqldb.DB
	faults *faults.Injector
	now    func() time.Time
}

// Migrations returns the payment database's migrations.
func Migrations() sqldb.Migrations { return sqldb.Migrations{} }

// New returns the payment service on db (already migrated). faults may be
// nil; now is the clock.
func New(db *sqldb.DB, f *faults.Injector, now func() time.Time) *Service {
	return &Service{db: db, faults: f, now: now}
}

// SetCustomer creates or replaces a customer and sets its spendable credit.
// Errors: errs.Invalid for a bad id, name or credit.
func (s *Service) SetCustomer(ctx context.Context, in CustomerInput) (Customer, error) {
	return Customer{}, errUnimplemented
}

// Customer returns one customer. Errors: errs.NotFound.
func (s *Service) Customer(ctx context.Context, id string) (Customer, error) {
	return Customer{}, errUnimplemented
}

// Charge takes amount from the customer's credit for the order, in its own
// transaction. See ChargeTx.
func (s *Service) Charge(ctx context.Context, orderID, customerID string, amount domain.Cents) (Payment, error) {
	return Payment{}, errUnimplemented
}

// ChargeTx is Charge inside the caller's transaction. A refusal is not an
// error: it is recorded (status Declined) and returned. The returned error is
// only for faults. A repeated call returns the recorded outcome and changes
// nothing.
func (s *Service) ChargeTx(ctx context.Context, tx *sqldb.Tx, orderID, customerID string, amount domain.Cents) (Payment, error) {
	return Payment{}, errUnimplemented
}

// Refund gives the order's charge back, in its own transaction. See RefundTx.
func (s *Service) Refund(ctx context.Context, orderID string) (Payment, error) {
	return Payment{}, errUnimplemented
}

// RefundTx is Refund inside the caller's transaction. Refunding an order
// with no payment leaves a tombstone (status Refunded) so that a late Charge
// is a no-op; refunding twice, or a declined order, changes nothing.
func (s *Service) RefundTx(ctx context.Context, tx *sqldb.Tx, orderID string) (Payment, error) {
	return Payment{}, errUnimplemented
}

// Payment returns the order's payment. Errors: errs.NotFound.
func (s *Service) Payment(ctx context.Context, orderID string) (Payment, error) {
	return Payment{}, errUnimplemented
}
