package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Emitter turns event payloads into envelopes and adds them to an outbox:
// the way a service emits events inside the transaction of its state change.
type Emitter struct {
	Outbox *Outbox
	Topics events.Topics
	Now    func() time.Time
	// Versions are the schema versions the events are written in: a type
	// it does not name at its newest (see events.Versions).
	Versions events.Versions
	// OnEmit, when set, is called with each event Emit adds, inside the
	// same transaction; its error fails the Emit. The order service records
	// the events it publishes in its order timeline with it.
	OnEmit func(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error
}

// Emit adds one event per payload about the order to the outbox inside tx.
// cause is the event being handled (nil for a client request); the trace
// context of ctx goes into the messages' headers.
func (em Emitter) Emit(ctx context.Context, tx *sqldb.Tx, orderID string, cause *events.Envelope, ps ...events.Payload) error {
	now := time.Now
	if em.Now != nil {
		now = em.Now
	}
	msgs := make([]kafka.Message, 0, len(ps))
	for _, p := range ps {
		e, err := events.NewVersion(p, em.Versions.Of(p.EventType()), orderID, cause, now())
		if err != nil {
			return fmt.Errorf("emitting for order %s: %w", orderID, err)
		}
		m, err := e.Message(ctx, em.Topics)
		if err != nil {
			return fmt.Errorf("emitting for order %s: %w", orderID, err)
		}
		if em.OnEmit != nil {
			if err := em.OnEmit(ctx, tx, e); err != nil {
				return fmt.Errorf("emitting for order %s: %w", orderID, err)
			}
		}
		msgs = append(msgs, m)
	}
	return em.Outbox.Add(ctx, tx, msgs...)
}
