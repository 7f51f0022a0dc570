package orders

import (
	"context"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/shared/domain"
)

// parked is the message a consumer of group parks for the event p.
func parked(t *testing.T, p events.Payload, group string, attempt string) kafka.Message {
	t.Helper()
	m, err := ev(t, p).Message(context.Background(), events.Topics{})
	if err != nil {
		t.Fatal(err)
	}
	m.Headers = events.SetHeader(m.Headers, events.HeaderRetryGroup, group)
	m.Headers = events.SetHeader(m.Headers, events.HeaderRetryAttempt, attempt)
	m.Headers = events.SetHeader(m.Headers, events.HeaderRetryLastError, "payment database down")
	return m
}

func TestRetries_ShowsWorkBeingRetriedUntilTheStepMovesOn(t *testing.T) {
	r := &Retries{table: events.NewTable(nil), by: map[string]map[domain.StepName]domain.StepRetry{}}
	// The payment service parked the trigger of its action twice.
	r.observe(parked(t, priced(events.InventoryReserved), "ordersaga.payment", "2"))
	o := newOrder(t)
	_ = o.MarkStep(domain.StepInventory, domain.StepDone, t0)
	rs, _ := r.Retrying(context.Background(), o)
	if len(rs) != 1 || rs[0].Step != domain.StepPayment || rs[0].Work != domain.RetryingAction || rs[0].Attempts != 2 || rs[0].LastError == "" {
		t.Fatalf("retrying = %+v, want the payment action on its 2nd redelivery", rs)
	}
	if r.Count() != 1 {
		t.Fatalf("Count() = %d, want 1", r.Count())
	}
	// Once the payment step is done, its action is no longer retried.
	_ = o.MarkStep(domain.StepPayment, domain.StepDone, t0)
	if rs, _ := r.Retrying(context.Background(), o); len(rs) != 0 || r.Count() != 0 {
		t.Fatalf("retrying = %+v, count %d after the step moved on; want nothing", rs, r.Count())
	}
	// A compensation being retried shows until the step is compensated.
	r.observe(parked(t, refused(events.ShipmentFailed, domain.ReasonShippingUnavailable), "ordersaga.payment", "1"))
	if rs, _ := r.Retrying(context.Background(), o); len(rs) != 1 || rs[0].Work != domain.RetryingCompensation {
		t.Fatalf("retrying = %+v, want the payment compensation", rs)
	}
}

func TestRetries_ADeadLetterParksItsOrdersStepUntilTheOrderEnds(t *testing.T) {
	r := &Retries{table: events.NewTable(nil), deadLetter: "ordersaga.deadletter", by: map[string]map[domain.StepName]domain.StepRetry{}}
	m := parked(t, undone(events.ShipmentCancelled, "tombstone", domain.ReasonCancelled), "x", "1")
	m.Topic = "ordersaga.deadletter"
	m.Headers = events.SetHeader(m.Headers, events.HeaderDLQConsumerGroup, "ordersaga.payment")
	m.Headers = events.SetHeader(m.Headers, events.HeaderDLQReason, "unsupported event schema version")
	r.observe(m)
	o := newOrder(t)
	rs, _ := r.Retrying(context.Background(), o)
	if len(rs) != 1 || rs[0].Step != domain.StepPayment || rs[0].Work != domain.RetryingDeadLettered || rs[0].LastError == "" {
		t.Fatalf("retrying = %+v, want the payment step dead-lettered", rs)
	}
	if err := o.Cancel(t0); err != nil {
		t.Fatal(err)
	}
	if rs, _ := r.Retrying(context.Background(), o); len(rs) != 0 || r.Count() != 0 {
		t.Fatalf("retrying = %+v after the order ended; want nothing", rs)
	}
}
