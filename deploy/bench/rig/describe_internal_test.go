package rig

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/deploy/bench"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

// The report's setup names each stack's bound of orders in flight: the
// variant's default unless Limits.MaxInFlight sets one.
func TestDescribe_NamesEachStacksBoundOfOrdersInFlight(t *testing.T) {
	for _, tc := range []struct {
		limits httpapi.Limits
		want   string
	}{
		{httpapi.Limits{}, fmt.Sprintf("at most choreographed %d, orchestrated %d orders in flight",
			httpapi.DefaultMaxInFlightChoreographed, httpapi.DefaultMaxInFlightOrchestrated)},
		{httpapi.Limits{MaxInFlight: 9, MaxWaiting: 4096}, "at most choreographed 9, orchestrated 9 orders in flight"},
	} {
		r := &Rig{cfg: Config{Limits: tc.limits}, stacks: []*stack{{name: Orchestrated}, {name: Choreographed}}}
		var s bench.Setup
		r.Describe(&s)
		if notes := strings.Join(s.Notes, "\n"); !strings.Contains(notes, tc.want) {
			t.Errorf("MaxInFlight %d: notes\n%s\nlack %q", tc.limits.MaxInFlight, notes, tc.want)
		}
	}
}
