package allinone_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/allinone"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/scenario"
)

// TestCompare_BothVariantsEndInTheSameState runs every scenario of the shared
// suite on the orchestrated and the choreographed variant of one all-in-one
// stack (embedded Temporal server and broker, SQLite) and asserts that the
// two end in the same final state: the same statuses, failure reasons and
// steps, and the same stock and credit. The invariants are checked after
// every scenario on each variant.
func TestCompare_BothVariantsEndInTheSameState(t *testing.T) {
	if testing.Short() {
		t.Skip("the comparison runs the whole scenario suite twice")
	}
	cfg := testConfig(t.TempDir())
	cfg.Seed = false
	s := startBoth(t, cfg)
	scenario.Compare(t,
		scenario.Target{Name: allinone.Orchestrated, BaseURL: s.APIURL(allinone.Orchestrated), Keys: s.Credentials().Keys},
		scenario.Target{Name: allinone.Choreographed, BaseURL: s.APIURL(allinone.Choreographed), Keys: s.Credentials().Keys},
	)
}

// TestCompare_FailureModel_BothVariantsEndAlike runs the failure model's
// scenarios (services failing for less and for more than the step
// deadline, at actions and at compensations, and a cancel while failing)
// on both variants of one all-in-one stack run with a 4 s step deadline,
// and asserts that they end in the same final state.
func TestCompare_FailureModel_BothVariantsEndAlike(t *testing.T) {
	if testing.Short() {
		t.Skip("the comparison runs the failure scenarios twice")
	}
	const deadline = 4 * time.Second
	cfg := testConfig(t.TempDir())
	cfg.Seed = false
	cfg.StepDeadline = deadline
	s := startBoth(t, cfg)
	scenario.CompareScenarios(t,
		scenario.Target{Name: allinone.Orchestrated, BaseURL: s.APIURL(allinone.Orchestrated), StepDeadline: deadline, Keys: s.Credentials().Keys},
		scenario.Target{Name: allinone.Choreographed, BaseURL: s.APIURL(allinone.Choreographed), StepDeadline: deadline, Keys: s.Credentials().Keys},
		scenario.FailureScenarios(),
	)
}

// TestCompare_ShippingUnavailable_TimelinesCompensateInTheSameOrder places
// an order to a country never served (AQ) on both variants of one
// all-in-one stack and reads each one's timeline (GET
// /v1/orders/{id}/timeline): each is sorted by time, starts with
// order_placed and ends with order_final failed, and both list the same
// steps compensated in the same order: payment, then inventory.
func TestCompare_ShippingUnavailable_TimelinesCompensateInTheSameOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("the comparison starts the whole all-in-one stack")
	}
	cfg := testConfig(t.TempDir())
	cfg.Seed = false
	s := startBoth(t, cfg)

	compensated := map[string][]string{}
	for _, variant := range []string{allinone.Orchestrated, allinone.Choreographed} {
		t.Run(variant, func(t *testing.T) {
			tg := scenario.Target{Name: variant, BaseURL: s.APIURL(variant), Keys: s.Credentials().Keys}
			scenario.RunScenario(t, tg, scenario.Scenario{Name: "timeline", Run: func(tb testing.TB, e *scenario.Env) scenario.Result {
				mug := e.Product("mug", 1500, 5)
				ada := e.Customer("ada", 10_000)
				e.Place("aq", e.Request("aq", ada, "AQ", scenario.Line{SKU: mug, Quantity: 2}))
				res := e.Finish()
				if o := res.Orders["aq"]; o.Status != domain.StatusFailed || o.FailureReason != domain.ReasonShippingUnavailable {
					tb.Fatalf("order ended %s %q, want failed shipping_unavailable", o.Status, o.FailureReason)
				}
				tl := finalTimeline(tb, s.Credentials().Operator, tg.BaseURL, e.OrderID("aq"))
				checkTimeline(tb, variant, tl)
				compensated[variant] = tl.steps("step_compensated")
				return res
			}})
		})
	}
	want := []string{"payment", "inventory"}
	for _, variant := range []string{allinone.Orchestrated, allinone.Choreographed} {
		if got := compensated[variant]; !slices.Equal(got, want) {
			t.Errorf("%s timeline compensates %q, want %q", variant, got, want)
		}
	}
}

// orderTimeline is GET /v1/orders/{id}/timeline as a client reads it.
type orderTimeline struct {
	OrderID string          `json:"order_id"`
	Variant string          `json:"variant"`
	Entries []timelineEntry `json:"entries"`
}

// timelineEntry is the part of a timeline entry the comparison reads.
type timelineEntry struct {
	At      time.Time `json:"at"`
	Service string    `json:"service"`
	Kind    string    `json:"kind"`
	Step    string    `json:"step"`
	Event   string    `json:"event"`
	Status  string    `json:"status"`
}

// steps returns the steps of the entries of a kind, in order.
func (tl orderTimeline) steps(kind string) []string {
	var out []string
	for _, e := range tl.Entries {
		if e.Kind == kind {
			out = append(out, e.Step)
		}
	}
	return out
}

// finalTimeline reads the order's timeline until it lists the order final
// (the orchestrated saga records the order final just before its workflow
// completes, and the timeline reads the workflow).
func finalTimeline(tb testing.TB, token, base, orderID string) orderTimeline {
	tb.Helper()
	deadline := time.Now().Add(scenario.DefaultFinalWithin)
	for {
		var tl orderTimeline
		if code := call(tb, token, http.MethodGet, base+"/v1/orders/"+orderID+"/timeline", "", &tl); code != http.StatusOK {
			tb.Fatalf("GET the timeline of order %s: status %d", orderID, code)
		}
		if slices.ContainsFunc(tl.Entries, func(e timelineEntry) bool { return e.Kind == "order_final" }) {
			return tl
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(tl)
			tb.Fatalf("the timeline of order %s never listed the order final: %s", orderID, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkTimeline reports a timeline that is not sorted by time, or does not
// start with order_placed and end with order_final failed.
func checkTimeline(tb testing.TB, variant string, tl orderTimeline) {
	tb.Helper()
	b, _ := json.Marshal(tl)
	if tl.Variant != variant || len(tl.Entries) < 2 {
		tb.Fatalf("%s timeline: %s", variant, b)
	}
	for i := 1; i < len(tl.Entries); i++ {
		if tl.Entries[i].At.Before(tl.Entries[i-1].At) {
			tb.Errorf("%s timeline: entry %d is before entry %d: %s", variant, i, i-1, b)
		}
	}
	var lines []string
	for _, e := range tl.Entries {
		lines = append(lines, strings.Join(slices.DeleteFunc([]string{e.At.Format(time.StampMicro), e.Service, e.Kind, e.Step, e.Event, e.Status},
			func(f string) bool { return f == "" }), " "))
	}
	tb.Logf("%s timeline:\n%s", variant, strings.Join(lines, "\n"))
	first, last := tl.Entries[0], tl.Entries[len(tl.Entries)-1]
	if first.Kind != "order_placed" || last.Kind != "order_final" || last.Status != string(domain.StatusFailed) {
		tb.Errorf("%s timeline starts with %s and ends with %s %s, want order_placed and order_final failed: %s",
			variant, first.Kind, last.Kind, last.Status, b)
	}
}

// startBoth starts an all-in-one stack of both variants on cfg, closed
// when the test ends.
func startBoth(t *testing.T, cfg allinone.Config) *allinone.Stack {
	t.Helper()
	s, err := allinone.Start(testContext(t), cfg, allinone.Options{
		Orchestrated:  allinone.OrchestratedBuilder,
		Choreographed: allinone.ChoreographedBuilder,
		Logger:        logger(t),
	})
	if err != nil {
		t.Fatalf("starting the stack: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the stack: %v", err)
		}
	})
	return s
}
