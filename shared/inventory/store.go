package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// querier is a database or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// micros returns t in UTC at the microsecond precision the database keeps.
func micros(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// reservationColumns are the columns scanReservation reads, in its order.
const reservationColumns = `order_id, status, total_cents, tombstone, updated_at`

func scanReservation(r scanner) (Reservation, error) {
	var (
		res     Reservation
		status  string
		total   int64
		updated int64
	)
	if err := r.Scan(&res.OrderID, &status, &total, &res.Tombstone, &updated); err != nil {
		return Reservation{}, err
	}
	res.Status = ReservationStatus(status)
	res.TotalCents = domain.Cents(total)
	res.UpdatedAt = time.UnixMicro(updated).UTC()
	return res, nil
}

// insertReservation records r (without items) unless the order already has
// a record, and reports whether it did. On PostgreSQL a concurrent insert of
// the same order id makes it wait for that transaction's outcome.
func insertReservation(ctx context.Context, tx *sqldb.Tx, r Reservation) (bool, error) {
	at := r.UpdatedAt.UnixMicro()
	var id string
	err := tx.QueryRowContext(ctx, `
		INSERT INTO reservations (order_id, status, total_cents, tombstone, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (order_id) DO NOTHING
		RETURNING order_id`,
		r.OrderID, string(r.Status), int64(r.TotalCents), r.Tombstone, at).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("recording the reservation: %w", err)
	}
	return true, nil
}

// insertItems records the priced lines of a reservation, in one statement.
func insertItems(ctx context.Context, tx *sqldb.Tx, orderID string, items []domain.PricedItem) error {
	if len(items) == 0 {
		return nil
	}
	var q strings.Builder
	args := make([]any, 0, 1+4*len(items))
	args = append(args, orderID)
	q.WriteString("INSERT INTO reservation_items (order_id, line, sku, quantity, price_cents) VALUES ")
	for i, it := range items {
		if i > 0 {
			q.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&q, "($1, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4)
		args = append(args, i, it.SKU, it.Quantity, int64(it.PriceCents))
	}
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("recording the reservation's lines: %w", err)
	}
	return nil
}

// loadReservation reads the order's reservation with its items.
// Errors: errs.NotFound.
func loadReservation(ctx context.Context, q querier, orderID string) (Reservation, error) {
	r, err := scanReservation(q.QueryRowContext(ctx, `SELECT `+reservationColumns+` FROM reservations WHERE order_id = $1`, orderID))
	if errors.Is(err, sql.ErrNoRows) {
		return Reservation{}, errs.E(errs.NotFound, "order %s has no reservation", orderID)
	}
	if err != nil {
		return Reservation{}, fmt.Errorf("reading the reservation: %w", err)
	}
	if r.Items, err = loadItems(ctx, q, orderID); err != nil {
		return Reservation{}, err
	}
	return r, nil
}

// loadItems reads the priced lines of a reservation, in the order's order;
// nil when it has none.
func loadItems(ctx context.Context, q querier, orderID string) ([]domain.PricedItem, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT sku, quantity, price_cents FROM reservation_items
		WHERE order_id = $1 ORDER BY line`, orderID)
	if err != nil {
		return nil, fmt.Errorf("reading the reservation's lines: %w", err)
	}
	defer rows.Close()
	var items []domain.PricedItem
	for rows.Next() {
		var (
			it    domain.PricedItem
			price int64
		)
		if err := rows.Scan(&it.SKU, &it.Quantity, &price); err != nil {
			return nil, fmt.Errorf("reading the reservation's lines: %w", err)
		}
		it.PriceCents = domain.Cents(price)
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the reservation's lines: %w", err)
	}
	return items, nil
}

// transition moves the order's reservation from one status to another and
// returns it with its items, moved true. When the reservation is not in the
// from status it changes nothing and returns it as it is, moved false.
// The conditional update locks the record, so of concurrent transitions of
// one order exactly one moves it. Errors: errs.NotFound.
func transition(ctx context.Context, tx *sqldb.Tx, orderID string, from, to ReservationStatus, at time.Time) (r Reservation, moved bool, err error) {
	r, err = scanReservation(tx.QueryRowContext(ctx, `
		UPDATE reservations SET status = $3, updated_at = $4
		WHERE order_id = $1 AND status = $2
		RETURNING `+reservationColumns,
		orderID, string(from), string(to), at.UnixMicro()))
	if errors.Is(err, sql.ErrNoRows) {
		r, err = loadReservation(ctx, tx, orderID)
		return r, false, err
	}
	if err != nil {
		return Reservation{}, false, fmt.Errorf("moving the reservation to %s: %w", to, err)
	}
	if r.Items, err = loadItems(ctx, tx, orderID); err != nil {
		return Reservation{}, false, err
	}
	return r, true, nil
}

// updateOne runs an update that must change exactly one row.
func updateOne(ctx context.Context, tx *sqldb.Tx, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("updated %d rows, want 1", n)
	}
	return nil
}
