package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/internal/kafkatest"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/payment"
)

// finalWithin bounds how long an order may take to become final, and the
// stack to become quiet after that.
const finalWithin = 15 * time.Second

type line struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

type address struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

type placeRequest struct {
	OrderID    string  `json:"order_id"`
	CustomerID string  `json:"customer_id"`
	Items      []line  `json:"items"`
	ShipTo     address `json:"ship_to"`
}

type orderJSON struct {
	OrderID    string `json:"order_id"`
	CustomerID string `json:"customer_id"`
	Items      []struct {
		SKU        string `json:"sku"`
		Quantity   int64  `json:"quantity"`
		PriceCents *int64 `json:"price_cents"`
	} `json:"items"`
	TotalCents    *int64               `json:"total_cents"`
	Status        domain.Status        `json:"status"`
	FailureReason domain.FailureReason `json:"failure_reason"`
	Steps         []struct {
		Step   domain.StepName   `json:"step"`
		Status domain.StepStatus `json:"status"`
	} `json:"steps"`
	TrackingNumber string `json:"tracking_number"`
}

func (o orderJSON) step(name domain.StepName) domain.StepStatus {
	for _, s := range o.Steps {
		if s.Step == name {
			return s.Status
		}
	}
	return ""
}

// steps returns the statuses of inventory, payment and shipping.
func (o orderJSON) steps() [3]domain.StepStatus {
	return [3]domain.StepStatus{o.step(domain.StepInventory), o.step(domain.StepPayment), o.step(domain.StepShipping)}
}

// api is a client of a stack's REST API. Its requests carry an operator
// token of authtest.Keys (which a stack run open ignores).
type api struct{ base string }

func (a api) do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+authtest.Operator(t, authtest.Keys(t)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func decode(t *testing.T, b []byte) orderJSON {
	t.Helper()
	var o orderJSON
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatalf("decoding order %s: %v", b, err)
	}
	return o
}

// place posts the order and fails the test unless it is accepted.
func (a api) place(t *testing.T, req placeRequest) orderJSON {
	t.Helper()
	status, b := a.do(t, http.MethodPost, "/v1/orders", req)
	if status != http.StatusAccepted {
		t.Fatalf("POST /v1/orders %s: %d %s", req.OrderID, status, b)
	}
	return decode(t, b)
}

func (a api) get(t *testing.T, id string) orderJSON {
	t.Helper()
	status, b := a.do(t, http.MethodGet, "/v1/orders/"+id, nil)
	if status != http.StatusOK {
		t.Fatalf("GET /v1/orders/%s: %d %s", id, status, b)
	}
	return decode(t, b)
}

// cancel asks to cancel the order and returns the status code.
func (a api) cancel(t *testing.T, id string) int {
	t.Helper()
	status, _ := a.do(t, http.MethodPost, "/v1/orders/"+id+"/cancel", nil)
	return status
}

// waitOrder polls the order until cond holds.
func (a api) waitOrder(t *testing.T, id, what string, cond func(orderJSON) bool) orderJSON {
	t.Helper()
	deadline := time.Now().Add(finalWithin)
	for {
		o := a.get(t, id)
		if cond(o) {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s: timed out waiting for %s; it is %s %s, steps %v", id, what, o.Status, o.FailureReason, o.Steps)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (a api) waitFinal(t *testing.T, id string) orderJSON {
	t.Helper()
	return a.waitOrder(t, id, "a final status", func(o orderJSON) bool { return o.Status.Final() })
}

func (a api) waitStep(t *testing.T, id string, step domain.StepName, st domain.StepStatus) orderJSON {
	t.Helper()
	return a.waitOrder(t, id, fmt.Sprintf("step %s %s", step, st), func(o orderJSON) bool { return o.step(step) == st })
}

// expect fails the test unless the order ended as described.
func expect(t *testing.T, o orderJSON, status domain.Status, reason domain.FailureReason, steps [3]domain.StepStatus) {
	t.Helper()
	if o.Status != status || o.FailureReason != reason || o.steps() != steps {
		t.Errorf("order %s: %s %q steps %v; want %s %q %v", o.OrderID, o.Status, o.FailureReason, o.steps(), status, reason, steps)
	}
	if status == domain.StatusCompleted && (o.TrackingNumber == "" || o.TotalCents == nil) {
		t.Errorf("completed order %s: tracking %q, total %v", o.OrderID, o.TrackingNumber, o.TotalCents)
	}
	if status != domain.StatusCompleted && o.TrackingNumber != "" {
		t.Errorf("%s order %s has tracking number %q", status, o.OrderID, o.TrackingNumber)
	}
}

var (
	allDone     = [3]domain.StepStatus{domain.StepDone, domain.StepDone, domain.StepDone}
	compensated = domain.StepCompensated
	skipped     = domain.StepSkipped
	failed      = domain.StepFailed
)

// fixture is a test's own products, customers and orders in the split
// environment, named with a random suffix.
type fixture struct {
	u         string
	products  map[string]int64 // sku → stock at start
	customers map[string]int64 // id → credit at start
}

func newFixture() *fixture {
	return &fixture{u: kafkatest.Unique(), products: map[string]int64{}, customers: map[string]int64{}}
}

func (f *fixture) id(name string) string { return name + "-" + f.u }

func inventorySvc() *inventory.Service { return split.stack(hosted.RoleInventory).Hosted().Inventory }
func paymentSvc() *payment.Service     { return split.stack(hosted.RolePayment).Hosted().Payment }

func (f *fixture) product(t *testing.T, name string, price, stock int64) string {
	t.Helper()
	sku := f.id(name)
	if _, err := inventorySvc().SetProduct(context.Background(), inventory.ProductInput{
		SKU: sku, Name: name, PriceCents: domain.Cents(price), Stock: stock}); err != nil {
		t.Fatal(err)
	}
	f.products[sku] = stock
	return sku
}

func (f *fixture) customer(t *testing.T, name string, credit int64) string {
	t.Helper()
	id := f.id(name)
	if _, err := paymentSvc().SetCustomer(context.Background(), payment.CustomerInput{
		ID: id, Name: name, CreditCents: domain.Cents(credit)}); err != nil {
		t.Fatal(err)
	}
	f.customers[id] = credit
	return id
}

func (f *fixture) request(name, customer, country string, lines ...line) placeRequest {
	return placeRequest{OrderID: f.id(name), CustomerID: customer, Items: lines,
		ShipTo: address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: country}}
}

// checkInvariants waits until no unit of the fixture's products is
// reserved, then checks that stock and credit add up: stock at start ==
// available + units of completed orders; credit at start == credit +
// totals of completed orders. orders must be final.
func (f *fixture) checkInvariants(t *testing.T, orders ...orderJSON) {
	t.Helper()
	units := map[string]int64{}
	credit := map[string]int64{}
	for _, o := range orders {
		if !o.Status.Final() {
			t.Fatalf("order %s is %s", o.OrderID, o.Status)
		}
		if o.Status != domain.StatusCompleted {
			continue
		}
		for _, it := range o.Items {
			units[it.SKU] += it.Quantity
		}
		credit[o.CustomerID] += *o.TotalCents
	}
	ctx := context.Background()
	deadline := time.Now().Add(finalWithin)
	for sku, stock := range f.products {
		var p inventory.Product
		for {
			var err error
			if p, err = inventorySvc().Product(ctx, sku); err != nil {
				t.Fatal(err)
			}
			if p.Reserved == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if p.Reserved != 0 || p.Available+p.Reserved+units[sku] != stock || p.Available < 0 {
			t.Errorf("product %s: available %d + reserved %d + completed units %d, want stock %d and nothing reserved",
				sku, p.Available, p.Reserved, units[sku], stock)
		}
	}
	for id, start := range f.customers {
		c, err := paymentSvc().Customer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if int64(c.CreditCents)+credit[id] != start || c.CreditCents < 0 {
			t.Errorf("customer %s: credit %d + completed totals %d, want %d", id, c.CreditCents, credit[id], start)
		}
	}
}
