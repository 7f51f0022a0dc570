// Package inbox makes event consumers idempotent: before a consumer handles
// an event it claims the event's id in the processed_events table of its
// own database, inside the transaction that applies the event. A claim that
// finds the id already there means the event was handled before (a
// redelivery, a replay, a duplicate publish); the consumer skips it. Because
// the claim commits or rolls back with the state change, an event is never
// marked handled without its effect, nor applied twice.
package inbox

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/ordersaga/ordersaga/shared/sqldb"
)

//go:embed migrations
var migrationFS embed.FS

// Migrations returns the processed_events table's migrations (the same on
// both engines); apply them to every database whose service consumes events.
func Migrations() sqldb.Migrations {
	return sqldb.Migrations{Service: "inbox", FS: migrationFS, Dir: "migrations"}
}

// Claim records that consumer handles the event inside tx, and reports
// whether this is the first time: false means the event was handled before
// and must be skipped.
func Claim(ctx context.Context, tx *sqldb.Tx, consumer, eventID string, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx,
		"INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
		consumer, eventID, now.UnixMicro())
	if err != nil {
		return false, fmt.Errorf("claiming event %s for %s: %w", eventID, consumer, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claiming event %s for %s: %w", eventID, consumer, err)
	}
	return n == 1, nil
}

// Prune forgets events handled before the given time and returns how many.
// Keep them longer than a message can be redelivered or replayed; the
// services' own idempotency by order id still holds after that.
func Prune(ctx context.Context, db *sqldb.DB, before time.Time) (int64, error) {
	res, err := db.ExecContext(ctx, "DELETE FROM processed_events WHERE processed_at < $1", before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("pruning processed events of %s: %w", db.Name(), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("pruning processed events of %s: %w", db.Name(), err)
	}
	return n, nil
}
