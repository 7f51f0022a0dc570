package cost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/segmentio/kafka-go"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// The metrics the cost section reads from a stack's /metrics.
const (
	costMetricCPU            = "process_cpu_seconds_total"
	costMetricPublished      = "ordersaga_outbox_published_total"
	costMetricPublishedBytes = "ordersaga_outbox_published_bytes_total"
	costMetricOutboxPending  = "ordersaga_outbox_pending_messages"
)

// costMetrics are the metric families a stack's /metrics served.
type costMetrics map[string]*dto.MetricFamily

// scrapeCostMetrics reads the /metrics of the stack at base.
func scrapeCostMetrics(ctx context.Context, hc *http.Client, base string) (costMetrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s/metrics: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("GET %s/metrics: HTTP %d", base, resp.StatusCode)
	}
	return parseCostMetrics(resp.Body)
}

// parseCostMetrics parses the Prometheus text format.
func parseCostMetrics(r io.Reader) (costMetrics, error) {
	var p expfmt.TextParser
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parsing metrics: %w", err)
	}
	return costMetrics(mfs), nil
}

// has reports whether the metric is served.
func (m costMetrics) has(name string) bool { return m[name] != nil }

// sum returns the sum of the metric's series' values (counters, gauges or
// untyped).
func (m costMetrics) sum(name string) float64 {
	var s float64
	for _, v := range m.by(name, "") {
		s += v
	}
	return s
}

// by returns the metric's values summed by the value of label (all under
// "" when label is "").
func (m costMetrics) by(name, label string) map[string]float64 {
	out := map[string]float64{}
	mf := m[name]
	if mf == nil {
		return out
	}
	for _, s := range mf.GetMetric() {
		key := ""
		if label != "" {
			for _, lp := range s.GetLabel() {
				if lp.GetName() == label {
					key = lp.GetValue()
				}
			}
		}
		var v float64
		switch {
		case s.GetCounter() != nil:
			v = s.GetCounter().GetValue()
		case s.GetGauge() != nil:
			v = s.GetGauge().GetValue()
		case s.GetUntyped() != nil:
			v = s.GetUntyped().GetValue()
		}
		out[key] += v
	}
	return out
}

// costPG reads the PostgreSQL server's statistics of the in-process
// stacks' databases.
type costPG struct {
	db *sqldb.DB
}

// openCostPG connects to the server at url.
func openCostPG(ctx context.Context, url string) (*costPG, error) {
	db, err := sqldb.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	return &costPG{db: db}, nil
}

func (p *costPG) close() { _ = p.db.Close() }

// xactCommits returns pg_stat_database.xact_commit of the named databases
// (transactions committed, read-only ones too), by name.
func (p *costPG) xactCommits(ctx context.Context, names []string) (map[string]float64, error) {
	return p.query(ctx, `SELECT datname, xact_commit FROM pg_stat_database WHERE datname = ANY($1)`, names)
}

// sizes returns pg_database_size of the named databases, by name.
func (p *costPG) sizes(ctx context.Context, names []string) (map[string]float64, error) {
	return p.query(ctx, `SELECT datname, pg_database_size(datname) FROM pg_database WHERE datname = ANY($1)`, names)
}

func (p *costPG) query(ctx context.Context, q string, names []string) (map[string]float64, error) {
	rows, err := p.db.QueryContext(ctx, q, names)
	if err != nil {
		return nil, fmt.Errorf("reading the statistics of %v: %w", names, err)
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var (
			name string
			v    int64
		)
		if err := rows.Scan(&name, &v); err != nil {
			return nil, fmt.Errorf("reading the statistics of %v: %w", names, err)
		}
		out[name] = float64(v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the statistics of %v: %w", names, err)
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("PostgreSQL has no database %s", n)
		}
	}
	return out, nil
}

// costServiceDatabases names the PostgreSQL databases of a variant's
// services, as the rig creates them (<prefix>_<variant>_<role>), by role.
func costServiceDatabases(prefix, variant string) map[string]string {
	out := map[string]string{}
	for _, r := range hosted.AllRoles() {
		out[string(r)] = prefix + "_" + variant + "_" + string(r)
	}
	return out
}

// costTemporalDatabases names the embedded Temporal server's PostgreSQL
// databases, as the rig creates them.
func costTemporalDatabases(prefix string) []string {
	return []string{prefix + "_temporal", prefix + "_temporal_visibility"}
}

// costPartition is a partition of a topic.
type costPartition struct {
	Topic     string
	Partition int
}

// costKafkaEnds returns the end offset (high-water mark) of every
// partition of every topic on the brokers, but the broker's own (named
// __…).
func costKafkaEnds(ctx context.Context, brokers []string) (map[costPartition]int64, error) {
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	meta, err := c.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return nil, fmt.Errorf("listing the broker's topics: %w", err)
	}
	reqs := map[string][]kafka.OffsetRequest{}
	for _, t := range meta.Topics {
		if t.Error != nil || strings.HasPrefix(t.Name, "__") {
			continue
		}
		for _, p := range t.Partitions {
			reqs[t.Name] = append(reqs[t.Name], kafka.LastOffsetOf(p.ID))
		}
	}
	out := map[costPartition]int64{}
	if len(reqs) == 0 {
		return out, nil
	}
	offs, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: reqs})
	if err != nil {
		return nil, fmt.Errorf("reading the topics' offsets: %w", err)
	}
	for topic, ps := range offs.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return nil, fmt.Errorf("offsets of %s/%d: %w", topic, p.Partition, p.Error)
			}
			out[costPartition{topic, p.Partition}] = p.LastOffset
		}
	}
	return out, nil
}

// costKafkaTraffic is what the broker's topics took in between two reads
// of their offsets.
type costKafkaTraffic struct {
	Messages int64 `json:"messages"`
	// Bytes are the messages' keys, values and headers (keys and values),
	// without the protocol's framing.
	Bytes int64 `json:"bytes"`
	// ByTopic are the messages by topic.
	ByTopic map[string]int64 `json:"by_topic"`
}

// costKafkaRead reads the messages every partition took in between before
// and after (offsets of costKafkaEnds) and counts them and their bytes.
func costKafkaRead(ctx context.Context, brokers []string, before, after map[costPartition]int64) (costKafkaTraffic, error) {
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	out := costKafkaTraffic{ByTopic: map[string]int64{}}
	for p, end := range after {
		start := before[p]
		if end <= start {
			continue
		}
		out.Messages += end - start
		out.ByTopic[p.Topic] += end - start
		for off := start; off < end; {
			resp, err := c.Fetch(ctx, &kafka.FetchRequest{Topic: p.Topic, Partition: p.Partition, Offset: off,
				MinBytes: 1, MaxBytes: 16 << 20, MaxWait: time.Second})
			if err != nil {
				return out, fmt.Errorf("reading %s/%d from %d: %w", p.Topic, p.Partition, off, err)
			}
			if resp.Error != nil {
				return out, fmt.Errorf("reading %s/%d from %d: %w", p.Topic, p.Partition, off, resp.Error)
			}
			next := off
			for {
				r, err := resp.Records.ReadRecord()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return out, fmt.Errorf("reading %s/%d: %w", p.Topic, p.Partition, err)
				}
				if r.Offset < off || r.Offset >= end {
					continue
				}
				out.Bytes += int64(costBytesLen(r.Key) + costBytesLen(r.Value))
				for _, h := range r.Headers {
					out.Bytes += int64(len(h.Key) + len(h.Value))
				}
				next = r.Offset + 1
			}
			if next == off {
				return out, fmt.Errorf("reading %s/%d: no message at offset %d (of %d to %d)", p.Topic, p.Partition, off, start, end)
			}
			off = next
		}
	}
	return out, nil
}

// costBytesLen returns the length of a record's key or value (0 for none).
func costBytesLen(b kafka.Bytes) int {
	if b == nil {
		return 0
	}
	return b.Len()
}

// costHistory is what Temporal keeps of a run's sagas.
type costHistory struct {
	Sagas int `json:"sagas"`
	// Events and Bytes are the sagas' history events and the bytes of
	// their histories, summed.
	Events int64 `json:"events"`
	Bytes  int64 `json:"bytes"`
}

// dialCostTemporal connects a client to the Temporal frontend.
func dialCostTemporal(ctx context.Context, hostPort, namespace string) (client.Client, error) {
	c, err := client.DialContext(ctx, client.Options{HostPort: hostPort, Namespace: namespace,
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return nil, fmt.Errorf("connecting to Temporal at %s: %w", hostPort, err)
	}
	return c, nil
}

// costHistories describes the sagas of the orders, waiting (until ctx
// ends) for those still running to close, and sums their histories.
func costHistories(ctx context.Context, c client.Client, orderIDs []string) (costHistory, error) {
	var (
		mu   sync.Mutex
		out  = costHistory{Sagas: len(orderIDs)}
		errs []error
		work = make(chan string)
		wg   sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for id := range work {
				events, bytes, err := costDescribeClosed(ctx, c, workflow.WorkflowID(id))
				mu.Lock()
				out.Events += events
				out.Bytes += bytes
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	for _, id := range orderIDs {
		work <- id
	}
	close(work)
	wg.Wait()
	if len(errs) > 0 {
		return out, fmt.Errorf("%d of %d sagas: %w", len(errs), len(orderIDs), errs[0])
	}
	return out, nil
}

// costDescribeClosed returns the history length and size of a workflow
// once it closed.
func costDescribeClosed(ctx context.Context, c client.Client, id string) (events, bytes int64, err error) {
	for {
		d, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			return 0, 0, fmt.Errorf("describing %s: %w", id, err)
		}
		info := d.GetWorkflowExecutionInfo()
		if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return info.GetHistoryLength(), info.GetHistorySizeBytes(), nil
		}
		select {
		case <-ctx.Done():
			return 0, 0, fmt.Errorf("%s still running: %w", id, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
