package shipping

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// querier is a database or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// shipmentColumns are the columns scanShipment reads, in its order.
const shipmentColumns = `order_id, country, tracking_number, status, tombstone, updated_at`

func scanShipment(row *sql.Row) (Shipment, error) {
	var (
		sh       Shipment
		tracking sql.NullString
		status   string
		updated  int64
	)
	if err := row.Scan(&sh.OrderID, &sh.Country, &tracking, &status, &sh.Tombstone, &updated); err != nil {
		return Shipment{}, err
	}
	sh.TrackingNumber = tracking.String
	sh.Status = ShipmentStatus(status)
	sh.UpdatedAt = time.UnixMicro(updated).UTC()
	return sh, nil
}

// insertShipment records sh unless it clashes with a record already there
// (the order's, or another order's with the same tracking number), and
// reports whether it did. On PostgreSQL a concurrent insert of the same
// order id or tracking number makes it wait for that transaction's outcome.
func insertShipment(ctx context.Context, tx *sqldb.Tx, sh Shipment) (bool, error) {
	tracking := sql.NullString{String: sh.TrackingNumber, Valid: sh.TrackingNumber != ""}
	at := sh.UpdatedAt.UnixMicro()
	var id string
	err := tx.QueryRowContext(ctx, `
		INSERT INTO shipments (order_id, country, tracking_number, status, tombstone, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)
		ON CONFLICT DO NOTHING
		RETURNING order_id`,
		sh.OrderID, sh.Country, tracking, string(sh.Status), sh.Tombstone, at).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("recording the shipment: %w", err)
	}
	return true, nil
}

// loadShipment reads the order's shipment. Errors: errs.NotFound.
func loadShipment(ctx context.Context, q querier, orderID string) (Shipment, error) {
	sh, err := scanShipment(q.QueryRowContext(ctx, `SELECT `+shipmentColumns+` FROM shipments WHERE order_id = $1`, orderID))
	if errors.Is(err, sql.ErrNoRows) {
		return Shipment{}, errs.E(errs.NotFound, "order %s has no shipment", orderID)
	}
	if err != nil {
		return Shipment{}, fmt.Errorf("reading the shipment: %w", err)
	}
	return sh, nil
}

// transition moves the order's shipment as move decides from the record it
// reads, and returns the shipment, moved true when it moved. The update
// stays conditional on the status read: the guard against a concurrent
// transition of the same order, which locks the record and moves it first;
// move then decides again on what that transition left.
// Errors: errs.NotFound, and those of move.
func transition(ctx context.Context, tx *sqldb.Tx, orderID string, at time.Time, move func(Shipment, time.Time) (Shipment, bool, error)) (Shipment, bool, error) {
	for range 2 { // a status moves once, so a lost race settles it
		cur, err := loadShipment(ctx, tx, orderID)
		if err != nil {
			return Shipment{}, false, err
		}
		next, moves, err := move(cur, at)
		if err != nil || !moves {
			return next, false, err
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE shipments SET status = $3, updated_at = $4
			WHERE order_id = $1 AND status = $2`,
			orderID, string(cur.Status), string(next.Status), at.UnixMicro())
		if err != nil {
			return Shipment{}, false, fmt.Errorf("moving the shipment to %s: %w", next.Status, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return Shipment{}, false, fmt.Errorf("moving the shipment to %s: %w", next.Status, err)
		} else if n == 1 {
			return next, true, nil
		}
	}
	return Shipment{}, false, fmt.Errorf("moving the shipment: its status kept changing")
}
