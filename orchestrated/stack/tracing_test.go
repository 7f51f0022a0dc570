package stack_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/ordersaga/ordersaga/orchestrated/stack"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/telemetry/telemetrytest"
)

func TestOrchestrated_Tracing_OneOrderIsOneConnectedTraceAcrossEveryService(t *testing.T) {
	// Each service runs in a process of its own with a tracer provider of
	// its own, as deployed; all of them record into one exporter.
	spans := tracetest.NewInMemoryExporter()
	ns := newNamespace(t)
	dbs := sqliteDatabases(t)
	procs := map[hosted.Role]*process{}
	for _, role := range hosted.AllRoles() {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans),
			sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("orchestrated-"+string(role)))))
		t.Cleanup(func() { _ = tp.Shutdown(context.Background()) }) // after the process stopped
		procs[role] = startProcessWith(t, stack.Config{
			Namespace:      ns,
			Hosted:         hosted.Config{Roles: []hosted.Role{role}, Databases: dbs},
			TracerProvider: tp,
			Auth:           authtest.Keys(t),
		})
	}
	ctx := context.Background()
	if _, err := procs[hosted.RoleInventory].Hosted().Inventory.SetProduct(ctx, inventory.ProductInput{SKU: "mug", Name: "Mug", PriceCents: 1250, Stock: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := procs[hosted.RolePayment].Hosted().Payment.SetCustomer(ctx, payment.CustomerInput{ID: "c-1", Name: "Ada", CreditCents: 10_000}); err != nil {
		t.Fatal(err)
	}

	// One POST that waits for the final status: no other request touches
	// the order.
	code, o := procs[hosted.RoleOrders].api(t).place(order("o-1", "c-1", "mug", 2, "DE"), finalWithin)
	if code != http.StatusCreated || o.Status != "completed" {
		t.Fatalf("POST ?wait: %d %+v, want 201 completed", code, o)
	}

	// The workflow's span ends last, once the saga closed.
	want := telemetrytest.Want{
		Root:     "POST /v1/orders",
		Services: []string{"orders", "inventory", "payment", "shipping", "notifications"},
		Spans: []string{
			"StartWorkflow:OrderSaga", "RunWorkflow:OrderSaga",
			"StartActivity:ReserveInventory", "RunActivity:ReserveInventory",
			"RunActivity:ChargePayment", "RunActivity:CreateShipment", "RunActivity:CommitInventory",
			"RunActivity:RecordStep", "RunActivity:CompleteOrder", "RunActivity:NotifyCustomer",
		},
	}
	var err error
	deadline := time.Now().Add(finalWithin)
	for err = telemetrytest.CheckOrderTrace(spans.GetSpans(), "o-1", want); err != nil && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		err = telemetrytest.CheckOrderTrace(spans.GetSpans(), "o-1", want)
	}
	if err != nil {
		t.Fatal(err)
	}

	// Each span was recorded by the process of its service.
	for _, s := range spans.GetSpans() {
		var service, process string
		for _, kv := range s.Attributes {
			if kv.Key == "service" {
				service = kv.Value.AsString()
			}
		}
		for _, kv := range s.Resource.Attributes() {
			if kv.Key == semconv.ServiceNameKey {
				process = kv.Value.AsString()
			}
		}
		if service != "" && process != "orchestrated-"+service {
			t.Errorf("span %q of service %s recorded by %s", s.Name, service, process)
		}
	}
}
