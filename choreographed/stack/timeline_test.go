package stack_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// timelineJSON is GET /v1/orders/{id}/timeline as a client reads it.
type timelineJSON struct {
	OrderID string `json:"order_id"`
	Variant string `json:"variant"`
	Entries []struct {
		At      time.Time `json:"at"`
		Service string    `json:"service"`
		Kind    string    `json:"kind"`
		Step    string    `json:"step"`
		Event   string    `json:"event"`
		Status  string    `json:"status"`
	} `json:"entries"`
}

// timeline polls the order's timeline until done holds.
func (a api) timeline(t *testing.T, id string, done func(timelineJSON) bool) timelineJSON {
	t.Helper()
	deadline := time.Now().Add(finalWithin)
	for {
		status, b := a.do(t, http.MethodGet, "/v1/orders/"+id+"/timeline", nil)
		if status != http.StatusOK {
			t.Fatalf("GET /v1/orders/%s/timeline: %d %s", id, status, b)
		}
		var tl timelineJSON
		if err := json.Unmarshal(b, &tl); err != nil {
			t.Fatalf("decoding %s: %v", b, err)
		}
		if done(tl) {
			return tl
		}
		if time.Now().After(deadline) {
			t.Fatalf("timeline of order %s never complete: %s", id, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTimeline_CompletedOrder_ListsItsStepsAndItsEventsInOrder(t *testing.T) {
	f := newFixture()
	mug := f.product(t, "mug", 1250, 10)
	ada := f.customer(t, "ada", 100_000)
	a := splitAPI()
	placed := a.place(t, f.request("tl", ada, "DE", line{mug, 2}))
	expect(t, a.waitFinal(t, placed.OrderID), domain.StatusCompleted, "", allDone)

	consumedAll := func(tl timelineJSON) bool {
		n := 0
		for _, e := range tl.Entries {
			if e.Kind == "event_consumed" {
				n++
			}
		}
		return n == 3
	}
	tl := a.timeline(t, placed.OrderID, consumedAll)
	if tl.OrderID != placed.OrderID || tl.Variant != "choreographed" {
		t.Fatalf("timeline of %q on %q, want %s on choreographed", tl.OrderID, tl.Variant, placed.OrderID)
	}

	// Sorted; the saga's entries in the order of the saga; every event the
	// order service published or consumed, once, by the right service;
	// each consumed event after its publication.
	var saga, published, consumed []string
	publishedAt := map[string]time.Time{}
	for i, e := range tl.Entries {
		if i > 0 && e.At.Before(tl.Entries[i-1].At) {
			t.Errorf("entry %d at %v is before entry %d at %v", i, e.At, i-1, tl.Entries[i-1].At)
		}
		switch e.Kind {
		case "event_published":
			published = append(published, e.Service+" "+e.Event)
			publishedAt[e.Event] = e.At
		case "event_consumed":
			consumed = append(consumed, e.Service+" "+e.Event)
			if at, ok := publishedAt[e.Event]; !ok || e.At.Before(at) {
				t.Errorf("%s consumed at %v, before its publication (%v, listed: %v)", e.Event, e.At, at, ok)
			}
		default:
			saga = append(saga, fmt.Sprintf("%s %s %s%s", e.Service, e.Kind, e.Step, e.Status))
		}
	}
	wantSaga := []string{
		"orders order_placed ",
		"inventory step_done inventory",
		"payment step_done payment",
		"shipping step_done shipping",
		"orders order_final completed",
	}
	if !slices.Equal(saga, wantSaga) {
		t.Errorf("saga entries:\n%q\nwant:\n%q", saga, wantSaga)
	}
	wantPublished := []string{"orders OrderPlaced", "inventory InventoryReserved", "payment PaymentCompleted",
		"shipping ShipmentCreated", "orders OrderCompleted"}
	if !slices.Equal(published, wantPublished) {
		t.Errorf("published:\n%q\nwant:\n%q", published, wantPublished)
	}
	slices.Sort(consumed)
	if want := []string{"orders InventoryReserved", "orders PaymentCompleted", "orders ShipmentCreated"}; !slices.Equal(consumed, want) {
		t.Errorf("consumed %q, want %q", consumed, want)
	}
}

func TestTimeline_UnknownOrder_Answers404(t *testing.T) {
	if status, b := splitAPI().do(t, http.MethodGet, "/v1/orders/nope-"+newFixture().u+"/timeline", nil); status != http.StatusNotFound {
		t.Fatalf("status %d %s, want 404", status, b)
	}
}
