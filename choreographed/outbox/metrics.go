package outbox

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the relays' Prometheus metrics, labelled by service.
type Metrics struct {
	publishedTotal *prometheus.CounterVec
	failuresTotal  *prometheus.CounterVec
	delay          *prometheus.HistogramVec
}

// NewMetrics registers the relay metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		publishedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordersaga_outbox_published_total",
			Help: "Messages the outbox relay published and the broker acknowledged.",
		}, []string{"service"}),
		failuresTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordersaga_outbox_publish_failures_total",
			Help: "Outbox publish rounds that failed and were retried.",
		}, []string{"service"}),
		delay: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ordersaga_outbox_delay_seconds",
			Help:    "Time from writing a message into the outbox to the broker's acknowledgement.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"service"}),
	}
	reg.MustRegister(m.publishedTotal, m.failuresTotal, m.delay)
	return m
}

func (m *Metrics) published(service string, createdMicros []int64, now time.Time) {
	if m == nil {
		return
	}
	m.publishedTotal.WithLabelValues(service).Add(float64(len(createdMicros)))
	h := m.delay.WithLabelValues(service)
	for _, c := range createdMicros {
		h.Observe(now.Sub(time.UnixMicro(c)).Seconds())
	}
}

func (m *Metrics) failed(service string) {
	if m == nil {
		return
	}
	m.failuresTotal.WithLabelValues(service).Inc()
}
