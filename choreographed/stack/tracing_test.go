package stack_test

import (
	"net/http"
	"testing"
	"time"

	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/telemetry/telemetrytest"
)

func TestSplit_Tracing_OneOrderIsOneConnectedTraceAcrossEveryService(t *testing.T) {
	f := newFixture()
	mug := f.product(t, "mug", 1250, 10)
	ada := f.customer(t, "ada", 100_000)
	req := f.request("traced", ada, "DE", line{mug, 2})

	// One POST that waits for the final status: no other request touches
	// the order.
	status, b := splitAPI().do(t, http.MethodPost, "/v1/orders?wait="+finalWithin.String(), req)
	if status != http.StatusCreated {
		t.Fatalf("POST ?wait: %d %s, want 201", status, b)
	}
	expect(t, decode(t, b), domain.StatusCompleted, "", allDone)

	// Every hop: the relay publishing an event, each service applying it.
	// The inventory relay publishing InventoryCommitted ends the chain.
	want := telemetrytest.Want{
		Root:     "POST /v1/orders",
		Services: []string{"orders", "inventory", "payment", "shipping"},
		Spans: []string{
			"orders publish OrderPlaced", "inventory process OrderPlaced",
			"inventory publish InventoryReserved", "payment process InventoryReserved", "orders process InventoryReserved",
			"payment publish PaymentCompleted", "shipping process PaymentCompleted",
			"shipping publish ShipmentCreated", "orders process ShipmentCreated",
			"orders publish OrderCompleted", "inventory process OrderCompleted",
			"inventory publish InventoryCommitted",
		},
	}
	var err error
	deadline := time.Now().Add(finalWithin)
	for err = telemetrytest.CheckOrderTrace(split.spans.GetSpans(), req.OrderID, want); err != nil && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		err = telemetrytest.CheckOrderTrace(split.spans.GetSpans(), req.OrderID, want)
	}
	if err != nil {
		t.Fatal(err)
	}

	// Each span was recorded by the process of its service.
	for _, s := range split.spans.GetSpans() {
		var order, service, process string
		for _, kv := range s.Attributes {
			switch kv.Key {
			case "order_id":
				order = kv.Value.AsString()
			case "service":
				service = kv.Value.AsString()
			}
		}
		for _, kv := range s.Resource.Attributes() {
			if kv.Key == semconv.ServiceNameKey {
				process = kv.Value.AsString()
			}
		}
		if order == req.OrderID && process != "choreographed-"+service {
			t.Errorf("span %q of service %s recorded by %s", s.Name, service, process)
		}
	}
}
