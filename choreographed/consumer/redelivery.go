package consumer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/broker"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/shared/domain"
)

// Redelivery: a message whose quick retries (Retry) failed with a fault is
// not left to block its partition, nor parked for a person: Park publishes
// it to a redelivery topic of the service (events.Topics.Redelivery), one
// per delay (by default 1 s, 5 s, then every 30 s for the 2-minute step
// deadline: events.RedeliveryDelays), and the service's
// Redeliverer hands it to the same handler once it falls due. A step's
// action that still fails once the step deadline has passed since its
// first failure is handed over in give-up mode (GiveUp): the service then
// refuses the step with domain.ReasonStepUnavailable instead of running it.
// A message that fails permanently because the order's data is invalid is
// handed over at once in give-up mode with domain.ReasonRejected (so does
// an action's trigger that cannot be decoded: its order is known). Other
// handlers (compensations, completions, the order service's) ignore
// give-up mode: they are redelivered for as long as it takes. Only what
// can never be handled (undecodable bytes, an unknown schema version, a
// permanent failure even in give-up mode) goes on to DeadLetter.

type giveUpKey struct{}

// WithGiveUp returns ctx asking the handler of a step's action to give the
// step up with reason instead of running it (see GiveUp).
func WithGiveUp(ctx context.Context, reason domain.FailureReason) context.Context {
	return context.WithValue(ctx, giveUpKey{}, reason)
}

// GiveUp reports whether the handler must give a step's action up, and
// with which reason: the step's deadline has passed while it kept failing
// (domain.ReasonStepUnavailable), or it found the order's data invalid
// (domain.ReasonRejected). A handler that gives up must leave the step
// without effect (a tombstone, so a late action is a no-op) and emit the
// step's refusal with the reason.
func GiveUp(ctx context.Context) (domain.FailureReason, bool) {
	r, ok := ctx.Value(giveUpKey{}).(domain.FailureReason)
	return r, ok
}

// RedeliveryConfig configures Park.
type RedeliveryConfig struct {
	Publisher Publisher
	Topics    events.Topics
	Service   events.Service // whose redelivery topics
	Group     string         // the consumer group, recorded in each parked message
	// Delays are the waits before the first, second and every later
	// redelivery (events.RedeliveryLevels of them).
	Delays []time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

func (c RedeliveryConfig) withDefaults() RedeliveryConfig {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Park parks on the service's redelivery topics the messages the handler
// failed with a fault, and hands a message that failed because the order's
// data is invalid back to the handler in give-up mode with
// domain.ReasonRejected. It returns, for DeadLetter to park for good, only
// what can never be handled. When publishing fails it returns the error
// and the batch is handled again later.
func Park(cfg RedeliveryConfig) Middleware {
	cfg = cfg.withDefaults()
	if len(cfg.Delays) != events.RedeliveryLevels {
		panic(fmt.Sprintf("consumer.Park: %d redelivery delays, want %d", len(cfg.Delays), events.RedeliveryLevels))
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
			var (
				dead   Failures
				parked []kafka.Message
			)
			for _, f := range failed {
				m := f.Message
				if m.Event == nil {
					dead = append(dead, f)
					continue
				}
				// A permanent failure (invalid data, a payload that does
				// not decode, a newer schema) of an event whose order is
				// known: a step's action gives the step up as rejected, so
				// the order still ends; other handlers cannot, and the
				// event is dead-lettered.
				if IsPermanent(f.Err) {
					if _, givingUp := GiveUp(ctx); !givingUp {
						gerr := next(WithGiveUp(ctx, domain.ReasonRejected), []*Message{m})
						if gerr == nil {
							recorderFrom(ctx).gaveUp(m.Event.Type, domain.ReasonRejected)
							cfg.Logger.WarnContext(events.ContextWithTrace(ctx, m.Headers), "step rejected: the order's data is invalid",
								"group", cfg.Group, "event_type", m.Event.Type, "order_id", m.Event.OrderID, "error", f.Err)
							continue
						}
						f.Err = errors.Join(f.Err, fmt.Errorf("giving the step up: %w", gerr))
					}
					if IsPermanent(f.Err) {
						dead = append(dead, f)
						continue
					}
				}
				pm, delay := cfg.park(m, f)
				parked = append(parked, pm)
				recorderFrom(ctx).redelivered(m.Event.Type, delay)
				cfg.Logger.WarnContext(events.ContextWithTrace(ctx, m.Headers), "handling failed; parked for redelivery",
					"group", cfg.Group, "event_type", m.Event.Type, "event_id", m.Event.EventID, "order_id", m.Event.OrderID,
					"redeliver_in", delay, "attempts", f.Attempts, "error", f.Err)
			}
			if len(parked) > 0 {
				if err := cfg.Publisher.Publish(ctx, parked...); err != nil {
					return fmt.Errorf("parking %d messages for redelivery: %w (after: %v)", len(parked), err, failed)
				}
			}
			if len(dead) > 0 {
				return dead
			}
			return nil
		}
	}
}

// park returns the redelivery message of a failed message and its delay:
// the original key, value and headers, plus the redelivery headers.
func (cfg RedeliveryConfig) park(m *Message, f Failure) (kafka.Message, time.Duration) {
	attempt := 1
	if n, err := strconv.Atoi(events.Header(m.Headers, events.HeaderRetryAttempt)); err == nil && n > 0 {
		attempt = n + 1
	}
	level := min(attempt, len(cfg.Delays))
	delay := cfg.Delays[level-1]
	now := cfg.Now().UTC()
	first, ok := headerTime(m.Headers, events.HeaderRetryFirstFailedAt)
	if !ok {
		first = now
		if !f.Since.IsZero() {
			first = f.Since.UTC()
		}
	}
	original := events.Header(m.Headers, events.HeaderRetryOriginalTopic)
	if original == "" {
		original = m.Topic
	}
	h := append([]kafka.Header(nil), m.Headers...)
	h = events.SetHeader(h, events.HeaderRetryAttempt, strconv.Itoa(attempt))
	h = events.SetHeader(h, events.HeaderRetryDueAt, now.Add(delay).Format(time.RFC3339Nano))
	h = events.SetHeader(h, events.HeaderRetryFirstFailedAt, first.Format(time.RFC3339Nano))
	h = events.SetHeader(h, events.HeaderRetryLastError, f.Err.Error())
	h = events.SetHeader(h, events.HeaderRetryOriginalTopic, original)
	h = events.SetHeader(h, events.HeaderRetryGroup, cfg.Group)
	return kafka.Message{Topic: cfg.Topics.Redelivery(cfg.Service, level), Key: m.Key, Value: m.Value, Headers: h}, delay
}

// headerTime reads an RFC 3339 time from a header.
func headerTime(headers []kafka.Header, key string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, events.Header(headers, key))
	return t, err == nil
}

// RedelivererConfig configures a Redeliverer.
type RedelivererConfig struct {
	Brokers []string
	// Group is the service's consumer group; the redeliverer reads in a
	// group of its own, Group + ".redelivery".
	Group string
	// Topics are the service's redelivery topics.
	Topics []string
	// StepDeadline is how long a step's action may keep failing before it
	// is handed over in give-up mode (saga.Policy.StepDeadline).
	StepDeadline time.Duration
	// SessionTimeout is the redeliverer's group member's, as
	// Config.SessionTimeout.
	SessionTimeout time.Duration
	Now            func() time.Time
	Logger         *slog.Logger
	Metrics        *Metrics // nil: no metrics
}

// Redeliverer hands the messages parked on a service's redelivery topics
// back to the service's handler once they fall due.
type Redeliverer struct {
	cfg     RedelivererConfig
	reader  *kafka.Reader
	handler Handler
	log     *slog.Logger
}

// NewRedeliverer returns the redeliverer of a service, handing messages to
// h (the service's handler, Park and DeadLetter included).
func NewRedeliverer(cfg RedelivererConfig, h Handler) (*Redeliverer, error) {
	if len(cfg.Brokers) == 0 || cfg.Group == "" || len(cfg.Topics) == 0 || h == nil || cfg.StepDeadline <= 0 {
		return nil, errors.New("new redeliverer: brokers, group, topics, step deadline and handler are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	group := cfg.Group + ".redelivery"
	log := cfg.Logger.With("component", "redeliverer", "group", group)
	rc := broker.ReaderConfig(cfg.Brokers, group, cfg.Topics, cfg.SessionTimeout, log)
	if err := rc.Validate(); err != nil {
		return nil, fmt.Errorf("new redeliverer %s: %w", group, err)
	}
	return &Redeliverer{cfg: cfg, reader: kafka.NewReader(rc), handler: h, log: log}, nil
}

// Run fetches parked messages and hands each to the handler when it falls
// due, until ctx ends; then it returns nil. The messages of one topic
// partition fall due in the order they were parked (one delay per topic),
// so each partition is a queue of its own, and one partition's wait holds
// up no other. A message's offset is committed once the handler is done
// with it (handled, parked again, or dead-lettered).
func (r *Redeliverer) Run(ctx context.Context) error {
	ctx = withRecorder(ctx, &recorder{m: r.cfg.Metrics, group: r.cfg.Group})
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queues := map[string]chan kafka.Message{}
	backoff := time.Duration(0)
	for {
		km, err := r.reader.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return nil
			}
			backoff = min(max(2*backoff, 50*time.Millisecond), 5*time.Second)
			r.log.Warn("fetching failed; retrying", "error", err, "retry_in", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			continue
		}
		backoff = 0
		key := km.Topic + "/" + strconv.Itoa(km.Partition)
		q, ok := queues[key]
		if !ok {
			q = make(chan kafka.Message, 1024)
			queues[key] = q
			wg.Go(func() { r.drain(ctx, q) })
		}
		r.cfg.Metrics.waiting(r.cfg.Group, 1)
		select {
		case q <- km:
		case <-ctx.Done():
			return nil
		}
	}
}

// drain hands one partition's messages over as they fall due.
func (r *Redeliverer) drain(ctx context.Context, q <-chan kafka.Message) {
	for {
		var km kafka.Message
		select {
		case <-ctx.Done():
			return
		case km = <-q:
		}
		if due, ok := headerTime(km.Headers, events.HeaderRetryDueAt); ok {
			if !sleep(ctx, due.Sub(r.cfg.Now())) {
				return
			}
		}
		if !r.hand(ctx, km) {
			return
		}
		r.cfg.Metrics.waiting(r.cfg.Group, -1)
		if err := r.reader.CommitMessages(ctx, km); err != nil && ctx.Err() == nil {
			r.log.Warn("committing a redelivered message failed", "topic", km.Topic, "partition", km.Partition, "offset", km.Offset, "error", err)
		}
	}
}

// hand runs the handler on a due message until it is done with it; false
// when ctx ended first. A step's action past its deadline is handed over
// in give-up mode.
func (r *Redeliverer) hand(ctx context.Context, km kafka.Message) bool {
	m := NewMessage(km)
	hctx := ctx
	if r.pastDeadline(km.Headers) {
		hctx = WithGiveUp(ctx, domain.ReasonStepUnavailable)
	}
	backoff := time.Duration(0)
	for {
		err := r.handler(hctx, []*Message{m})
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), 10*time.Second)
		r.log.Error("redelivering a message failed; trying again", "topic", km.Topic, "offset", km.Offset, "error", err, "retry_in", backoff)
		if !sleep(ctx, backoff) {
			return false
		}
	}
}

// pastDeadline reports whether a parked message's step has kept failing
// for its deadline: the deadline has passed since its first failure, and
// it has been parked at every redelivery level. The levels' delays are
// fractions of the deadline (events.RedeliveryDelays), so the second
// condition never delays a give-up; it keeps a wall-clock step on this or
// the parking host from giving a step up that has had little time to
// recover.
func (r *Redeliverer) pastDeadline(headers []kafka.Header) bool {
	first, ok := headerTime(headers, events.HeaderRetryFirstFailedAt)
	if !ok || r.cfg.Now().Sub(first) < r.cfg.StepDeadline {
		return false
	}
	attempt, err := strconv.Atoi(events.Header(headers, events.HeaderRetryAttempt))
	return err == nil && attempt >= events.RedeliveryLevels
}

// Close leaves the group and closes the reader. Call it after Run returned.
func (r *Redeliverer) Close() error {
	if err := r.reader.Close(); err != nil {
		return fmt.Errorf("closing the redeliverer of %s: %w", r.cfg.Group, err)
	}
	return nil
}
