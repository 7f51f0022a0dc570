// Package consumer runs a service's reactions to events: one Kafka consumer
// group per service, reading its topics, handing batches of messages to a
// Handler, and committing offsets only after the handler returned, that is
// once the work is durable (handled in a committed transaction, or
// dead-lettered).
//
// Handlers are composed from small middleware:
//
//	DeadLetter(Retry(Recover(Transactional(db, routes, ReadVersions(...), Dedup(...)))))
//
// Transactional applies a whole batch in one database transaction (the
// events' effects, their inbox claims and the events they emit through the
// outbox commit together); ReadVersions reads each event at the schema
// version the consumer reads, refusing one it cannot; Dedup skips events
// already handled (package inbox); Recover turns a panic into an error; Retry re-runs failed work
// with backoff, message by message, a bounded number of times; DeadLetter
// sends what still fails, and what cannot be decoded, to the dead-letter
// topic so the partition moves on.
package consumer

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/inbox"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Message is a fetched Kafka message with its decoded envelope.
type Message struct {
	kafka.Message
	// Event is the decoded envelope; nil when the value is not one.
	Event *events.Envelope
	// DecodeErr says why Event is nil.
	DecodeErr error
}

// NewMessage decodes a fetched Kafka message.
func NewMessage(km kafka.Message) *Message {
	m := &Message{Message: km}
	m.Event, m.DecodeErr = events.Decode(km.Value)
	return m
}

// Handler handles a batch of messages: all of them, or it returns an error
// and the batch is handled again (possibly split). It must be safe to run
// again on messages it already handled.
type Handler func(ctx context.Context, batch []*Message) error

// Middleware wraps a Handler.
type Middleware func(Handler) Handler

// Chain wraps h in mws; the first is the outermost.
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// TxHandler applies one event inside the consumer's transaction: it changes
// the service's state and adds the events it emits to the outbox, all in tx.
// A business refusal is not an error (it is recorded and emitted as an
// event); an error rolls the whole transaction back.
type TxHandler func(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error

// TxMiddleware wraps a TxHandler.
type TxMiddleware func(TxHandler) TxHandler

// Routes maps the event types a service reacts to onto its handlers. Events
// of other types are skipped (committed without effect).
type Routes map[events.Type]TxHandler

// Transactional returns a Handler that applies a batch in one transaction
// on db: for each message in order, the route of its event type wrapped in
// mws (the first outermost). A message that cannot be decoded fails the
// batch with a permanent error.
func Transactional(db *sqldb.DB, routes Routes, mws ...TxMiddleware) Handler {
	wrapped := make(Routes, len(routes))
	for t, h := range routes {
		for i := len(mws) - 1; i >= 0; i-- {
			h = mws[i](h)
		}
		wrapped[t] = h
	}
	return func(ctx context.Context, batch []*Message) error {
		outcomes := make([]Outcome, len(batch))
		ctx = withBatch(ctx, routedIDs(batch, wrapped))
		if !needsTx(batch, wrapped) {
			// Only events the service does not react to: no transaction
			// (on SQLite even an empty one takes the write lock).
			if r := recorderFrom(ctx); r != nil {
				for _, m := range batch {
					r.record(m.Event.Type, OutcomeIgnored)
				}
			}
			return nil
		}
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			clear(outcomes)
			for i, m := range batch {
				if m.Event == nil {
					return Permanent(fmt.Errorf("message %s/%d@%d: %w", m.Topic, m.Partition, m.Offset, m.DecodeErr))
				}
				h, ok := wrapped[m.Event.Type]
				if !ok {
					outcomes[i] = OutcomeIgnored
					continue
				}
				outcomes[i] = OutcomeHandled
				mctx := withOutcome(events.ContextWithTrace(ctx, m.Headers), &outcomes[i])
				if err := h(mctx, tx, m.Event); err != nil {
					return fmt.Errorf("handling %s %s of order %s: %w", m.Event.Type, m.Event.EventID, m.Event.OrderID, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if r := recorderFrom(ctx); r != nil {
			for i, m := range batch {
				r.record(m.Event.Type, outcomes[i])
			}
		}
		return nil
	}
}

// routedIDs returns the event ids of the messages of the batch that have a
// route, in order.
func routedIDs(batch []*Message, routes Routes) []string {
	ids := make([]string, 0, len(batch))
	for _, m := range batch {
		if m.Event == nil {
			continue
		}
		if _, ok := routes[m.Event.Type]; ok {
			ids = append(ids, m.Event.EventID)
		}
	}
	return ids
}

type batchKey struct{}

// withBatch tells the middleware that ctx is of a transaction applying the
// events with these ids, so Dedup can claim them all at once.
func withBatch(ctx context.Context, eventIDs []string) context.Context {
	return context.WithValue(ctx, batchKey{}, eventIDs)
}

// needsTx reports whether any message of the batch is undecodable or has a
// route.
func needsTx(batch []*Message, routes Routes) bool {
	for _, m := range batch {
		if m.Event == nil {
			return true
		}
		if _, ok := routes[m.Event.Type]; ok {
			return true
		}
	}
	return false
}

// Dedup skips events that consumer has already handled: it claims each
// event's id in the inbox inside the handler's transaction (see package
// inbox). On PostgreSQL, in a transaction of Transactional, it claims every
// event of the batch with its first call, in one round trip instead of one
// per event (SQLite runs in the process: one statement per event costs it
// less than a long one). now is the clock.
func Dedup(consumer string, now func() time.Time) TxMiddleware {
	key := claimsKey{consumer: consumer}
	return func(next TxHandler) TxHandler {
		return func(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
			first, err := claim(ctx, tx, key, e.EventID, now)
			if err != nil {
				return err
			}
			if !first {
				setOutcome(ctx, OutcomeDuplicate)
				return nil
			}
			return next(ctx, tx, e)
		}
	}
}

// claimsKey keys a consumer's claims of a batch in its transaction.
type claimsKey struct{ consumer string }

// claims are a batch's events claimed at once: every id of the batch, and
// those claimed for the first time and not yet handled.
type claims struct {
	batch map[string]bool
	first map[string]bool
}

// claim claims the event in the inbox and reports whether this is the first
// time. On PostgreSQL the first call in a transaction of Transactional
// claims every event of its batch; the later ones look their event up. An
// event seen a second time in a batch is a duplicate.
func claim(ctx context.Context, tx *sqldb.Tx, key claimsKey, eventID string, now func() time.Time) (bool, error) {
	if tx.Dialect() != sqldb.Postgres {
		return inbox.Claim(ctx, tx, key.consumer, eventID, now())
	}
	c, _ := tx.Value(key).(*claims)
	if c == nil {
		ids, _ := ctx.Value(batchKey{}).([]string)
		if len(ids) < 2 || !slices.Contains(ids, eventID) {
			return inbox.Claim(ctx, tx, key.consumer, eventID, now())
		}
		first, err := inbox.ClaimAll(ctx, tx, key.consumer, ids, now())
		if err != nil {
			return false, err
		}
		c = &claims{batch: make(map[string]bool, len(ids)), first: first}
		for _, id := range ids {
			c.batch[id] = true
		}
		tx.SetValue(key, c)
	}
	if !c.batch[eventID] {
		return inbox.Claim(ctx, tx, key.consumer, eventID, now())
	}
	if c.first[eventID] {
		delete(c.first, eventID)
		return true, nil
	}
	return false, nil
}

// Outcome is what became of one consumed message, for metrics.
type Outcome string

// Outcomes.
const (
	OutcomeHandled      Outcome = "handled"
	OutcomeDuplicate    Outcome = "duplicate"
	OutcomeIgnored      Outcome = "ignored"
	OutcomeDeadLettered Outcome = "dead_lettered"
)

type outcomeKey struct{}

// withOutcome lets middleware inside a transaction report the outcome of the
// message being handled.
func withOutcome(ctx context.Context, o *Outcome) context.Context {
	return context.WithValue(ctx, outcomeKey{}, o)
}

func setOutcome(ctx context.Context, o Outcome) {
	if p, ok := ctx.Value(outcomeKey{}).(*Outcome); ok {
		*p = o
	}
}

// ReadVersions reads each event as r says before it is handled (see
// events.Reader): the handler gets the event at the version r reads it
// as, so an event newer than the consumer reads but readable by it has
// what it does not know ignored. An event r cannot read fails with an
// error wrapping events.ErrUnsupportedVersion, which no retry fixes: it
// is dead-lettered, to be replayed once the consumer reads its version.
func ReadVersions(r events.Reader) TxMiddleware {
	return func(next TxHandler) TxHandler {
		return func(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
			read, err := r.Read(e)
			if err != nil {
				return err
			}
			return next(ctx, tx, read)
		}
	}
}
