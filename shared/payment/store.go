package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// querier is a database or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// paymentColumns are the columns scanPayment reads, in its order.
const paymentColumns = `order_id, customer_id, amount_cents, status, tombstone, updated_at`

func scanPayment(r *sql.Row) (Payment, error) {
	var (
		p       Payment
		amount  int64
		status  string
		updated int64
	)
	if err := r.Scan(&p.OrderID, &p.CustomerID, &amount, &status, &p.Tombstone, &updated); err != nil {
		return Payment{}, err
	}
	p.AmountCents = domain.Cents(amount)
	p.Status = PaymentStatus(status)
	p.UpdatedAt = time.UnixMicro(updated).UTC()
	return p, nil
}

// insertPayment records p unless the order already has a record, and
// reports whether it did. On PostgreSQL a concurrent insert of the same
// order id makes it wait for that transaction's outcome.
func insertPayment(ctx context.Context, tx *sqldb.Tx, p Payment) (bool, error) {
	at := p.UpdatedAt.UnixMicro()
	var id string
	err := tx.QueryRowContext(ctx, `
		INSERT INTO payments (order_id, customer_id, amount_cents, status, tombstone, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)
		ON CONFLICT (order_id) DO NOTHING
		RETURNING order_id`,
		p.OrderID, p.CustomerID, int64(p.AmountCents), string(p.Status), p.Tombstone, at).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("recording the payment: %w", err)
	}
	return true, nil
}

// loadPayment reads the order's payment. Errors: errs.NotFound.
func loadPayment(ctx context.Context, q querier, orderID string) (Payment, error) {
	p, err := scanPayment(q.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM payments WHERE order_id = $1`, orderID))
	if errors.Is(err, sql.ErrNoRows) {
		return Payment{}, errs.E(errs.NotFound, "order %s has no payment", orderID)
	}
	if err != nil {
		return Payment{}, fmt.Errorf("reading the payment: %w", err)
	}
	return p, nil
}

// transition moves the order's payment as move decides from the record it
// reads, and returns the payment, moved true when it moved. The update
// stays conditional on the status read: the guard against a concurrent
// transition of the same order, which locks the record and moves it first;
// move then decides again on what that transition left.
// Errors: errs.NotFound, and those of move.
func transition(ctx context.Context, tx *sqldb.Tx, orderID string, at time.Time, move func(Payment, time.Time) (Payment, bool, error)) (Payment, bool, error) {
	for range 2 { // a status moves once, so a lost race settles it
		cur, err := loadPayment(ctx, tx, orderID)
		if err != nil {
			return Payment{}, false, err
		}
		next, moves, err := move(cur, at)
		if err != nil || !moves {
			return next, false, err
		}
		n, err := updateRows(ctx, tx, `
			UPDATE payments SET status = $3, updated_at = $4
			WHERE order_id = $1 AND status = $2`,
			orderID, string(cur.Status), string(next.Status), at.UnixMicro())
		if err != nil {
			return Payment{}, false, fmt.Errorf("moving the payment to %s: %w", next.Status, err)
		}
		if n == 1 {
			return next, true, nil
		}
	}
	return Payment{}, false, fmt.Errorf("moving the payment: its status kept changing")
}

// updateRows runs an update and returns how many rows it changed.
func updateRows(ctx context.Context, tx *sqldb.Tx, query string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
