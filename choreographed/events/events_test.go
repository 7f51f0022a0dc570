package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/shared/domain"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func placed() events.OrderPlacedData {
	return events.OrderPlacedData{
		CustomerID: "c-1",
		Items:      []events.Item{{SKU: "mug", Quantity: 2}},
		ShipTo:     events.Address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"},
	}
}

func TestEveryType_HasAProducerTopicAndVersion(t *testing.T) {
	topics := events.Topics{Prefix: "shop"}
	seen := map[events.Type]bool{}
	for _, et := range events.Types() {
		if seen[et] {
			t.Errorf("%s listed twice", et)
		}
		seen[et] = true
		s, ok := et.Producer()
		if !ok {
			t.Errorf("%s has no producer", et)
		}
		topic, ok := topics.For(et)
		if !ok || topic != "shop."+string(s) {
			t.Errorf("%s goes to %q, want shop.%s", et, topic, s)
		}
		if et.SchemaVersion() < 1 {
			t.Errorf("%s has schema version %d", et, et.SchemaVersion())
		}
	}
	if _, ok := events.Type("Nope").Producer(); ok {
		t.Error("unknown type has a producer")
	}
	all := topics.All()
	if len(all) != 5 || all[len(all)-1] != "shop.deadletter" {
		t.Errorf("All() = %v", all)
	}
	if got := (events.Topics{}).Of(events.Payment); got != "ordersaga.payment" {
		t.Errorf("default prefix topic = %q", got)
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
	next, err := events.New(events.InventoryRejectedData{Reason: domain.ReasonOutOfStock}, "o-1", first, t0.Add(time.Second))
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
	if _, err := events.As[events.PaymentDeclinedData](got); !errors.Is(err, events.ErrMalformed) {
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
	next, _ := events.New(events.InventoryRejectedData{Reason: domain.ReasonOutOfStock}, "o-1", first, t0)
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
