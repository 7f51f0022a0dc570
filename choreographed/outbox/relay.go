package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Publisher publishes messages and returns once the broker acknowledged all
// of them. An error means some may have been published and some not.
type Publisher interface {
	Publish(ctx context.Context, msgs ...kafka.Message) error
}

// Relay defaults.
const (
	DefaultBatchSize    = 200
	DefaultPollInterval = 500 * time.Millisecond
)

// RelayConfig configures a Relay.
type RelayConfig struct {
	Service   string // names the relay in logs and metrics
	DB        *sqldb.DB
	Outbox    *Outbox // the outbox whose commits wake the relay
	Publisher Publisher
	// BatchSize bounds the messages published in one request
	// (DefaultBatchSize). Under load, what accumulated while a batch was in
	// flight goes out in the next one.
	BatchSize int
	// PollInterval is how often the relay looks for rows without being
	// woken (DefaultPollInterval): rows committed by another process, or
	// left by a crash.
	PollInterval time.Duration
	Logger       *slog.Logger
	Metrics      *Metrics // nil: no metrics
}

// Relay publishes one database's outbox. Run one relay per database: two
// would publish the same rows twice (harmless for consumers, but wasteful).
type Relay struct {
	cfg RelayConfig
}

// NewRelay returns a relay.
func NewRelay(cfg RelayConfig) *Relay {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = cfg.Logger.With("component", "outbox-relay", "service", cfg.Service)
	return &Relay{cfg: cfg}
}

// Run publishes until ctx ends: at once (rows left from before a restart),
// then whenever a commit wakes it or the poll interval passed. A failed
// publish is retried with backoff; it never loses a row. Run returns nil
// when ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	poll := time.NewTicker(r.cfg.PollInterval)
	defer poll.Stop()
	backoff := time.Duration(0)
	for {
		_, err := r.Flush(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			backoff = min(max(2*backoff, 50*time.Millisecond), 5*time.Second)
			r.cfg.Logger.Warn("publishing the outbox failed; retrying", "error", err, "retry_in", backoff)
			r.cfg.Metrics.failed(r.cfg.Service)
			if !sleep(ctx, backoff) {
				return nil
			}
			continue
		}
		backoff = 0
		select {
		case <-ctx.Done():
			return nil
		case <-r.cfg.Outbox.wake:
		case <-poll.C:
		}
	}
}

// Flush publishes every row waiting now, in batches, and returns how many it
// published.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := r.publishBatch(ctx)
		total += n
		if err != nil || n < r.cfg.BatchSize {
			return total, err
		}
	}
}

// publishBatch publishes the oldest rows, up to a batch, and deletes them
// once acknowledged.
func (r *Relay) publishBatch(ctx context.Context) (int, error) {
	rows, err := r.cfg.DB.QueryContext(ctx,
		"SELECT id, topic, msg_key, msg_value, headers, created_at FROM outbox ORDER BY id LIMIT $1", r.cfg.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("reading the outbox of %s: %w", r.cfg.Service, err)
	}
	var (
		ids     []any
		msgs    []kafka.Message
		created []int64
	)
	for rows.Next() {
		var (
			id      int64
			m       kafka.Message
			headers string
			at      int64
		)
		if err := rows.Scan(&id, &m.Topic, &m.Key, &m.Value, &headers, &at); err != nil {
			rows.Close()
			return 0, fmt.Errorf("reading the outbox of %s: %w", r.cfg.Service, err)
		}
		var hs []header
		if err := json.Unmarshal([]byte(headers), &hs); err != nil {
			rows.Close()
			return 0, fmt.Errorf("outbox row %d of %s: bad headers: %w", id, r.cfg.Service, err)
		}
		for _, h := range hs {
			m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: h.Value})
		}
		ids = append(ids, id)
		msgs = append(msgs, m)
		created = append(created, at)
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("reading the outbox of %s: %w", r.cfg.Service, err)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reading the outbox of %s: %w", r.cfg.Service, err)
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	if err := r.cfg.Publisher.Publish(ctx, msgs...); err != nil {
		return 0, fmt.Errorf("publishing %d outbox messages of %s: %w", len(msgs), r.cfg.Service, err)
	}
	var q strings.Builder
	q.WriteString("DELETE FROM outbox WHERE id IN (")
	for i := range ids {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "$%d", i+1)
	}
	q.WriteString(")")
	// Deleting is not bound to ctx: the messages are published, and
	// forgetting that would only publish them again.
	delCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := r.cfg.DB.ExecContext(delCtx, q.String(), ids...); err != nil {
		return 0, fmt.Errorf("deleting %d published outbox rows of %s: %w", len(ids), r.cfg.Service, err)
	}
	r.cfg.Metrics.published(r.cfg.Service, created, time.Now())
	return len(msgs), nil
}

// sleep waits for d or until ctx ends, and reports whether ctx is still
// live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
