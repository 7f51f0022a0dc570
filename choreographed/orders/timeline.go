package orders

import (
	"context"
	"embed"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/outbox"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/timeline"
)

//go:embed migrations
var migrationFS embed.FS

// Migrations returns, for the engine, the migrations of the order service's
// own table in the order database: order_timeline. Apply them to the order
// database, next to the order store's.
func Migrations(d sqldb.Dialect) sqldb.Migrations {
	return sqldb.Migrations{Service: "order_timeline", FS: migrationFS, Dir: "migrations/" + string(d)}
}

// Directions of a recorded event.
const (
	published = "published" // the order service emitted it
	consumed  = "consumed"  // the order service handled another service's event
)

// Timeline keeps each order's timeline in the order database: one row per
// event the order service publishes about the order (Recording) and per
// event of another service it consumes (Reactions), written in the
// transaction that publishes or handles it, once per event id. It
// implements httpapi.Timeline.
type Timeline struct {
	table *events.Table
	store *orders.Store
	now   func() time.Time
}

// NewTimeline returns the timeline of the saga of table t kept next to the
// order store (whose database has Migrations applied); now is the clock of
// consumption times (time.Now when nil).
func NewTimeline(t *events.Table, store *orders.Store, now func() time.Time) *Timeline {
	if now == nil {
		now = time.Now
	}
	return &Timeline{table: t, store: store, now: now}
}

// Recording returns em recording in the timeline every event it emits.
func (t *Timeline) Recording(em outbox.Emitter) outbox.Emitter {
	em.OnEmit = t.published
	return em
}

// published records an event the order service emits, inside tx.
func (t *Timeline) published(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	return t.record(ctx, tx, e, published, e.OccurredAt)
}

// consumed records, inside tx, that the order service handled an event
// now.
func (t *Timeline) consumed(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
	return t.record(ctx, tx, e, consumed, t.now())
}

// record adds the event to the rows tx writes into the timeline. The rows
// of one transaction (a consumer's batch of events) are written together,
// in the order recorded, by one statement just before it commits
// (Tx.BeforeCommit): one round trip instead of one per event.
func (t *Timeline) record(_ context.Context, tx *sqldb.Tx, e *events.Envelope, direction string, handledAt time.Time) error {
	p, _ := tx.Value(t).(*timelineRows)
	if p == nil {
		p = &timelineRows{seen: map[string]bool{}}
		tx.SetValue(t, p)
		tx.BeforeCommit(func(ctx context.Context) error { return insertTimeline(ctx, tx, p.rows) })
	}
	if p.seen[e.EventID] {
		return nil // recorded once per event id
	}
	p.seen[e.EventID] = true
	p.rows = append(p.rows, []any{e.OrderID, e.EventID, string(e.Type), string(e.Producer), direction,
		e.OccurredAt.UnixMicro(), handledAt.UnixMicro(), t.outcomeOf(e)})
	return nil
}

// timelineRows are the timeline rows of one transaction, not yet written.
type timelineRows struct {
	rows [][]any // the 8 values of each row
	seen map[string]bool
}

// timelineChunk bounds the rows of one INSERT (8 parameters each) on
// PostgreSQL; sqliteTimelineChunk on SQLite, whose statements bind each
// parameter in time that grows with their number of parameters: a
// rebuild writing 5,000 rows took 2.2 s in statements of 500 rows, 0.43 s
// of 100 and 0.15 s of 25.
const (
	timelineChunk       = 500
	sqliteTimelineChunk = 25
)

// insertTimeline writes rows into the timeline inside tx, in their order;
// an event id already there keeps its row.
func insertTimeline(ctx context.Context, tx *sqldb.Tx, rows [][]any) error {
	size := timelineChunk
	if tx.Dialect() == sqldb.SQLite {
		size = sqliteTimelineChunk
	}
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), size)]
		rows = rows[len(chunk):]
		var (
			q    strings.Builder
			args = make([]any, 0, 8*len(chunk))
		)
		q.WriteString(`INSERT INTO order_timeline (order_id, event_id, event_type, producer, direction, occurred_at, handled_at, outcome) VALUES `)
		for i, r := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8)
			args = append(args, r...)
		}
		q.WriteString(" ON CONFLICT (event_id) DO NOTHING")
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("recording %d events in the order timeline: %w", len(chunk), err)
		}
	}
	return nil
}

// outcomeOf returns what an event reports: the reason of a refusal or of a
// failed order, the outcome of a compensation; "" for other events, and
// for a payload that cannot be decoded.
func (t *Timeline) outcomeOf(e *events.Envelope) string {
	if e.Type == events.OrderFailed {
		p, _ := events.As[events.OrderFailedData](e)
		return string(p.Reason)
	}
	ref, ok := t.table.Lookup(e.Type)
	if !ok {
		return ""
	}
	p, _ := events.AsStep(e, ref)
	switch ref.Kind {
	case events.KindRefused:
		return string(p.Reason)
	case events.KindUndone:
		return string(p.Outcome)
	}
	return ""
}

// Timeline returns what happened to the order, sorted by time (see
// recorded.entries). Errors: errs.NotFound for an unknown order.
func (t *Timeline) Timeline(ctx context.Context, orderID string) ([]timeline.Entry, error) {
	rows, err := t.store.DB().QueryContext(ctx, `
		SELECT event_type, producer, direction, occurred_at, handled_at, outcome
		FROM order_timeline WHERE order_id = $1 ORDER BY seq`, orderID)
	if err != nil {
		return nil, fmt.Errorf("reading the timeline of order %s: %w", orderID, err)
	}
	defer rows.Close()
	var (
		out []timeline.Entry
		n   int
	)
	for rows.Next() {
		var (
			r                 recorded
			occurred, handled int64
		)
		if err := rows.Scan(&r.typ, &r.producer, &r.direction, &occurred, &handled, &r.outcome); err != nil {
			return nil, fmt.Errorf("reading the timeline of order %s: %w", orderID, err)
		}
		r.occurredAt, r.handledAt = time.UnixMicro(occurred).UTC(), time.UnixMicro(handled).UTC()
		out = append(out, r.entries(t.table)...)
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the timeline of order %s: %w", orderID, err)
	}
	if n == 0 {
		// No row: an unknown order, or one placed before timelines were kept.
		if _, err := t.store.Get(ctx, orderID); err != nil {
			return nil, fmt.Errorf("reading the timeline of order %s: %w", orderID, err)
		}
	}
	timeline.Sort(out)
	return out, nil
}

// recorded is one row of order_timeline.
type recorded struct {
	typ        events.Type
	producer   events.Service
	direction  string
	occurredAt time.Time
	handledAt  time.Time
	outcome    string
}

// entries tells what a recorded event means, in the order it happened:
//   - published by the order service: event_published at its occurred_at,
//     preceded by order_placed for OrderPlaced and followed by order_final
//     for OrderCompleted, OrderFailed and OrderCancelled;
//   - consumed: the step the event reports at its occurred_at (by its
//     producer), event_published then, and event_consumed when the order
//     service handled it.
func (r recorded) entries(t *events.Table) []timeline.Entry {
	pub := timeline.Entry{At: r.occurredAt, Service: string(r.producer), Kind: timeline.KindEventPublished, Event: string(r.typ)}
	final := func(s domain.Status, detail string) timeline.Entry {
		return timeline.Entry{At: r.occurredAt, Service: string(events.Orders), Kind: timeline.KindOrderFinal, Status: s, Detail: detail}
	}
	if r.direction == published {
		switch r.typ {
		case events.OrderPlaced:
			return []timeline.Entry{{At: r.occurredAt, Service: string(events.Orders), Kind: timeline.KindOrderPlaced}, pub}
		case events.OrderCompleted:
			return []timeline.Entry{pub, final(domain.StatusCompleted, "")}
		case events.OrderFailed:
			return []timeline.Entry{pub, final(domain.StatusFailed, r.outcome)}
		case events.OrderCancelled:
			return []timeline.Entry{pub, final(domain.StatusCancelled, string(domain.ReasonCancelled))}
		}
		return []timeline.Entry{pub}
	}
	var out []timeline.Entry
	if step, kind, detail, ok := r.step(t); ok {
		out = append(out, timeline.Entry{At: r.occurredAt, Service: string(r.producer), Kind: kind, Step: step, Detail: detail})
	}
	return append(out, pub, timeline.Entry{At: r.handledAt, Service: string(events.Orders), Kind: timeline.KindEventConsumed, Event: string(r.typ)})
}

// step returns the step a consumed event reports and what became of it:
// done, failed (detail: the reason) or compensated (detail: undone, or
// nothing to undo). A compensation that found the step refused reports
// nothing: the step stays failed.
func (r recorded) step(t *events.Table) (domain.StepName, timeline.Kind, string, bool) {
	ref, ok := t.Lookup(r.typ)
	if !ok {
		return "", "", "", false
	}
	switch ref.Kind {
	case events.KindDone:
		return ref.Step.Name, timeline.KindStepDone, "", true
	case events.KindRefused:
		return ref.Step.Name, timeline.KindStepFailed, r.outcome, true
	case events.KindUndone:
		switch saga.Undo(r.outcome) {
		case saga.WasRefused:
			return "", "", "", false
		case saga.Tombstone:
			return ref.Step.Name, timeline.KindStepCompensated, timeline.DetailTombstone, true
		}
		return ref.Step.Name, timeline.KindStepCompensated, timeline.DetailUndone, true
	}
	return "", "", "", false
}

// Sources returns the services whose topics the timeline derives from:
// the order service's (the events it publishes) and every step's (the
// events it consumes).
func (t *Timeline) Sources() []events.Service {
	return events.ServicesOf(t.table.Saga())
}

// Follows reports whether the timeline records events of type typ: every
// event of the order service, and the step events the order service
// follows (see Reactions.Routes).
func (t *Timeline) Follows(typ events.Type) bool {
	if ref, ok := t.table.Lookup(typ); ok {
		return followed(ref.Kind)
	}
	return slices.Contains(events.OrderTypes(), typ)
}

// followed reports whether the order service follows step events of kind
// k: it follows each step's done, refused and undone events.
func followed(k events.Kind) bool {
	return k == events.KindDone || k == events.KindRefused || k == events.KindUndone
}

// Replay records e inside tx as the live service recorded it, for a
// rebuild of the timeline from the retained events: an event of the order
// service as published (handled at its occurred_at), a step event the
// order service follows as consumed at handledAt, with the code the live
// service records them with; other events are not recorded. The live
// service's clock at consumption is gone: a rebuild passes the time the
// broker appended the event, when it became there to consume. An event
// already recorded keeps its row.
func (t *Timeline) Replay(ctx context.Context, tx *sqldb.Tx, e *events.Envelope, handledAt time.Time) error {
	switch {
	case !t.Follows(e.Type):
		return nil
	case e.Producer == events.Orders:
		return t.published(ctx, tx, e)
	}
	// The step's payload is decoded as the live service decodes it before
	// it records the event: one it could not read was never recorded.
	ref, _ := t.table.Lookup(e.Type)
	if _, err := events.AsStep(e, ref); err != nil {
		return err
	}
	return t.record(ctx, tx, e, consumed, handledAt)
}

// ResetTx deletes every row of the timeline in the caller's transaction:
// the start of a rebuild.
func (t *Timeline) ResetTx(ctx context.Context, tx *sqldb.Tx) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM order_timeline`); err != nil {
		return fmt.Errorf("emptying the order timeline: %w", err)
	}
	return nil
}
