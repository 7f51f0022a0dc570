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
	"strings"
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

// ClaimAll claims many events for consumer inside tx, as Claim does one,
// in one statement per claimChunk events, and returns the ids claimed for
// the first time; the others were handled before. An id given twice is
// claimed once.
func ClaimAll(ctx context.Context, tx *sqldb.Tx, consumer string, eventIDs []string, now time.Time) (map[string]bool, error) {
	first := make(map[string]bool, len(eventIDs))
	seen := make(map[string]bool, len(eventIDs))
	ids := make([]string, 0, len(eventIDs))
	for _, id := range eventIDs {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), claimChunk)]
		ids = ids[len(chunk):]
		if err := claimChunkOf(ctx, tx, consumer, chunk, now, first); err != nil {
			return nil, fmt.Errorf("claiming %d events for %s: %w", len(chunk), consumer, err)
		}
	}
	return first, nil
}

// claimChunk bounds the events ClaimAll claims in one statement.
const claimChunk = 1000

// claimChunkOf claims distinct ids and adds those claimed for the first
// time to first.
func claimChunkOf(ctx context.Context, tx *sqldb.Tx, consumer string, ids []string, now time.Time, first map[string]bool) error {
	var (
		q    strings.Builder
		args = make([]any, 0, 2+len(ids))
	)
	args = append(args, consumer, now.UnixMicro())
	q.WriteString("INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ")
	for i, id := range ids {
		if i > 0 {
			q.WriteString(", ")
		}
		args = append(args, id)
		fmt.Fprintf(&q, "($1, $%d, $2)", len(args))
	}
	q.WriteString(" ON CONFLICT DO NOTHING RETURNING event_id")
	rows, err := tx.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		first[id] = true
	}
	return rows.Err()
}

// Prune forgets events handled before the given time and returns how many.
// Keep them longer than a message can be redelivered or replayed; the
// services' own idempotency by order id still holds after that.
func Prune(ctx context.Context, db *sqldb.DB, before time.Time) (int64, error) {
	var n int64
	err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM processed_events WHERE processed_at < $1", before.UnixMicro())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pruning processed events of %s: %w", db.Name(), err)
	}
	return n, nil
}
