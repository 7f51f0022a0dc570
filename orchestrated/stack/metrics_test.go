package stack_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/ordersaga/ordersaga/shared/hosted"
)

// scrapedMetrics are the metric families GET /metrics served.
type scrapedMetrics map[string]*dto.MetricFamily

// scrapeMetrics reads the process's /metrics.
func scrapeMetrics(tb testing.TB, baseURL string) scrapedMetrics {
	tb.Helper()
	resp, err := http.Get(baseURL + "/metrics")
	if err != nil {
		tb.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	var p expfmt.TextParser
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		tb.Fatalf("GET /metrics: parsing: %v", err)
	}
	return mfs
}

// count sums, over the series of name that have every given label, the
// counters' values or the histograms' sample counts.
func (s scrapedMetrics) count(name string, labels map[string]string) float64 {
	var sum float64
	for _, m := range s[name].GetMetric() {
		if !withLabels(m.GetLabel(), labels) {
			continue
		}
		if h := m.GetHistogram(); h != nil {
			sum += float64(h.GetSampleCount())
		} else {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func withLabels(lps []*dto.LabelPair, labels map[string]string) bool {
	found := 0
	for _, lp := range lps {
		if v, ok := labels[lp.GetName()]; ok {
			if lp.GetValue() != v {
				return false
			}
			found++
		}
	}
	return found == len(labels)
}

// metricDelta is how much a series is expected to grow.
type metricDelta struct {
	name   string
	labels map[string]string
	delta  float64
}

func (d metricDelta) String() string {
	var ls []string
	for k, v := range d.labels {
		ls = append(ls, k+"="+v)
	}
	return fmt.Sprintf("%s{%s}", d.name, strings.Join(ls, ","))
}

// expectMetricDeltas waits until every series grew from before by at
// least its delta, then fails the test unless each grew by exactly that.
func expectMetricDeltas(tb testing.TB, baseURL string, before scrapedMetrics, want []metricDelta) {
	tb.Helper()
	var after scrapedMetrics
	deadline := time.Now().Add(finalWithin)
	for {
		after = scrapeMetrics(tb, baseURL)
		grown := true
		for _, w := range want {
			grown = grown && after.count(w.name, w.labels)-before.count(w.name, w.labels) >= w.delta
		}
		if grown || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, w := range want {
		if got := after.count(w.name, w.labels) - before.count(w.name, w.labels); got != w.delta {
			tb.Errorf("%v grew by %v, want %v", w, got, w.delta)
		}
	}
}

// sagaMetricDeltas are the saga metrics that one completed order and one
// order failed by shipping (inventory and payment done, then compensated)
// add in variant.
func sagaMetricDeltas(variant string) []metricDelta {
	v := func(kv ...string) map[string]string {
		m := map[string]string{"variant": variant}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	const steps = "ordersaga_saga_step_duration_seconds"
	return []metricDelta{
		{"ordersaga_orders_final_total", v("status", "completed", "reason", "none"), 1},
		{"ordersaga_orders_final_total", v("status", "failed", "reason", "shipping_unavailable"), 1},
		{"ordersaga_orders_final_total", v(), 2},
		{"ordersaga_saga_duration_seconds", v("status", "completed"), 1},
		{"ordersaga_saga_duration_seconds", v("status", "failed"), 1},
		{"ordersaga_saga_compensations_total", v("step", "inventory"), 1},
		{"ordersaga_saga_compensations_total", v("step", "payment"), 1},
		{"ordersaga_saga_compensations_total", v("step", "shipping"), 0},
		{steps, v("step", "inventory", "action", "do", "outcome", "done"), 2},
		{steps, v("step", "payment", "action", "do", "outcome", "done"), 2},
		{steps, v("step", "shipping", "action", "do", "outcome", "done"), 1},
		{steps, v("step", "shipping", "action", "do", "outcome", "refused"), 1},
		{steps, v("step", "payment", "action", "undo", "outcome", "undone"), 1},
		{steps, v("step", "inventory", "action", "undo", "outcome", "undone"), 1},
		{steps, v("step", "shipping", "action", "undo"), 0},
		{steps, v(), 8},
	}
}

func TestOrchestrated_Metrics_FinishedOrdersAppearAtMetrics(t *testing.T) {
	p := startProcess(t, newNamespace(t), sqliteDatabases(t))
	a := p.api(t)
	a.putProduct("mug", 1250, 10)
	a.putCustomer("c-1", 100_000)
	before := scrapeMetrics(t, p.url)

	if _, o := a.place(order("m-ok", "c-1", "mug", 1, "DE"), 15*time.Second); o.Status != "completed" {
		t.Fatalf("order m-ok = %+v, want completed", o)
	}
	if _, o := a.place(order("m-aq", "c-1", "mug", 1, "AQ"), 15*time.Second); o.Status != "failed" || o.FailureReason != "shipping_unavailable" {
		t.Fatalf("order m-aq = %+v, want failed shipping_unavailable", o)
	}
	expectMetricDeltas(t, p.url, before, sagaMetricDeltas("orchestrated"))
	// Every service's database committed the orders' writes.
	after := scrapeMetrics(t, p.url)
	for _, r := range hosted.AllRoles() {
		if d := after.count(hosted.CommitsMetric, map[string]string{"database": string(r)}) -
			before.count(hosted.CommitsMetric, map[string]string{"database": string(r)}); d < 1 {
			t.Errorf("%s{database=%q} grew by %v over two orders, want at least 1", hosted.CommitsMetric, r, d)
		}
	}
}
