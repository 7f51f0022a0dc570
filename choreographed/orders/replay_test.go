package orders_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

func TestTimeline_Follows_TheOrderServicesEventsAndTheStepEventsItRoutes(t *testing.T) {
	onBothEngines(t, map[string]func(*testing.T, *service){
		"SameTypesAsTheLiveService": func(t *testing.T, s *service) {
			for _, typ := range events.NewTable(nil).Types() {
				_, routed := s.routes[typ]
				if want := routed || slices.Contains(events.OrderTypes(), typ); s.timeline.Follows(typ) != want {
					t.Errorf("Follows(%s) = %v, want %v", typ, !want, want)
				}
			}
			if got := s.timeline.Sources(); !slices.Equal(got, events.Services()) {
				t.Errorf("sources %v, want every service %v", got, events.Services())
			}
		},
	})
}

func TestTimeline_Replay_RecordsEventsAsTheLiveServiceDid(t *testing.T) {
	onBothEngines(t, map[string]func(*testing.T, *service){
		"PublishedConsumedIgnoredRepeatedAndUnreadable": replayed,
	})
}

func replayed(t *testing.T, s *service) {
	ctx := context.Background()
	placed := s.event("rp", events.OrderPlacedData{CustomerID: "c-1"})
	reserved := s.event("rp", stepEvent(events.InventoryReserved, events.StepEvent{CustomerID: "c-1", Pricing: &priced}))
	committed := s.event("rp", stepEvent(events.InventoryCommitted, events.StepEvent{}))
	unreadable := s.event("rp", stepEvent(events.PaymentCompleted, events.StepEvent{}))
	unreadable.Data = json.RawMessage(`{"pricing": "not an object"}`)
	handled := t0.Add(time.Hour)
	replay := func(e *events.Envelope) error {
		return s.db.InTx(ctx, func(tx *sqldb.Tx) error { return s.timeline.Replay(ctx, tx, e, handled) })
	}
	for _, e := range []*events.Envelope{placed, reserved, committed, reserved, placed} {
		if err := replay(e); err != nil {
			t.Fatalf("replaying %s: %v", e.Type, err)
		}
	}
	if err := replay(unreadable); !consumer.IsPermanent(err) {
		t.Errorf("replaying an unreadable payload: %v, want a permanent error", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT event_id, direction, occurred_at, handled_at FROM order_timeline WHERE order_id = 'rp' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id, dir string
		var occurred, at int64
		if err := rows.Scan(&id, &dir, &occurred, &at); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %d %d", id, dir, occurred, at))
	}
	want := []string{
		fmt.Sprintf("%s published %d %d", placed.EventID, placed.OccurredAt.UnixMicro(), placed.OccurredAt.UnixMicro()),
		fmt.Sprintf("%s consumed %d %d", reserved.EventID, reserved.OccurredAt.UnixMicro(), handled.UnixMicro()),
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}

	// A reset empties the timeline.
	if err := s.db.InTx(ctx, func(tx *sqldb.Tx) error { return s.timeline.ResetTx(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM order_timeline`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d rows after a reset (%v)", n, err)
	}
}
