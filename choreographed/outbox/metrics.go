package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Metrics are the relays' Prometheus metrics, labelled by service: what
// they published, and (read from each relay's outbox at every scrape) what
// waits to be published.
type Metrics struct {
	publishedTotal *prometheus.CounterVec
	publishedBytes *prometheus.CounterVec
	failuresTotal  *prometheus.CounterVec
	delay          *prometheus.HistogramVec
	backlog        *backlog
}

// NewMetrics registers the relay metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		publishedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordersaga_outbox_published_total",
			Help: "Messages the outbox relay published and the broker acknowledged.",
		}, []string{"service"}),
		publishedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordersaga_outbox_published_bytes_total",
			Help: "Bytes of the messages the outbox relay published and the broker acknowledged: keys, values and headers, without the protocol's framing.",
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
		backlog: newBacklog(),
	}
	reg.MustRegister(m.publishedTotal, m.publishedBytes, m.failuresTotal, m.delay, m.backlog)
	return m
}

// watch makes the scrapes report the backlog of service's outbox in db.
func (m *Metrics) watch(service string, db *sqldb.DB) {
	if m == nil || db == nil {
		return
	}
	m.backlog.mu.Lock()
	defer m.backlog.mu.Unlock()
	m.backlog.dbs[service] = db
}

func (m *Metrics) published(service string, createdMicros []int64, bytes int, now time.Time) {
	if m == nil {
		return
	}
	m.publishedTotal.WithLabelValues(service).Add(float64(len(createdMicros)))
	m.publishedBytes.WithLabelValues(service).Add(float64(bytes))
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

// backlogQueryTimeout bounds the query of one outbox at a scrape.
const backlogQueryTimeout = time.Second

// backlog is a collector that reads, at each scrape, how many messages each
// watched outbox holds and how old the oldest is: the relay's lag. The rows
// of a batch the broker just acknowledged count until their delete commits,
// a moment later. An outbox whose database does not answer within
// backlogQueryTimeout (or is closed) reports nothing at that scrape.
type backlog struct {
	pending *prometheus.Desc
	oldest  *prometheus.Desc

	mu  sync.Mutex
	dbs map[string]*sqldb.DB // by service
}

func newBacklog() *backlog {
	return &backlog{
		pending: prometheus.NewDesc("ordersaga_outbox_pending_messages",
			"Messages in the outbox table: not yet published, or acknowledged a moment ago and not yet deleted (read at the scrape).", []string{"service"}, nil),
		oldest: prometheus.NewDesc("ordersaga_outbox_oldest_message_age_seconds",
			"Age of the oldest message in the outbox table; 0 when it is empty (read at the scrape).", []string{"service"}, nil),
		dbs: map[string]*sqldb.DB{},
	}
}

// Describe implements prometheus.Collector.
func (b *backlog) Describe(ch chan<- *prometheus.Desc) {
	ch <- b.pending
	ch <- b.oldest
}

// Collect implements prometheus.Collector.
func (b *backlog) Collect(ch chan<- prometheus.Metric) {
	b.mu.Lock()
	dbs := maps.Clone(b.dbs)
	b.mu.Unlock()
	for service, db := range dbs {
		ctx, cancel := context.WithTimeout(context.Background(), backlogQueryTimeout)
		n, oldest, err := backlogOf(ctx, db)
		cancel()
		if err != nil {
			continue
		}
		age := 0.0
		if n > 0 {
			age = max(time.Since(oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(b.pending, prometheus.GaugeValue, float64(n), service)
		ch <- prometheus.MustNewConstMetric(b.oldest, prometheus.GaugeValue, age, service)
	}
}

// backlogOf returns how many messages db's outbox holds and when the oldest
// was written (zero when there is none).
func backlogOf(ctx context.Context, db *sqldb.DB) (int64, time.Time, error) {
	var (
		n      int64
		oldest sql.NullInt64
	)
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*), MIN(created_at) FROM outbox").Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, fmt.Errorf("reading the outbox backlog of %s: %w", db.Name(), err)
	}
	if !oldest.Valid {
		return n, time.Time{}, nil
	}
	return n, time.UnixMicro(oldest.Int64), nil
}
