package consumer

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/shared/domain"
)

// Metrics are the consumers' Prometheus metrics, labelled by consumer group.
type Metrics struct {
	messages    *prometheus.CounterVec
	retries     *prometheus.CounterVec
	batches     *prometheus.HistogramVec
	sizes       *prometheus.HistogramVec
	deadLetters *prometheus.CounterVec
	// redeliveries counts messages parked for redelivery, gaveUp the
	// steps given up, and pending the parked messages a redeliverer holds
	// until they fall due and are handled.
	redeliveries *prometheus.CounterVec
	gaveUps      *prometheus.CounterVec
	pending      *prometheus.GaugeVec
	lag          *lagCollector
}

// Reasons of ordersaga_dead_letters_total.
const (
	// DeadLetterUndecodable: the message is not an event this version
	// can read.
	DeadLetterUndecodable = "undecodable"
	// DeadLetterPermanent: the handler refused it for good (invalid,
	// unknown, conflicting), without retrying.
	DeadLetterPermanent = "permanent"
	// DeadLetterRetriesExhausted: it kept failing (a fault, a panic) until
	// the retry policy's attempts were used up.
	DeadLetterRetriesExhausted = "retries_exhausted"
)

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
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordersaga_dead_letters_total",
			Help: "Messages parked on the dead-letter topic, by consumer group, event type and reason (undecodable, permanent, retries_exhausted).",
		}, []string{"group", "type", "reason"}),
		lag: newLagCollector(),
	}
	m.redeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ordersaga_redeliveries_total",
		Help: "Messages parked on a redelivery topic after their quick retries failed, by consumer group, event type and delay.",
	}, []string{"group", "event_type", "delay"})
	m.gaveUps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ordersaga_steps_given_up_total",
		Help: "Step actions given up (refused by the consuming service itself), by consumer group, event type and reason (step_unavailable, rejected).",
	}, []string{"group", "event_type", "reason"})
	m.pending = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ordersaga_redelivery_pending_messages",
		Help: "Messages a redeliverer holds until they fall due and are handled: work of orders still retrying (alert when above 0 for long).",
	}, []string{"group"})
	reg.MustRegister(m.messages, m.retries, m.batches, m.sizes, m.deadLetters, m.lag, m.redeliveries, m.gaveUps, m.pending)
	return m
}

// lagCollector reads, at each scrape, the lag of each consumer group's
// reader as kafka-go reports it (Reader.Stats().Lag): the messages that
// followed the last one the reader fetched, in the partition it fetched
// from last, at that fetch. 0 means the reader is caught up; messages
// fetched but not yet handled are not counted. Reading the stats resets
// kafka-go's own counters, which nothing else here reads.
type lagCollector struct {
	desc *prometheus.Desc

	mu      sync.Mutex
	readers map[string]*kafka.Reader // by group
}

func newLagCollector() *lagCollector {
	return &lagCollector{
		desc: prometheus.NewDesc("ordersaga_consumer_lag_messages",
			"Messages behind the last one the group's reader fetched, in the partition it fetched from last (kafka-go's reader lag).",
			[]string{"group"}, nil),
		readers: map[string]*kafka.Reader{},
	}
}

// Describe implements prometheus.Collector.
func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	readers := maps.Clone(c.readers)
	c.mu.Unlock()
	for group, r := range readers {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(r.Stats().Lag), group)
	}
}

// watch makes the scrapes report the lag of group's reader r.
func (m *Metrics) watch(group string, r *kafka.Reader) {
	if m == nil {
		return
	}
	m.lag.mu.Lock()
	defer m.lag.mu.Unlock()
	m.lag.readers[group] = r
}

// unwatch stops reporting r, when it is still group's reader.
func (m *Metrics) unwatch(group string, r *kafka.Reader) {
	if m == nil {
		return
	}
	m.lag.mu.Lock()
	defer m.lag.mu.Unlock()
	if m.lag.readers[group] == r {
		delete(m.lag.readers, group)
	}
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

func (r *recorder) deadLettered(t events.Type, reason string) {
	if r == nil || r.m == nil {
		return
	}
	r.m.messages.WithLabelValues(r.group, string(t), string(OutcomeDeadLettered)).Inc()
	r.m.deadLetters.WithLabelValues(r.group, string(t), reason).Inc()
}

func (r *recorder) redelivered(t events.Type, delay time.Duration) {
	if r == nil || r.m == nil {
		return
	}
	r.m.redeliveries.WithLabelValues(r.group, string(t), delay.String()).Inc()
}

func (r *recorder) gaveUp(t events.Type, reason domain.FailureReason) {
	if r == nil || r.m == nil {
		return
	}
	r.m.gaveUps.WithLabelValues(r.group, string(t), string(reason)).Inc()
}

// waiting adds d to the parked messages a redeliverer of group holds.
func (m *Metrics) waiting(group string, d float64) {
	if m == nil {
		return
	}
	m.pending.WithLabelValues(group).Add(d)
}

func (r *recorder) retried() {
	if r == nil || r.m == nil {
		return
	}
	r.m.retries.WithLabelValues(r.group).Inc()
}
