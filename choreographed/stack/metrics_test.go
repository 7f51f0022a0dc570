package stack_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/ordersaga/ordersaga/choreographed/internal/kafkatest"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/hosted"
)

// scrapedMetrics are the metric families GET /metrics served.
type scrapedMetrics map[string]*dto.MetricFamily

// scrapeMetrics reads the stack's /metrics.
func scrapeMetrics(t *testing.T, baseURL string) scrapedMetrics {
	t.Helper()
	resp, err := http.Get(baseURL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	var p expfmt.TextParser
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET /metrics: parsing: %v", err)
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

// has reports whether name has a series with every given label.
func (s scrapedMetrics) has(name string, labels map[string]string) bool {
	for _, m := range s[name].GetMetric() {
		if withLabels(m.GetLabel(), labels) {
			return true
		}
	}
	return false
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
func expectMetricDeltas(t *testing.T, baseURL string, before scrapedMetrics, want []metricDelta) scrapedMetrics {
	t.Helper()
	var after scrapedMetrics
	deadline := time.Now().Add(finalWithin)
	for {
		after = scrapeMetrics(t, baseURL)
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
			t.Errorf("%v grew by %v, want %v", w, got, w.delta)
		}
	}
	return after
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

func TestMetrics_AllInOne_FinishedOrdersAppearAtMetrics(t *testing.T) {
	base := "http://" + allInOne.Addr()
	a := api{base: base}
	u := kafkatest.Unique()
	sku, customer := "mug-"+u, "ada-"+u
	if code, body := a.do(t, http.MethodPut, "/v1/products/"+sku, map[string]any{"name": "Mug", "price_cents": 1250, "stock": 10}); code != http.StatusOK {
		t.Fatalf("PUT product: %d %s", code, body)
	}
	if code, body := a.do(t, http.MethodPut, "/v1/customers/"+customer, map[string]any{"name": "Ada", "credit_cents": 100_000}); code != http.StatusOK {
		t.Fatalf("PUT customer: %d %s", code, body)
	}
	req := func(name, country string) placeRequest {
		return placeRequest{OrderID: name + "-" + u, CustomerID: customer, Items: []line{{sku, 1}},
			ShipTo: address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: country}}
	}
	before := scrapeMetrics(t, base)

	ok := a.waitFinal(t, a.place(t, req("m-ok", "DE")).OrderID)
	expect(t, ok, domain.StatusCompleted, "", allDone)
	bad := a.waitFinal(t, a.place(t, req("m-aq", "AQ")).OrderID)
	expect(t, bad, domain.StatusFailed, domain.ReasonShippingUnavailable, [3]domain.StepStatus{compensated, compensated, failed})
	after := expectMetricDeltas(t, base, before, sagaMetricDeltas("choreographed"))

	// Every service's database committed, and the relays counted the bytes
	// of what they published.
	for _, r := range hosted.AllRoles() {
		if d := after.count(hosted.CommitsMetric, map[string]string{"database": string(r)}) -
			before.count(hosted.CommitsMetric, map[string]string{"database": string(r)}); d < 1 {
			t.Errorf("%s{database=%q} grew by %v over two orders, want at least 1", hosted.CommitsMetric, r, d)
		}
	}
	msgs := after.count("ordersaga_outbox_published_total", nil) - before.count("ordersaga_outbox_published_total", nil)
	bytes := after.count("ordersaga_outbox_published_bytes_total", nil) - before.count("ordersaga_outbox_published_bytes_total", nil)
	if msgs < 1 || bytes < 10*msgs {
		t.Errorf("the relays published %v messages of %v bytes over two orders; want some, of at least 10 bytes each", msgs, bytes)
	}

	// The relays' backlog and the consumers' lag are read at the scrape,
	// for every service of the stack.
	for _, svc := range []string{"orders", "inventory", "payment", "shipping"} {
		for _, name := range []string{"ordersaga_outbox_pending_messages", "ordersaga_outbox_oldest_message_age_seconds"} {
			if !after.has(name, map[string]string{"service": svc}) {
				t.Errorf("no %s series for service %s", name, svc)
			}
		}
		group := allInOnePrefix + "." + svc
		if !after.has("ordersaga_consumer_lag_messages", map[string]string{"group": group}) {
			t.Errorf("no ordersaga_consumer_lag_messages series for group %s", group)
		}
	}
}
