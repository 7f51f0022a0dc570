package consumer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/broker"
)

// DefaultMaxBatch bounds how many messages a consumer hands to its handler
// at once when no Config.MaxBatch is set.
const DefaultMaxBatch = 100

// Config configures a Consumer.
type Config struct {
	Brokers []string
	Group   string   // the consumer group, one per service
	Topics  []string // the topics the service reacts to
	// MaxBatch bounds the messages handled together (DefaultMaxBatch). A
	// batch is what the reader already fetched when the previous one was
	// done, so under low load each message goes alone, at once.
	MaxBatch int
	// SessionTimeout is how long the broker waits for a heartbeat of this
	// member before it gives the member's partitions to the others
	// (broker.DefaultSessionTimeout when 0).
	SessionTimeout time.Duration
	Logger         *slog.Logger
	Metrics        *Metrics // nil: no metrics
}

// Consumer is one member of a service's consumer group.
type Consumer struct {
	cfg     Config
	reader  *kafka.Reader
	handler Handler
	log     *slog.Logger
}

// New returns a consumer that hands what it reads to h. It joins the group
// when Run starts.
func New(cfg Config, h Handler) (*Consumer, error) {
	if len(cfg.Brokers) == 0 || cfg.Group == "" || len(cfg.Topics) == 0 || h == nil {
		return nil, errors.New("new consumer: brokers, group, topics and handler are required")
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	log := cfg.Logger.With("component", "consumer", "group", cfg.Group)
	rc := broker.ReaderConfig(cfg.Brokers, cfg.Group, cfg.Topics, cfg.SessionTimeout, log)
	if err := rc.Validate(); err != nil {
		return nil, fmt.Errorf("new consumer %s: %w", cfg.Group, err)
	}
	c := &Consumer{cfg: cfg, reader: kafka.NewReader(rc), handler: h, log: log}
	cfg.Metrics.watch(cfg.Group, c.reader)
	return c, nil
}

// Run reads, handles and commits until ctx ends, then returns nil. A batch
// whose handler fails (which the middleware makes rare: only when even
// dead-lettering failed) is handled again after a backoff; its offsets are
// committed only once it succeeded, so nothing is skipped.
func (c *Consumer) Run(ctx context.Context) error {
	ctx = withRecorder(ctx, &recorder{m: c.cfg.Metrics, group: c.cfg.Group})
	fetchCtx, cancel := context.WithCancel(ctx)
	fetched := make(chan kafka.Message, c.cfg.MaxBatch)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(fetched)
		c.fetch(fetchCtx, fetched)
	}()
	defer func() {
		cancel()
		<-done
	}()
	for {
		var batch []kafka.Message
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-fetched:
			if !ok {
				return nil
			}
			batch = append(batch, m)
		}
	fill:
		for len(batch) < c.cfg.MaxBatch {
			select {
			case m, ok := <-fetched:
				if !ok {
					break fill
				}
				batch = append(batch, m)
			default:
				break fill
			}
		}
		if err := c.handle(ctx, batch); err != nil {
			return nil // ctx ended; the batch is delivered again after a restart
		}
	}
}

// fetch feeds fetched messages into out until ctx ends or the reader closes.
func (c *Consumer) fetch(ctx context.Context, out chan<- kafka.Message) {
	backoff := time.Duration(0)
	for {
		m, err := c.reader.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return
			}
			backoff = min(max(2*backoff, 50*time.Millisecond), 5*time.Second)
			c.log.Warn("fetching failed; retrying", "error", err, "retry_in", backoff)
			if !sleep(ctx, backoff) {
				return
			}
			continue
		}
		backoff = 0
		select {
		case out <- m:
		case <-ctx.Done():
			return
		}
	}
}

// handle runs the handler on a batch until it succeeds, then commits the
// batch's offsets. It returns an error only when ctx ended first.
func (c *Consumer) handle(ctx context.Context, kms []kafka.Message) error {
	start := time.Now()
	msgs := make([]*Message, len(kms))
	for i, km := range kms {
		msgs[i] = NewMessage(km)
	}
	backoff := time.Duration(0)
	for {
		err := c.handler(ctx, msgs)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), 10*time.Second)
		c.log.Error("handling a batch failed; handling it again", "size", len(msgs), "error", err, "retry_in", backoff)
		if !sleep(ctx, backoff) {
			return ctx.Err()
		}
	}
	// The work is durable: hand the offsets to the reader even if ctx is
	// ending now, so a restart does not deliver the batch again for
	// nothing. The reader commits them in the background (see package
	// broker), and when it closes.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := c.reader.CommitMessages(cctx, kms...); err != nil {
		c.log.Warn("committing offsets failed; the batch will be delivered again", "size", len(kms), "error", err)
	}
	if m := c.cfg.Metrics; m != nil {
		m.batches.WithLabelValues(c.cfg.Group).Observe(time.Since(start).Seconds())
		m.sizes.WithLabelValues(c.cfg.Group).Observe(float64(len(kms)))
	}
	return nil
}

// Close leaves the group and closes the reader. Call it after Run returned.
func (c *Consumer) Close() error {
	c.cfg.Metrics.unwatch(c.cfg.Group, c.reader)
	if err := c.reader.Close(); err != nil {
		return fmt.Errorf("closing consumer %s: %w", c.cfg.Group, err)
	}
	return nil
}
