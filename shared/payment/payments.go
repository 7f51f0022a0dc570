package payment

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/sagametrics"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// operation names a saga operation for fault injection.
type operation string

// The saga operations of the payment service.
const (
	opCharge operation = "charge"
	opRefund operation = "refund"
)

// Charge takes amount from the customer's credit for the order, in its own
// transaction. See ChargeTx.
func (s *Service) Charge(ctx context.Context, orderID, customerID string, amount domain.Cents) (Payment, error) {
	return sqldb.InOwnTx(ctx, s.db, s.faults, string(opCharge), "order "+orderID, func(tx *sqldb.Tx) (Payment, error) {
		return s.ChargeTx(ctx, tx, orderID, customerID, amount)
	})
}

// ChargeTx is Charge inside the caller's transaction. A refusal is not an
// error: it is recorded (status Declined) and returned. The returned error is
// only for faults. A repeated call returns the recorded outcome and changes
// nothing.
//
// The first call for an order id decides: a later call returns that
// recorded outcome even when it names another customer or amount. A bad
// order or customer id or a negative amount is an errs.Invalid error.
func (s *Service) ChargeTx(ctx context.Context, tx *sqldb.Tx, orderID, customerID string, amount domain.Cents) (Payment, error) {
	return sagametrics.TimeAction(s.steps, tx, domain.StepPayment, func() (Payment, error) {
		return s.chargeTx(ctx, tx, orderID, customerID, amount)
	})
}

func (s *Service) chargeTx(ctx context.Context, tx *sqldb.Tx, orderID, customerID string, amount domain.Cents) (Payment, error) {
	if err := s.faults.Inject(ctx, string(opCharge)); err != nil {
		return Payment{}, err
	}
	if err := validateCharge(orderID, customerID, amount); err != nil {
		return Payment{}, err
	}
	// Claim the order id first with a decline: a concurrent or earlier
	// operation on the same order (a charge, or a refund leaving a
	// tombstone) then wins, and this call returns its outcome.
	p := Payment{OrderID: orderID, CustomerID: customerID, AmountCents: amount, Status: Declined, UpdatedAt: sqldb.Timestamp(s.now())}
	claimed, err := insertPayment(ctx, tx, p)
	if err != nil {
		return Payment{}, fmt.Errorf("charging order %s: %w", orderID, err)
	}
	if !claimed {
		recorded, err := loadPayment(ctx, tx, orderID)
		if err != nil {
			return Payment{}, fmt.Errorf("charging order %s: %w", orderID, err)
		}
		return recorded, nil
	}
	c, found, err := loadCustomer(ctx, tx, customerID)
	if err != nil {
		return Payment{}, fmt.Errorf("charging order %s: %w", orderID, err)
	}
	if !found {
		return p, nil // an unknown customer is declined
	}
	if _, err := c.Account().Charge(amount); errors.Is(err, domain.ErrPaymentDeclined) {
		return p, nil
	} else if err != nil {
		return Payment{}, fmt.Errorf("charging order %s: %w", orderID, err)
	}
	// The condition guards against a concurrent charge taking the credit
	// since the read: it then matches no row, and this charge is declined
	// after all. The credit never goes below zero however many charges race.
	n, err := updateRows(ctx, tx, `
		UPDATE customers SET credit_cents = credit_cents - $2
		WHERE id = $1 AND credit_cents >= $2`, customerID, int64(amount))
	if err != nil {
		return Payment{}, fmt.Errorf("charging order %s: taking the credit of %s: %w", orderID, customerID, err)
	}
	if n == 0 {
		return p, nil // the race the guard is for: declined
	}
	p.Status = Charged
	if _, err := tx.ExecContext(ctx, `UPDATE payments SET status = $2 WHERE order_id = $1`, orderID, string(Charged)); err != nil {
		return Payment{}, fmt.Errorf("charging order %s: recording the charge: %w", orderID, err)
	}
	return p, nil
}

// validateCharge checks what a charge needs to be recorded at all.
func validateCharge(orderID, customerID string, amount domain.Cents) error {
	var fields []errs.FieldError
	if !domain.ValidID(orderID) {
		fields = append(fields, errs.FieldError{Field: "order_id", Message: domain.IDRule})
	}
	if !domain.ValidID(customerID) {
		fields = append(fields, errs.FieldError{Field: "customer_id", Message: domain.IDRule})
	}
	if amount < 0 {
		fields = append(fields, errs.FieldError{Field: "amount_cents", Message: "must be 0 or more"})
	}
	if len(fields) > 0 {
		return errs.InvalidFields(fields)
	}
	return nil
}

// Refund gives the order's charge back, in its own transaction. See RefundTx.
func (s *Service) Refund(ctx context.Context, orderID string) (Payment, error) {
	return sqldb.InOwnTx(ctx, s.db, s.faults, string(opRefund), "order "+orderID, func(tx *sqldb.Tx) (Payment, error) {
		return s.RefundTx(ctx, tx, orderID)
	})
}

// RefundTx is Refund inside the caller's transaction. Refunding an order
// with no payment leaves a tombstone (status Refunded) so that a late Charge
// is a no-op; refunding twice, or a declined order, changes nothing.
func (s *Service) RefundTx(ctx context.Context, tx *sqldb.Tx, orderID string) (Payment, error) {
	return sagametrics.TimeCompensation(s.steps, tx, domain.StepPayment, Payment.undid, func() (Payment, error) {
		return s.refundTx(ctx, tx, orderID)
	})
}

func (s *Service) refundTx(ctx context.Context, tx *sqldb.Tx, orderID string) (Payment, error) {
	if err := s.faults.Inject(ctx, string(opRefund)); err != nil {
		return Payment{}, err
	}
	if !domain.ValidID(orderID) {
		return Payment{}, domain.InvalidID("order_id")
	}
	now := sqldb.Timestamp(s.now())
	tomb := refundTombstone(orderID, now)
	claimed, err := insertPayment(ctx, tx, tomb)
	if err != nil {
		return Payment{}, fmt.Errorf("refunding order %s: %w", orderID, err)
	}
	if claimed {
		return tomb, nil
	}
	p, moved, err := transition(ctx, tx, orderID, now, Payment.refund)
	if err != nil {
		return Payment{}, fmt.Errorf("refunding order %s: %w", orderID, err)
	}
	if !moved {
		return p, nil // refunded before, or declined: nothing to give back
	}
	if err := restoreCredit(ctx, tx, p.CustomerID, p.AmountCents); err != nil {
		return Payment{}, fmt.Errorf("refunding order %s: %w", orderID, err)
	}
	return p, nil
}

// restoreCredit gives amount back to the customer's credit. The update stays
// conditional on the credit having room for it: the guard against a
// concurrent change of the credit since the read.
func restoreCredit(ctx context.Context, tx *sqldb.Tx, customerID string, amount domain.Cents) error {
	c, found, err := loadCustomer(ctx, tx, customerID)
	if err != nil {
		return fmt.Errorf("restoring the credit of %s: %w", customerID, err)
	}
	if !found {
		return fmt.Errorf("restoring the credit of %s: the customer does not exist", customerID)
	}
	if _, err := c.Account().Refund(amount); err != nil {
		return fmt.Errorf("restoring the credit of %s: %w", customerID, err)
	}
	n, err := updateRows(ctx, tx, `
		UPDATE customers SET credit_cents = credit_cents + $2
		WHERE id = $1 AND credit_cents <= $3`, customerID, int64(amount), int64(math.MaxInt64-amount))
	if err != nil {
		return fmt.Errorf("restoring the credit of %s: %w", customerID, err)
	}
	if n != 1 {
		return fmt.Errorf("restoring the credit of %s: its credit rose too high to take %d cents more since it was read", customerID, amount)
	}
	return nil
}

// Payment returns the order's payment. Errors: errs.NotFound.
func (s *Service) Payment(ctx context.Context, orderID string) (Payment, error) {
	p, err := loadPayment(ctx, s.db, orderID)
	if err != nil {
		return Payment{}, fmt.Errorf("reading the payment of order %s: %w", orderID, err)
	}
	return p, nil
}
