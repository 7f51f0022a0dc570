package consumer_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
)

// published records what a middleware publishes.
type published struct {
	mu   sync.Mutex
	msgs []kafka.Message
}

func (p *published) Publish(_ context.Context, msgs ...kafka.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, msgs...)
	return nil
}

func placedMessage(t *testing.T) *consumer.Message {
	t.Helper()
	e, err := events.New(events.OrderPlacedData{CustomerID: "c-1"}, "o-1", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	km, err := e.Message(context.Background(), events.Topics{})
	if err != nil {
		t.Fatal(err)
	}
	return consumer.NewMessage(km)
}

func park(p *published) consumer.Middleware {
	return consumer.Park(consumer.RedeliveryConfig{
		Publisher: p, Topics: events.Topics{}, Service: events.Inventory, Group: "g.inventory",
		Delays: []time.Duration{time.Second, 5 * time.Second, 30 * time.Second},
	})
}

func TestPark_AFault_IsParkedOnTheFirstRedeliveryTopicWithItsHistory(t *testing.T) {
	p := &published{}
	fault := errors.New("database is down")
	h := park(p)(func(context.Context, []*consumer.Message) error { return fault })
	m := placedMessage(t)
	if err := h(context.Background(), []*consumer.Message{m}); err != nil {
		t.Fatalf("Park returned %v; want the fault parked", err)
	}
	if len(p.msgs) != 1 || p.msgs[0].Topic != "ordersaga.retry.inventory.1" {
		t.Fatalf("published %+v, want one message on ordersaga.retry.inventory.1", p.msgs)
	}
	parked := p.msgs[0]
	if events.Header(parked.Headers, events.HeaderRetryAttempt) != "1" || events.Header(parked.Headers, events.HeaderRetryLastError) != fault.Error() ||
		events.Header(parked.Headers, events.HeaderRetryFirstFailedAt) == "" || string(parked.Value) != string(m.Value) {
		t.Fatalf("parked message headers %v", parked.Headers)
	}
	// Parked again, it moves to the next delay and keeps its first failure.
	again := consumer.NewMessage(parked)
	if err := h(context.Background(), []*consumer.Message{again}); err != nil {
		t.Fatal(err)
	}
	second := p.msgs[1]
	if second.Topic != "ordersaga.retry.inventory.2" || events.Header(second.Headers, events.HeaderRetryAttempt) != "2" ||
		events.Header(second.Headers, events.HeaderRetryFirstFailedAt) != events.Header(parked.Headers, events.HeaderRetryFirstFailedAt) {
		t.Fatalf("second parking on %s with headers %v", second.Topic, second.Headers)
	}
}

func TestPark_InvalidData_IsHandedBackInGiveUpModeAndNotDeadLettered(t *testing.T) {
	p := &published{}
	var gaveUp domain.FailureReason
	h := park(p)(func(ctx context.Context, _ []*consumer.Message) error {
		if r, ok := consumer.GiveUp(ctx); ok {
			gaveUp = r
			return nil
		}
		return errs.E(errs.Invalid, "the order's total is too large")
	})
	if err := h(context.Background(), []*consumer.Message{placedMessage(t)}); err != nil {
		t.Fatalf("Park returned %v", err)
	}
	if gaveUp != domain.ReasonRejected || len(p.msgs) != 0 {
		t.Fatalf("gave up with %q, published %d; want rejected and nothing parked", gaveUp, len(p.msgs))
	}
}

func TestPark_WhatCanNeverBeHandled_GoesOnToTheDeadLetters(t *testing.T) {
	p := &published{}
	h := park(p)(func(context.Context, []*consumer.Message) error {
		return consumer.Permanent(errors.New("not a step's action"))
	})
	undecodable := consumer.NewMessage(kafka.Message{Topic: "ordersaga.orders", Value: []byte("\xff")})
	for _, m := range []*consumer.Message{placedMessage(t), undecodable} {
		err := h(context.Background(), []*consumer.Message{m})
		var failed consumer.Failures
		if !errors.As(err, &failed) || len(failed) != 1 || len(p.msgs) != 0 {
			t.Fatalf("err = %v, published %d; want it returned for the dead letters and nothing parked", err, len(p.msgs))
		}
	}
}

// TestRedeliverer_GivesUpOnlyPastTheDeadlineAndEveryLevel promises that a
// parked step's action is given up once its deadline has passed since its
// first failure and it has been parked at every redelivery level, and not
// before: neither early in its levels however old its first failure reads
// (a wall-clock step), nor at the last level before the deadline.
func TestRedeliverer_GivesUpOnlyPastTheDeadlineAndEveryLevel(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	r, err := consumer.NewRedeliverer(consumer.RedelivererConfig{
		Brokers: []string{"127.0.0.1:1"}, Group: "g.inventory", Topics: []string{"r.1"},
		StepDeadline: 4 * time.Second, Now: func() time.Time { return now },
	}, func(context.Context, []*consumer.Message) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	headers := func(attempt string, failedAgo time.Duration) []kafka.Header {
		h := events.SetHeader(nil, events.HeaderRetryAttempt, attempt)
		return events.SetHeader(h, events.HeaderRetryFirstFailedAt, now.Add(-failedAgo).Format(time.RFC3339Nano))
	}
	for _, c := range []struct {
		name    string
		headers []kafka.Header
		want    bool
	}{
		{"last level, past the deadline", headers("3", 4*time.Second), true},
		{"beyond the last level, past the deadline", headers("7", time.Minute), true},
		{"last level, before the deadline", headers("3", 3*time.Second), false},
		{"first level, first failure read long ago", headers("1", time.Hour), false},
		{"second level, first failure read long ago", headers("2", time.Hour), false},
		{"no first failure", events.SetHeader(nil, events.HeaderRetryAttempt, "3"), false},
		{"no attempt", events.SetHeader(nil, events.HeaderRetryFirstFailedAt, now.Add(-time.Hour).Format(time.RFC3339Nano)), false},
	} {
		if got := r.PastDeadline(c.headers); got != c.want {
			t.Errorf("%s: past the deadline = %v, want %v", c.name, got, c.want)
		}
	}
}
