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

// loadProducts reads the products of the items that exist, by sku.
func loadProducts(ctx context.Context, q querier, items []domain.Item) (map[string]Product, error) {
	var in strings.Builder
	args := make([]any, len(items))
	for i, it := range items {
		if i > 0 {
			in.WriteString(", ")
		}
		fmt.Fprintf(&in, "$%d", i+1)
		args[i] = it.SKU
	}
	rows, err := q.QueryContext(ctx, `SELECT `+productColumns+` FROM products WHERE sku IN (`+in.String()+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the products: %w", err)
	}
	defer rows.Close()
	products := make(map[string]Product, len(items))
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, fmt.Errorf("reading the products: %w", err)
		}
		products[p.SKU] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the products: %w", err)
	}
	return products, nil
}

// transition moves the order's reservation as move decides from the record
// it reads, and returns the reservation with its items, moved true when it
// moved. The update stays conditional on the status read: the guard against
// a concurrent transition of the same order, which locks the record and
// moves it first; move then decides again on what that transition left.
// Errors: errs.NotFound, and those of move.
func transition(ctx context.Context, tx *sqldb.Tx, orderID string, at time.Time, move func(Reservation, time.Time) (Reservation, bool, error)) (Reservation, bool, error) {
	for range 2 { // a status moves once, so a lost race settles it
		cur, err := loadReservation(ctx, tx, orderID)
		if err != nil {
			return Reservation{}, false, err
		}
		next, moves, err := move(cur, at)
		if err != nil || !moves {
			return next, false, err
		}
		n, err := updateRows(ctx, tx, `
			UPDATE reservations SET status = $3, updated_at = $4
			WHERE order_id = $1 AND status = $2`,
			orderID, string(cur.Status), string(next.Status), at.UnixMicro())
		if err != nil {
			return Reservation{}, false, fmt.Errorf("moving the reservation to %s: %w", next.Status, err)
		}
		if n == 1 {
			return next, true, nil
		}
	}
	return Reservation{}, false, fmt.Errorf("moving the reservation: its status kept changing")
}

// updateRows runs an update and returns how many rows it changed.
func updateRows(ctx context.Context, tx *sqldb.Tx, query string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// updateOne runs an update that must change exactly one row.
func updateOne(ctx context.Context, tx *sqldb.Tx, query string, args ...any) error {
	n, err := updateRows(ctx, tx, query, args...)
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("updated %d rows, want 1", n)
	}
	return nil
}
