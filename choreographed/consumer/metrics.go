package consumer

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ordersaga/ordersaga/choreographed/events"
)

// Metrics are the consumers' Prometheus metrics, labelled by consumer group.
type Metrics struct {
	messages *prometheus.CounterVec
	retries  *prometheus.CounterVec
	batches  *prometheus.HistogramVec
	sizes    *prometheus.HistogramVec
}

// NewMetrics registers the consumer metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordersaga_consumer_messages_total",
			Help: "Messages consumed, by consumer group, event type and outcome (handled, duplicate, ignored, dead_lettered).",
		}, []string{"group", "type", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordersaga_consumer_retries_total",
			Help: "Attempts to handle a message that failed and were retried.",
		}, []string{"group"}),
		batches: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ordersaga_consumer_batch_seconds",
			Help:    "Time to handle a batch of messages and commit its offsets.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"group"}),
		sizes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ordersaga_consumer_batch_size",
			Help:    "Messages handled together in one batch.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}, []string{"group"}),
	}
	reg.MustRegister(m.messages, m.retries, m.batches, m.sizes)
	return m
}

// recorder reports what became of messages to the metrics of one group.
type recorder struct {
	m     *Metrics
	group string
}

type recorderKey struct{}

// withRecorder makes the handlers called with ctx report to r.
func withRecorder(ctx context.Context, r *recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, r)
}

// recorderFrom returns the recorder of ctx; a nil recorder records nothing.
func recorderFrom(ctx context.Context) *recorder {
	r, _ := ctx.Value(recorderKey{}).(*recorder)
	return r
}

func (r *recorder) record(t events.Type, o Outcome) {
	if r == nil || r.m == nil {
		return
	}
	r.m.messages.WithLabelValues(r.group, string(t), string(o)).Inc()
}

func (r *recorder) retried() {
	if r == nil || r.m == nil {
		return
	}
	r.m.retries.WithLabelValues(r.group).Inc()
}
