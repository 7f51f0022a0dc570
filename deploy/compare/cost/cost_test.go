package cost

import (
	"math"
	"strings"
	"testing"
	"time"
)

// The count of a run takes off what the counters counted per second while
// idle, over the run's length, part by part.
func TestCostDelta_TakesTheIdleRateOff(t *testing.T) {
	t0 := time.Unix(1000, 0)
	idle := map[string]float64{"a": 10, "b": 0}
	before := map[string]float64{"a": 12, "b": 0} // a: 1 per second over 2 s
	after := map[string]float64{"a": 62, "b": 30}
	total, rate, by := costDelta(idle, before, after, t0, t0.Add(2*time.Second), t0.Add(2*time.Second), t0.Add(12*time.Second))
	if by["a"] != 40 || by["b"] != 30 || total != 70 || rate != 1 {
		t.Fatalf("by %v, total %v, rate %v; want a 40 (50 less 10 s at 1/s), b 30, total 70, rate 1", by, total, rate)
	}
	c := newCostCount(10, idle, before, after, t0, t0.Add(2*time.Second), t0.Add(2*time.Second), t0.Add(12*time.Second))
	if c.PerOrder != 7 || c.ByPart["a"] != 4 || c.BackgroundPerS != 1 {
		t.Fatalf("count %+v; want 7 per order, a 4, background 1/s", c)
	}
}

// The metrics parser sums a metric's series, by a label's value too.
func TestParseCostMetrics_SumsByLabel(t *testing.T) {
	text := `# HELP ordersaga_db_commits_total Transactions committed.
# TYPE ordersaga_db_commits_total counter
ordersaga_db_commits_total{database="orders"} 12
ordersaga_db_commits_total{database="payment"} 5
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 3.25
# TYPE ordersaga_outbox_pending_messages gauge
ordersaga_outbox_pending_messages{service="orders"} 2
ordersaga_outbox_pending_messages{service="payment"} 1
`
	m, err := parseCostMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	by := m.by("ordersaga_db_commits_total", "database")
	if by["orders"] != 12 || by["payment"] != 5 || len(by) != 2 {
		t.Errorf("commits by database %v", by)
	}
	if got := m.sum("ordersaga_db_commits_total"); got != 17 {
		t.Errorf("commits sum %v, want 17", got)
	}
	if got := m.sum("process_cpu_seconds_total"); got != 3.25 {
		t.Errorf("cpu %v", got)
	}
	if got := m.sum(costMetricOutboxPending); got != 3 {
		t.Errorf("pending %v, want 3", got)
	}
	if m.has("ordersaga_outbox_published_bytes_total") || m.sum("ordersaga_outbox_published_bytes_total") != 0 {
		t.Error("a metric not served reads as served")
	}
}

// The orders of the run are the normal mix: each has 1 to 3 distinct
// products, 1 to 3 units each, and about costFailureShare ship to the
// refused country; the same number gives the same order.
func TestNewCostOrder_NormalMix(t *testing.T) {
	skus := []string{"p0", "p1", "p2", "p3", "p4"}
	custs := []string{"c0", "c1"}
	refused := 0
	const n = 2000
	for seq := range uint64(n) {
		o, cust := newCostOrder("x", skus, custs, seq)
		if len(o.Items) < 1 || len(o.Items) > 3 || o.CustomerID != custs[cust] {
			t.Fatalf("order %d: %+v", seq, o)
		}
		seen := map[string]bool{}
		for _, it := range o.Items {
			if seen[it.SKU] || it.Quantity < 1 || it.Quantity > 3 {
				t.Fatalf("order %d: items %+v", seq, o.Items)
			}
			seen[it.SKU] = true
		}
		if o.ShipTo.Country == costRefusedCountry {
			refused++
		}
		again, _ := newCostOrder("y", skus, custs, seq)
		if again.ShipTo != o.ShipTo || len(again.Items) != len(o.Items) {
			t.Fatalf("order %d differs between runs: %+v, %+v", seq, o, again)
		}
	}
	if share := float64(refused) / n; math.Abs(share-costFailureShare) > 0.03 {
		t.Errorf("%.3f of the orders ship to the refused country, want about %.2f", share, costFailureShare)
	}
}
