package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/saga"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func placed() events.OrderPlacedData {
	return events.OrderPlacedData{
		CustomerID: "c-1",
		Items:      []events.Item{{SKU: "mug", Quantity: 2}},
		ShipTo:     events.Address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"},
	}
}

func TestTable_EveryTypeHasOneProducerAndVersion(t *testing.T) {
	table := events.NewTable(nil)
	seen := map[events.Type]bool{}
	for _, et := range table.Types() {
		if seen[et] {
			t.Errorf("%s listed twice", et)
		}
		seen[et] = true
		if _, ok := table.Producer(et); !ok {
			t.Errorf("%s has no producer", et)
		}
		if et.SchemaVersion() < 1 {
			t.Errorf("%s has schema version %d", et, et.SchemaVersion())
		}
	}
	if len(seen) != 5+4+3+3 {
		t.Errorf("the default saga has %d event types, want 15: %v", len(seen), table.Types())
	}
	if s, ok := table.Producer(events.PaymentDeclined); !ok || s != events.Payment {
		t.Errorf("PaymentDeclined is produced by %q", s)
	}
	if _, ok := table.Producer("Nope"); ok {
		t.Error("unknown type has a producer")
	}
	all := (events.Topics{Prefix: "shop"}).All()
	if len(all) != 5+4*3 || all[4] != "shop.deadletter" || !slices.Contains(all, "shop.retry.payment.2") {
		t.Errorf("All() = %v, want the 4 services' topics, the dead-letter topic and 3 redelivery topics a service", all)
	}
	if got := (events.Topics{}).Of(events.Payment); got != "ordersaga.payment" {
		t.Errorf("default prefix topic = %q", got)
	}
}

func TestTable_TriggersChainTheStepsForwardAndCompensationsBackward(t *testing.T) {
	table := events.NewTable(nil)
	for step, want := range map[domain.StepName]events.Type{
		domain.StepInventory: events.OrderPlaced, domain.StepPayment: events.InventoryReserved, domain.StepShipping: events.PaymentCompleted,
	} {
		if got := table.ActionTrigger(step); got != want {
			t.Errorf("the %s action is triggered by %s, want %s", step, got, want)
		}
	}
	for step, want := range map[domain.StepName][]events.Type{
		domain.StepInventory: {events.PaymentDeclined, events.PaymentRefunded},
		domain.StepPayment:   {events.ShipmentFailed, events.ShipmentCancelled},
		domain.StepShipping:  {events.OrderCancelRequested},
	} {
		if got := table.UndoTriggers(step); !slices.Equal(got, want) {
			t.Errorf("the %s compensation is triggered by %v, want %v", step, got, want)
		}
	}
	ref, ok := table.Lookup(events.PaymentRefunded)
	if !ok || ref.Step.Name != domain.StepPayment || ref.Kind != events.KindUndone {
		t.Errorf("PaymentRefunded = %+v %v", ref, ok)
	}
}

func TestTable_ANewStepGetsEventsNamedAfterItAndJoinsTheChains(t *testing.T) {
	g, err := saga.Default().Insert(domain.StepPayment, saga.Step{Name: "loyalty_points", Action: "Award", Compensation: "Revoke",
		Refusals: []domain.FailureReason{"frozen"}})
	if err != nil {
		t.Fatal(err)
	}
	table := events.NewTable(g)
	ts := events.TypesOf(saga.Step{Name: "loyalty_points"})
	if ts.Done != "LoyaltyPointsDone" || ts.Refused != "LoyaltyPointsRefused" || ts.Undone != "LoyaltyPointsUndone" || ts.Completed != "" {
		t.Fatalf("types = %+v", ts)
	}
	if got := table.ActionTrigger(domain.StepShipping); got != ts.Done {
		t.Errorf("shipping now starts on %s, want %s", got, ts.Done)
	}
	if got := table.UndoTriggers(domain.StepPayment); !slices.Equal(got, []events.Type{ts.Refused, ts.Undone}) {
		t.Errorf("payment's compensation starts on %v", got)
	}
	if s, ok := table.Producer(ts.Undone); !ok || s != "loyalty_points" {
		t.Errorf("producer of %s = %q", ts.Undone, s)
	}
	if all := (events.Topics{}).AllOf(g); !slices.Contains(all, "ordersaga.loyalty_points") {
		t.Errorf("topics %v lack the new step's", all)
	}
}

func TestStepEvent_CarriesTheOrderForward(t *testing.T) {
	in := saga.Input{OrderID: "o-1", CustomerID: "c-1", Items: []domain.Item{{SKU: "mug", Quantity: 2}},
		ShipTo: domain.Address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"}}
	pricing := events.PricingOf([]domain.PricedItem{{SKU: "mug", Quantity: 2, PriceCents: 5}}, 10)
	e, err := events.New(events.Carrying(events.InventoryReserved, domain.StepInventory, in, &pricing), "o-1", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if e.Producer != events.Inventory || e.Type != events.InventoryReserved {
		t.Fatalf("envelope = %+v", e)
	}
	ref, _ := events.NewTable(nil).Lookup(e.Type)
	p, err := events.AsStep(e, ref)
	if err != nil {
		t.Fatal(err)
	}
	got := p.Input("o-1")
	if got.CustomerID != "c-1" || got.TotalCents != 10 || got.ShipTo != in.ShipTo || len(got.Items) != 1 {
		t.Fatalf("carried input = %+v", got)
	}
}

func TestNew_InheritsCorrelationAndNamesItsCause(t *testing.T) {
	first, err := events.New(placed(), "o-1", nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	if first.CorrelationID != first.EventID || first.CausationID != "" {
		t.Fatalf("first event: correlation %q causation %q, id %q", first.CorrelationID, first.CausationID, first.EventID)
	}
	if first.Producer != events.Orders || first.SchemaVersion != 1 || first.Type != events.OrderPlaced {
		t.Fatalf("first event = %+v", first)
	}
	next, err := events.New(events.StepEvent{Type: events.InventoryRejected, Step: domain.StepInventory, Reason: domain.ReasonOutOfStock}, "o-1", first, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if next.CausationID != first.EventID || next.CorrelationID != first.EventID || next.EventID == first.EventID {
		t.Fatalf("caused event: %+v (cause %s)", next, first.EventID)
	}
}

func TestMessage_RoundTripsThroughDecodeAndAs(t *testing.T) {
	e, err := events.New(placed(), "o-1", nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Message(context.Background(), events.Topics{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Topic != "ordersaga.orders" || string(m.Key) != "o-1" {
		t.Fatalf("topic %q key %q", m.Topic, m.Key)
	}
	if events.Header(m.Headers, events.HeaderEventType) != string(events.OrderPlaced) ||
		events.Header(m.Headers, events.HeaderEventID) != e.EventID ||
		events.Header(m.Headers, events.HeaderContentType) != events.ContentTypeJSON {
		t.Fatalf("headers = %v", m.Headers)
	}
	var wire map[string]any
	if err := json.Unmarshal(m.Value, &wire); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"event_id", "type", "schema_version", "order_id", "occurred_at", "correlation_id", "producer", "data"} {
		if _, ok := wire[k]; !ok {
			t.Errorf("wire envelope lacks %q: %s", k, m.Value)
		}
	}
	got, err := events.Decode(m.Value)
	if err != nil {
		t.Fatal(err)
	}
	if got.EventID != e.EventID || !got.OccurredAt.Equal(t0) || got.OrderID != "o-1" {
		t.Fatalf("decoded %+v, want %+v", got, e)
	}
	p, err := events.As[events.OrderPlacedData](got)
	if err != nil {
		t.Fatal(err)
	}
	if p.CustomerID != "c-1" || len(p.Items) != 1 || p.Items[0].Quantity != 2 || p.ShipTo.Country != "DE" {
		t.Fatalf("payload = %+v", p)
	}
	if _, err := events.As[events.OrderFailedData](got); !errors.Is(err, events.ErrMalformed) {
		t.Fatalf("As with the wrong type: err = %v, want ErrMalformed", err)
	}
}

func TestDecode_RefusesWhatIsNotAnEnvelope(t *testing.T) {
	good := `{"event_id":"e1","type":"OrderPlaced","schema_version":1,"order_id":"o-1","occurred_at":"2026-01-01T00:00:00Z","correlation_id":"e1","data":{}}`
	if _, err := events.Decode([]byte(good)); err != nil {
		t.Fatalf("good envelope refused: %v", err)
	}
	for name, value := range map[string]string{
		"not json":       "\x00\x01garbage",
		"trailing data":  good + `{}`,
		"no id":          strings.Replace(good, `"event_id":"e1"`, `"event_id":""`, 1),
		"no type":        strings.Replace(good, `"type":"OrderPlaced"`, `"type":""`, 1),
		"version 0":      strings.Replace(good, `"schema_version":1`, `"schema_version":0`, 1),
		"bad order id":   strings.Replace(good, `"order_id":"o-1"`, `"order_id":"o 1"`, 1),
		"no time":        strings.Replace(good, `"occurred_at":"2026-01-01T00:00:00Z",`, ``, 1),
		"data not a map": strings.Replace(good, `"data":{}`, `"data":[1]`, 1),
	} {
		if _, err := events.Decode([]byte(value)); !errors.Is(err, events.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestAs_RefusesANewerSchemaVersion(t *testing.T) {
	e, err := events.New(placed(), "o-1", nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	e.SchemaVersion = events.OrderPlaced.SchemaVersion() + 1
	e.MinReaderVersion = e.SchemaVersion // a change this software's readers cannot read
	if _, err := events.As[events.OrderPlacedData](e); !errors.Is(err, events.ErrUnsupportedVersion) {
		t.Fatalf("err = %v, want ErrUnsupportedVersion", err)
	}
}

func TestTrace_ContinuesTheTraceOfTheMessageBeingHandled(t *testing.T) {
	first, _ := events.New(placed(), "o-1", nil, t0)
	m1, err := first.Message(context.Background(), events.Topics{})
	if err != nil {
		t.Fatal(err)
	}
	tp1 := events.Header(m1.Headers, events.HeaderTraceParent)
	if len(tp1) != 55 || !strings.HasPrefix(tp1, "00-") || !strings.HasSuffix(tp1, "-01") {
		t.Fatalf("traceparent %q is not a sampled W3C trace context", tp1)
	}
	// A consumer handling m1 emits the next event in the same trace, under
	// a span of its own.
	ctx := events.ContextWithTrace(context.Background(), m1.Headers)
	if got, want := events.TraceID(ctx), tp1[3:35]; got != want {
		t.Fatalf("extracted trace id %q, want %q", got, want)
	}
	next, _ := events.New(events.StepEvent{Type: events.InventoryRejected, Step: domain.StepInventory, Reason: domain.ReasonOutOfStock}, "o-1", first, t0)
	m2, err := next.Message(ctx, events.Topics{})
	if err != nil {
		t.Fatal(err)
	}
	tp2 := events.Header(m2.Headers, events.HeaderTraceParent)
	if tp2[3:35] != tp1[3:35] || tp2[36:52] == tp1[36:52] {
		t.Fatalf("traceparent %q does not continue %q under a new span", tp2, tp1)
	}
	// A span started in-process is used as the parent as it is.
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled})
	h := events.InjectTrace(trace.ContextWithSpanContext(context.Background(), sc), []kafka.Header{})
	if got := events.Header(h, events.HeaderTraceParent); got != "00-01000000000000000000000000000000-0200000000000000-01" {
		t.Fatalf("traceparent from a local span = %q", got)
	}
	// No trace context: nothing extracted.
	if id := events.TraceID(events.ContextWithTrace(context.Background(), nil)); id != "" {
		t.Fatalf("trace id from no headers = %q", id)
	}
}

func TestSetHeader_ReplacesWithoutTouchingTheOriginal(t *testing.T) {
	orig := []kafka.Header{{Key: "a", Value: []byte("1")}}
	got := events.SetHeader(orig, "a", "2")
	if events.Header(got, "a") != "2" || events.Header(orig, "a") != "1" {
		t.Fatalf("got %v, original %v", got, orig)
	}
	got = events.SetHeader(got, "b", "3")
	if len(got) != 2 || events.Header(got, "b") != "3" {
		t.Fatalf("got %v", got)
	}
}
