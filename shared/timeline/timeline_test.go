package timeline_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/timeline"
)

func TestSort_OrdersByTimeKeepingTiesInTheGivenOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	es := []timeline.Entry{
		{At: t0.Add(2 * time.Millisecond), Detail: "c"},
		{At: t0, Detail: "a"},
		{At: t0.Add(time.Millisecond), Detail: "b1"},
		{At: t0.Add(time.Millisecond), Detail: "b2"},
		{At: t0.Add(time.Millisecond), Detail: "b3"},
	}
	timeline.Sort(es)
	var got []string
	for _, e := range es {
		got = append(got, e.Detail)
	}
	if want := []string{"a", "b1", "b2", "b3", "c"}; !slices.Equal(got, want) {
		t.Fatalf("sorted %q, want %q", got, want)
	}
}
