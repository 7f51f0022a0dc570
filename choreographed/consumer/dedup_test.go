package consumer_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/inbox"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// TestTransactional_BatchWithRepeatsAndHandledEvents_AppliesEachNewEventOnce
// hands one batch to Transactional with Dedup, as a consumer does under
// load: new events, an event handled by an earlier batch, an event twice,
// and an event of a type without a route. Each new event is applied once;
// the others are not applied.
func TestTransactional_BatchWithRepeatsAndHandledEvents_AppliesEachNewEventOnce(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db := sqltest.Open(t, d, inbox.Migrations())
			sqltest.MustExec(t, db, "CREATE TABLE applied (event_id TEXT NOT NULL, order_id TEXT NOT NULL)")
			routes := consumer.Routes{events.OrderPlaced: func(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO applied (event_id, order_id) VALUES ($1, $2)", e.EventID, e.OrderID)
				return err
			}}
			h := consumer.Transactional(db, routes, consumer.Dedup("g", time.Now))
			msg := func(p events.Payload, orderID string) *consumer.Message {
				e, err := events.New(p, orderID, nil, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				km, err := e.Message(ctx, events.Topics{})
				if err != nil {
					t.Fatal(err)
				}
				return consumer.NewMessage(km)
			}
			old, a, b := msg(events.OrderPlacedData{CustomerID: "c"}, "o-old"), msg(events.OrderPlacedData{CustomerID: "c"}, "o-a"), msg(events.OrderPlacedData{CustomerID: "c"}, "o-b")
			other := msg(events.OrderCancelRequestedData{}, "o-a")
			if err := h(ctx, []*consumer.Message{old}); err != nil {
				t.Fatal(err)
			}

			if err := h(ctx, []*consumer.Message{a, old, other, b, a}); err != nil {
				t.Fatal(err)
			}

			got := map[string]int{}
			rows, err := db.QueryContext(ctx, "SELECT order_id FROM applied")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				got[id]++
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 || got["o-old"] != 1 || got["o-a"] != 1 || got["o-b"] != 1 {
				t.Fatalf("applied %v, want o-old, o-a and o-b once each", got)
			}
		})
	}
}
