package orders

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/broker"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/orders"
)

// Retries watches every service's redelivery topics, where a consumer
// parks an event whose handling kept failing (see consumer.Park), and
// tells which steps of an order are being retried: the choreography's
// side of the failure model's "visible while it lasts". It keeps the
// latest parked attempt of each order's step in memory, and forgets it once
// the order's step has moved on. It implements httpapi.Retries.
type Retries struct {
	table      *events.Table
	deadLetter string // the dead-letter topic
	store      *orders.Store
	reader     *kafka.Reader
	log        *slog.Logger
	mu         sync.Mutex
	by         map[string]map[domain.StepName]domain.StepRetry // order id → step → retry
}

// retriesPruneInterval is how often Run forgets what has finished, and so
// how stale ordersaga_orders_retrying may be.
const retriesPruneInterval = 2 * time.Second

// NewRetries returns the watcher of the redelivery topics of topics'
// services for the saga of table t and the orders of store, reading in its
// own consumer group with the session timeout given (see
// broker.ReaderConfig).
func NewRetries(t *events.Table, store *orders.Store, brokers []string, topics events.Topics, group string, sessionTimeout time.Duration, log *slog.Logger) (*Retries, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	watched := []string{topics.DeadLetter()}
	for _, s := range events.ServicesOf(t.Saga()) {
		for level := 1; level <= events.RedeliveryLevels; level++ {
			watched = append(watched, topics.Redelivery(s, level))
		}
	}
	rc := broker.ReaderConfig(brokers, group, watched, sessionTimeout, log)
	if err := rc.Validate(); err != nil {
		return nil, fmt.Errorf("watching retries: %w", err)
	}
	return &Retries{table: t, deadLetter: topics.DeadLetter(), store: store, reader: kafka.NewReader(rc), log: log, by: map[string]map[domain.StepName]domain.StepRetry{}}, nil
}

// Run reads the parked events, and every retriesPruneInterval forgets
// those whose work has finished, until ctx ends; then it returns nil.
func (r *Retries) Run(ctx context.Context) error {
	go r.pruneEvery(ctx, retriesPruneInterval)
	for {
		m, err := r.reader.ReadMessage(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return nil
			}
			r.log.Warn("watching retries: reading failed", "error", err)
			t := time.NewTimer(time.Second)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			continue
		}
		r.observe(m)
	}
}

// observe records a parked or dead-lettered event: which step's work it
// is, and how often it failed. A dead letter whose order is known makes
// that order's step explicitly parked (domain.RetryingDeadLettered) until
// `ordersaga dlq replay` resumes it.
func (r *Retries) observe(m kafka.Message) {
	e, err := events.Decode(m.Value)
	if err != nil {
		return // not even its order is known
	}
	if m.Topic == r.deadLetter {
		r.observeDeadLetter(m, e)
		return
	}
	// The group that parked it names the service: <group prefix>.<service>.
	group := events.Header(m.Headers, events.HeaderRetryGroup)
	service := domain.StepName(group[strings.LastIndex(group, ".")+1:])
	step, ok := r.table.Saga().Step(service)
	if !ok {
		return // the order service's own work: not a step's
	}
	work := domain.RetryingCompensation
	switch e.Type {
	case r.table.ActionTrigger(step.Name):
		work = domain.RetryingAction
	case events.OrderCompleted:
		work = domain.RetryingCompletion
	}
	sr := domain.StepRetry{Step: step.Name, Work: work, LastError: events.Header(m.Headers, events.HeaderRetryLastError)}
	sr.Attempts, _ = strconv.Atoi(events.Header(m.Headers, events.HeaderRetryAttempt))
	if t, err := time.Parse(time.RFC3339Nano, events.Header(m.Headers, events.HeaderRetryFirstFailedAt)); err == nil {
		sr.Since = t
	}
	r.record(e.OrderID, sr)
}

// observeDeadLetter records a dead letter of a step's service.
func (r *Retries) observeDeadLetter(m kafka.Message, e *events.Envelope) {
	group := events.Header(m.Headers, events.HeaderDLQConsumerGroup)
	step, ok := r.table.Saga().Step(domain.StepName(group[strings.LastIndex(group, ".")+1:]))
	if !ok {
		return
	}
	sr := domain.StepRetry{Step: step.Name, Work: domain.RetryingDeadLettered, LastError: events.Header(m.Headers, events.HeaderDLQReason)}
	sr.Attempts, _ = strconv.Atoi(events.Header(m.Headers, events.HeaderDLQAttempts))
	if t, err := time.Parse(time.RFC3339Nano, events.Header(m.Headers, events.HeaderDLQFailedAt)); err == nil {
		sr.Since = t
	}
	r.record(e.OrderID, sr)
}

// record keeps sr as the latest retry of its step of the order.
func (r *Retries) record(orderID string, sr domain.StepRetry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.by[orderID] == nil {
		r.by[orderID] = map[domain.StepName]domain.StepRetry{}
	}
	r.by[orderID][sr.Step] = sr
}

// Retrying returns the order's steps whose work was parked for redelivery
// and has not visibly finished: an action whose step is still pending, a
// compensation whose step is not yet compensated or skipped. What has
// finished is forgotten, as is everything of a final order.
func (r *Retries) Retrying(_ context.Context, o *domain.Order) ([]domain.StepRetry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.open(o), nil
}

// open returns the order's open retries and forgets the others. Call it
// with r.mu held.
func (r *Retries) open(o *domain.Order) []domain.StepRetry {
	steps := r.by[o.ID()]
	if o.Status().Final() {
		delete(r.by, o.ID())
		return nil
	}
	var out []domain.StepRetry
	for name, sr := range steps {
		st, _ := o.Step(name)
		open := false
		switch sr.Work {
		case domain.RetryingAction:
			open = st.Status == domain.StepPending
		case domain.RetryingCompensation:
			open = st.Status != domain.StepCompensated && st.Status != domain.StepSkipped
		case domain.RetryingDeadLettered:
			open = true // until the order is final: a replay resumes it
		}
		if !open {
			delete(steps, name)
			continue
		}
		out = append(out, sr)
	}
	if len(steps) == 0 {
		delete(r.by, o.ID())
	}
	return out
}

// Count returns how many orders have a step whose work is being retried,
// as of the last pruning: the choreographed variant's
// ordersaga_orders_retrying.
func (r *Retries) Count() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return int64(len(r.by))
}

// pruneEvery forgets, every interval until ctx ends, the retries whose
// work has finished.
func (r *Retries) pruneEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.prune(ctx)
		}
	}
}

// prune reads each watched order and forgets what has finished.
func (r *Retries) prune(ctx context.Context) {
	r.mu.Lock()
	ids := make([]string, 0, len(r.by))
	for id := range r.by {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	for _, id := range ids {
		o, err := r.store.Get(ctx, id)
		if err != nil {
			continue // an order not stored here yet, or a fault: look again next time
		}
		r.mu.Lock()
		r.open(o)
		r.mu.Unlock()
	}
}

// Close leaves the group. Call it after Run returned.
func (r *Retries) Close() error {
	if err := r.reader.Close(); err != nil {
		return fmt.Errorf("closing the retry watcher: %w", err)
	}
	return nil
}
