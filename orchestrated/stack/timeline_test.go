package stack_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
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
		Detail  string    `json:"detail"`
	} `json:"entries"`
}

// timeline waits until the order's timeline ends with its final status
// (the saga records the order final just before its workflow completes)
// and returns it.
func (a api) timeline(id string) timelineJSON {
	a.tb.Helper()
	var tl timelineJSON
	waitFor(a.tb, finalWithin, "the timeline of order "+id+" to end final", func() bool {
		tl = timelineJSON{}
		a.mustDo(http.MethodGet, "/v1/orders/"+id+"/timeline", nil, &tl, http.StatusOK)
		n := len(tl.Entries)
		return n > 0 && tl.Entries[n-1].Kind == "order_final"
	})
	return tl
}

func TestOrchestrated_Timeline_CompletedOrderListsItsStepsInOrder(t *testing.T) {
	p := startProcess(t, newNamespace(t), sqliteDatabases(t))
	a := p.api(t)
	a.putProduct("mug", 1250, 10)
	a.putCustomer("c-1", 10_000)
	if code, o := a.place(order("o-1", "c-1", "mug", 2, "DE"), 15*time.Second); code != http.StatusCreated || o.Status != "completed" {
		t.Fatalf("POST ?wait: %d %+v, want 201 completed", code, o)
	}

	tl := a.timeline("o-1")
	if tl.OrderID != "o-1" || tl.Variant != "orchestrated" {
		t.Fatalf("timeline of %q on %q, want o-1 on orchestrated", tl.OrderID, tl.Variant)
	}
	var got []string
	for i, e := range tl.Entries {
		if i > 0 && e.At.Before(tl.Entries[i-1].At) {
			t.Errorf("entry %d at %v is before entry %d at %v", i, e.At, i-1, tl.Entries[i-1].At)
		}
		got = append(got, fmt.Sprintf("%s %s %s%s", e.Service, e.Kind, e.Step, e.Status))
	}
	want := []string{
		"orders order_placed ",
		"inventory step_started inventory", "inventory step_done inventory",
		"payment step_started payment", "payment step_done payment",
		"shipping step_started shipping", "shipping step_done shipping",
		"inventory step_started inventory", "inventory step_done inventory", // the completion
		"orders order_final completed",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("timeline:\n%q\nwant:\n%q", got, want)
	}
	if d := tl.Entries[1].Detail; d != "ReserveInventory" {
		t.Errorf("the first step's detail is %q, want its activity ReserveInventory", d)
	}
}

func TestOrchestrated_Timeline_UnknownOrder_Answers404(t *testing.T) {
	p := startProcess(t, newNamespace(t), sqliteDatabases(t))
	if code := p.api(t).do(http.MethodGet, "/v1/orders/nope/timeline", nil, nil); code != http.StatusNotFound {
		t.Fatalf("status %d, want 404", code)
	}
}
