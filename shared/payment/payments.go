package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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
	return s.inOwnTx(ctx, opCharge, orderID, func(tx *sqldb.Tx) (Payment, error) {
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
	p := Payment{OrderID: orderID, CustomerID: customerID, AmountCents: amount, Status: Declined, UpdatedAt: micros(s.now())}
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
	// The condition keeps the credit from going below zero however many
	// charges race: an unknown customer or too little credit matches no row.
	res, err := tx.ExecContext(ctx, `
		UPDATE customers SET credit_cents = credit_cents - $2
		WHERE id = $1 AND credit_cents >= $2`, customerID, int64(amount))
	if err != nil {
		return Payment{}, fmt.Errorf("charging order %s: taking the credit of %s: %w", orderID, customerID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return Payment{}, fmt.Errorf("charging order %s: taking the credit of %s: %w", orderID, customerID, err)
	}
	if n == 0 {
		return p, nil // declined
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
		fields = append(fields, errs.FieldError{Field: "order_id", Message: idRule})
	}
	if !domain.ValidID(customerID) {
		fields = append(fields, errs.FieldError{Field: "customer_id", Message: idRule})
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
	return s.inOwnTx(ctx, opRefund, orderID, func(tx *sqldb.Tx) (Payment, error) {
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
		return Payment{}, errs.InvalidFields([]errs.FieldError{{Field: "order_id", Message: idRule}})
	}
	now := micros(s.now())
	tomb := Payment{OrderID: orderID, Status: Refunded, Tombstone: true, UpdatedAt: now}
	claimed, err := insertPayment(ctx, tx, tomb)
	if err != nil {
		return Payment{}, fmt.Errorf("refunding order %s: %w", orderID, err)
	}
	if claimed {
		return tomb, nil
	}
	// The conditional update locks the record, so of concurrent refunds of
	// one order exactly one gives the credit back.
	p, err := scanPayment(tx.QueryRowContext(ctx, `
		UPDATE payments SET status = $3, updated_at = $4
		WHERE order_id = $1 AND status = $2
		RETURNING `+paymentColumns,
		orderID, string(Charged), string(Refunded), now.UnixMicro()))
	if errors.Is(err, sql.ErrNoRows) {
		recorded, err := loadPayment(ctx, tx, orderID) // refunded before, or declined
		if err != nil {
			return Payment{}, fmt.Errorf("refunding order %s: %w", orderID, err)
		}
		return recorded, nil
	}
	if err != nil {
		return Payment{}, fmt.Errorf("refunding order %s: recording the refund: %w", orderID, err)
	}
	res, err := tx.ExecContext(ctx, `UPDATE customers SET credit_cents = credit_cents + $2 WHERE id = $1`,
		p.CustomerID, int64(p.AmountCents))
	if err != nil {
		return Payment{}, fmt.Errorf("refunding order %s: restoring the credit of %s: %w", orderID, p.CustomerID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return Payment{}, fmt.Errorf("refunding order %s: restoring the credit of %s: updated %d rows (%v), want 1", orderID, p.CustomerID, n, err)
	}
	return p, nil
}

// Payment returns the order's payment. Errors: errs.NotFound.
func (s *Service) Payment(ctx context.Context, orderID string) (Payment, error) {
	p, err := loadPayment(ctx, s.db, orderID)
	if err != nil {
		return Payment{}, fmt.Errorf("reading the payment of order %s: %w", orderID, err)
	}
	return p, nil
}

// inOwnTx runs fn in a transaction of its own. After the commit it asks the
// fault injector once more: a failure then is a lost reply, reported as
// errs.Unavailable although the effect is durable, as a dropped connection
// would; the caller's retry meets the recorded outcome.
func (s *Service) inOwnTx(ctx context.Context, op operation, orderID string, fn func(tx *sqldb.Tx) (Payment, error)) (Payment, error) {
	var p Payment
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		p, err = fn(tx)
		return err
	})
	if err != nil {
		return Payment{}, err
	}
	if err := s.faults.InjectLostReply(ctx, string(op)); err != nil {
		return Payment{}, fmt.Errorf("%s order %s: reply lost after commit: %w", op, orderID, err)
	}
	return p, nil
}

// micros returns t in UTC at the microsecond precision the database keeps.
func micros(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }
