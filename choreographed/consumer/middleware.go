package consumer

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/events"
)

// Recover turns a panic of the handler into an error, which Retry treats as
// transient and DeadLetter finally parks.
func Recover() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, batch []*Message) (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("handler panicked: %v\n%s", p, debug.Stack())
				}
			}()
			return next(ctx, batch)
		}
	}
}

// RetryPolicy bounds the retries of one message.
type RetryPolicy struct {
	// Attempts is how often a message is tried, the first time included
	// (default 15). With transient faults at a 30% rate, 15 attempts fail
	// all together about once in 70 million messages.
	Attempts int
	// MinBackoff and MaxBackoff bound the wait between attempts, which
	// doubles from MinBackoff (default 10 ms) up to MaxBackoff (default
	// 1 s), with jitter.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxElapsed, when set, also ends the retries once that long has
	// passed since the first attempt.
	MaxElapsed time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = 15
	}
	if p.MinBackoff <= 0 {
		p.MinBackoff = 10 * time.Millisecond
	}
	if p.MaxBackoff < p.MinBackoff {
		p.MaxBackoff = max(time.Second, p.MinBackoff)
	}
	return p
}

// backoff returns the wait after the given failed attempt (1-based).
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.MinBackoff
	for i := 1; i < attempt && d < p.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// Retry re-runs failed work. A batch of several messages is tried once as a
// whole; when that fails, each message is run alone, so one bad message
// neither fails nor delays the others' transaction. A message alone is
// retried with backoff until it succeeds, fails permanently (IsPermanent),
// or used up the policy's attempts. The error returned is Failures, naming
// each message that could not be handled; ctx's error when it ended.
func Retry(p RetryPolicy, log *slog.Logger) Middleware {
	p = p.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(next Handler) Handler {
		single := func(ctx context.Context, m *Message) (int, error) {
			for attempt := 1; ; attempt++ {
				if attempt == 1 {
					*sinceOf(ctx) = time.Now()
				}
				err := next(ctx, []*Message{m})
				if err == nil {
					return attempt, nil
				}
				if ctx.Err() != nil {
					return attempt, ctx.Err()
				}
				if IsPermanent(err) || attempt >= p.Attempts || p.MaxElapsed > 0 && time.Since(*sinceOf(ctx)) >= p.MaxElapsed {
					return attempt, err
				}
				d := p.backoff(attempt)
				log.DebugContext(events.ContextWithTrace(ctx, m.Headers), "handling failed; retrying",
					append(orderArgs(m), "topic", m.Topic, "partition", m.Partition, "offset", m.Offset,
						"attempt", attempt, "retry_in", d, "error", err)...)
				recorderFrom(ctx).retried()
				if !sleep(ctx, d) {
					return attempt, ctx.Err()
				}
			}
		}
		return func(ctx context.Context, batch []*Message) error {
			if len(batch) > 1 {
				err := next(ctx, batch)
				if err == nil || ctx.Err() != nil {
					return err
				}
				log.Debug("batch failed; handling its messages one by one", "size", len(batch), "error", err)
			}
			var failed Failures
			for _, m := range batch {
				var since time.Time
				attempts, err := single(context.WithValue(ctx, sinceKey{}, &since), m)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if err != nil {
					failed = append(failed, Failure{Message: m, Err: err, Attempts: attempts, Since: since})
				}
			}
			if len(failed) > 0 {
				return failed
			}
			return nil
		}
	}
}

type sinceKey struct{}

// sinceOf returns where Retry keeps when a message's first attempt started.
func sinceOf(ctx context.Context) *time.Time {
	if p, ok := ctx.Value(sinceKey{}).(*time.Time); ok {
		return p
	}
	return new(time.Time)
}

// DeadLetterConfig configures the DeadLetter middleware.
type DeadLetterConfig struct {
	Publisher Publisher
	Topic     string // the dead-letter topic
	Group     string // the consumer group, recorded in each dead letter
	Now       func() time.Time
	Logger    *slog.Logger
}

// Publisher publishes messages and returns once the broker acknowledged all
// of them.
type Publisher interface {
	Publish(ctx context.Context, msgs ...kafka.Message) error
}

// DeadLetter parks the messages the handler could not handle on the
// dead-letter topic: the original key, value and headers, plus headers that
// say why (HeaderDLQReason), where the message came from (topic, partition,
// offset), which consumer group gave up, when and after how many attempts.
// The batch then counts as handled, so the partition moves on. When ctx
// ended, or publishing the dead letters failed, it returns the error and the
// batch is handled again later.
func DeadLetter(cfg DeadLetterConfig) Middleware {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return func(next Handler) Handler {
		return func(ctx context.Context, batch []*Message) error {
			err := next(ctx, batch)
			if err == nil || ctx.Err() != nil {
				return err
			}
			failed, ok := failuresOf(err, batch)
			if !ok {
				return err // cannot tell which message failed; handle the batch again
			}
			letters := make([]kafka.Message, len(failed))
			at := cfg.Now().UTC().Format(time.RFC3339Nano)
			for i, f := range failed {
				m := f.Message
				h := append([]kafka.Header(nil), m.Headers...)
				h = events.SetHeader(h, events.HeaderDLQReason, f.Err.Error())
				h = events.SetHeader(h, events.HeaderDLQOriginalTopic, m.Topic)
				h = events.SetHeader(h, events.HeaderDLQOriginalPartition, strconv.Itoa(m.Partition))
				h = events.SetHeader(h, events.HeaderDLQOriginalOffset, strconv.FormatInt(m.Offset, 10))
				h = events.SetHeader(h, events.HeaderDLQConsumerGroup, cfg.Group)
				h = events.SetHeader(h, events.HeaderDLQFailedAt, at)
				h = events.SetHeader(h, events.HeaderDLQAttempts, strconv.Itoa(f.Attempts))
				letters[i] = kafka.Message{Topic: cfg.Topic, Key: m.Key, Value: m.Value, Headers: h}
			}
			if err := cfg.Publisher.Publish(ctx, letters...); err != nil {
				return fmt.Errorf("dead-lettering %d messages: %w (after: %v)", len(letters), err, failed)
			}
			rec := recorderFrom(ctx)
			for _, f := range failed {
				m := f.Message
				args := []any{"group", cfg.Group, "topic", m.Topic, "partition", m.Partition, "offset", m.Offset,
					"attempts", f.Attempts, "error", f.Err}
				t := events.Type("undecodable")
				reason := DeadLetterUndecodable
				if m.Event != nil {
					t = m.Event.Type
					reason = DeadLetterRetriesExhausted
					if IsPermanent(f.Err) {
						reason = DeadLetterPermanent
					}
					args = append(args, "event_type", m.Event.Type, "event_id", m.Event.EventID, "order_id", m.Event.OrderID)
				}
				cfg.Logger.ErrorContext(events.ContextWithTrace(ctx, m.Headers), "message dead-lettered", args...)
				rec.deadLettered(t, reason)
			}
			return nil
		}
	}
}

// orderArgs returns the log attributes naming the order a message is
// about: none when it cannot be decoded.
func orderArgs(m *Message) []any {
	if m.Event == nil {
		return nil
	}
	return []any{"order_id", m.Event.OrderID}
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
