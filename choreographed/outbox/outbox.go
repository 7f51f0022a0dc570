// Package outbox is the transactional outbox of the choreographed variant.
// A service writes the events it emits into its own database's outbox table
// with Add, inside the transaction that changes its state, so the change
// and its events commit together or not at all. A Relay then publishes the
// rows to Kafka and deletes them once the broker acknowledged them.
//
// Delivery is at least once: a crash after the publish and before the
// delete publishes the rows again, which consumers absorb (package inbox).
// Rows are published in id order, and the writes of one order are
// serialized by the services (a row lock or a single consumer), so the
// events of one order reach its Kafka partition in the order they were
// committed.
//
// The relay does not poll for each hop: a commit that added rows wakes it
// (Tx.AfterCommit), and it polls only as a fallback for rows written by
// another process or left by a crash.
package outbox

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/shared/sqldb"
)

//go:embed migrations
var migrationFS embed.FS

// Migrations returns the outbox table's migrations for the engine; apply
// them to every database whose service emits events.
func Migrations(d sqldb.Dialect) sqldb.Migrations {
	return sqldb.Migrations{Service: "outbox", FS: migrationFS, Dir: "migrations/" + string(d)}
}

// Outbox writes messages into one database's outbox table and wakes the
// relay of that database after each commit that wrote some.
type Outbox struct {
	wake chan struct{}
	now  func() time.Time
}

// New returns an outbox; now is the clock (time.Now when nil).
func New(now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	return &Outbox{wake: make(chan struct{}, 1), now: now}
}

// header is a Kafka header as stored in the headers column.
type header struct {
	Key   string `json:"key"`
	Value []byte `json:"value"`
}

// Add writes msgs into the outbox inside tx. They are published after tx
// commits; nothing is published when it rolls back. Each message needs a
// topic.
//
// The rows of every Add in one transaction are written together, in the
// order added, by one statement just before the commit (Tx.BeforeCommit):
// a consumer applying a batch of events in one transaction makes one round
// trip for all the events they emit.
func (o *Outbox) Add(ctx context.Context, tx *sqldb.Tx, msgs ...kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	now := o.now().UnixMicro()
	p, _ := tx.Value(o).(*pendingRows)
	if p == nil {
		p = &pendingRows{}
		tx.SetValue(o, p)
		tx.BeforeCommit(func(ctx context.Context) error { return insertRows(ctx, tx, p.rows) })
		tx.AfterCommit(o.Wake)
	}
	for i, m := range msgs {
		if m.Topic == "" {
			return fmt.Errorf("adding to the outbox: message %d has no topic", i)
		}
		hs := make([]header, len(m.Headers))
		for j, h := range m.Headers {
			hs[j] = header{Key: h.Key, Value: h.Value}
		}
		hb, err := json.Marshal(hs)
		if err != nil {
			return fmt.Errorf("adding to the outbox: encoding headers: %w", err)
		}
		p.rows = append(p.rows, row{topic: m.Topic, key: nonNil(m.Key), value: nonNil(m.Value), headers: string(hb), createdAt: now})
	}
	return nil
}

// pendingRows are the rows added in one transaction, not yet written.
type pendingRows struct{ rows []row }

// row is an outbox row to write.
type row struct {
	topic      string
	key, value []byte
	headers    string
	createdAt  int64
}

// insertChunk bounds the rows of one INSERT (5 parameters each; PostgreSQL
// takes at most 65535).
const insertChunk = 1000

// insertRows writes rows into the outbox inside tx, in their order.
func insertRows(ctx context.Context, tx *sqldb.Tx, rows []row) error {
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), insertChunk)]
		rows = rows[len(chunk):]
		var (
			q    strings.Builder
			args = make([]any, 0, 5*len(chunk))
		)
		q.WriteString("INSERT INTO outbox (topic, msg_key, msg_value, headers, created_at) VALUES ")
		for i, r := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5)
			args = append(args, r.topic, r.key, r.value, r.headers, r.createdAt)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("adding %d messages to the outbox: %w", len(chunk), err)
		}
	}
	return nil
}

// Wake tells the relay that rows may be waiting. It never blocks.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Pending returns how many messages of db's outbox wait to be published.
func Pending(ctx context.Context, db *sqldb.DB) (int, error) {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox").Scan(&n); err != nil {
		return 0, fmt.Errorf("counting outbox rows of %s: %w", db.Name(), err)
	}
	return n, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
