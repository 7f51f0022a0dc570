package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ordersaga/ordersaga/choreographed/internal/kafkatest"
	"github.com/ordersaga/ordersaga/choreographed/stack"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// waitAnswer is what a POST /v1/orders request got back, with the headers
// a refused client reads.
type waitAnswer struct {
	id          string
	status      int
	contentType string
	retryAfter  string
	body        []byte
}

// postOrder posts req to base with the query. It may run on any goroutine.
func postOrder(t *testing.T, base, query string, req placeRequest) waitAnswer {
	out := waitAnswer{id: req.OrderID}
	b, err := json.Marshal(req)
	if err != nil {
		t.Error(err)
		return out
	}
	resp, err := http.Post(base+"/v1/orders"+query, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Errorf("POST /v1/orders%s %s: %v", query, req.OrderID, err)
		return out
	}
	defer resp.Body.Close()
	out.body, _ = io.ReadAll(resp.Body)
	out.status, out.contentType, out.retryAfter = resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After")
	return out
}

// With MaxWaiting 4, many concurrent POST /v1/orders?wait=10s requests:
// those past the bound get 503 problem+json with Retry-After and place
// nothing, those within it get their completed order, and ordinary orders
// placed meanwhile are accepted and complete. The services answer slowly
// (fault latency), so the first waiters still wait when the others come.
func TestLimits_WaitersPastTheBoundRefusedWhileSagasComplete(t *testing.T) {
	const (
		maxWaiting = 4
		waiters    = 16
		ordinary   = 4
	)
	dbs := map[hosted.Role]string{}
	for _, role := range hosted.AllRoles() {
		dbs[role] = sqltest.DSN(t, sqldb.Postgres)
	}
	r, err := start(context.Background(), stack.Config{
		Hosted:         hosted.Config{Databases: dbs},
		Brokers:        brokers,
		TopicPrefix:    "limits" + kafkatest.Unique(),
		HTTPAddr:       "127.0.0.1:0",
		FaultInjection: true,
		Limits:         httpapi.Limits{MaxWaiting: maxWaiting},
		Logger:         logger.With("env", "limits"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("stopping the stack: %v", err)
		}
	})
	base := "http://" + r.Addr()
	a := api{base: base}
	for _, put := range []struct {
		path string
		body any
	}{
		{"/v1/products/mug", map[string]any{"name": "Mug", "price_cents": 100, "stock": 1000}},
		{"/v1/customers/c-1", map[string]any{"name": "Ada", "credit_cents": 1_000_000}},
		{"/v1/admin/faults", map[string]any{
			"inventory": map[string]any{"error_rate": 0, "latency_ms": 150},
			"payment":   map[string]any{"error_rate": 0, "latency_ms": 150},
			"shipping":  map[string]any{"error_rate": 0, "latency_ms": 150},
		}},
	} {
		if status, b := a.do(t, http.MethodPut, put.path, put.body); status != http.StatusOK {
			t.Fatalf("PUT %s: %d %s", put.path, status, b)
		}
	}
	request := func(id string) placeRequest {
		return placeRequest{OrderID: id, CustomerID: "c-1", Items: []line{{SKU: "mug", Quantity: 1}},
			ShipTo: address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"}}
	}

	answers := make([]waitAnswer, waiters)
	var wg sync.WaitGroup
	for i := range waiters {
		wg.Go(func() { answers[i] = postOrder(t, base, "?wait=10s", request(fmt.Sprintf("w-%d", i))) })
	}
	placed := make([]waitAnswer, ordinary)
	for i := range ordinary {
		wg.Go(func() { placed[i] = postOrder(t, base, "", request(fmt.Sprintf("o-%d", i))) })
	}
	wg.Wait()

	var served, refused int
	for _, w := range answers {
		switch w.status {
		case http.StatusCreated:
			served++
			if o := decode(t, w.body); o.Status != domain.StatusCompleted {
				t.Errorf("waiter %s: 201 with a %s order", w.id, o.Status)
			}
		case http.StatusServiceUnavailable:
			refused++
			if !strings.HasPrefix(w.contentType, "application/problem+json") || w.retryAfter == "" {
				t.Errorf("waiter %s: 503 as %q with Retry-After %q, want problem+json with Retry-After", w.id, w.contentType, w.retryAfter)
			}
			if status, b := a.do(t, http.MethodGet, "/v1/orders/"+w.id, nil); status != http.StatusNotFound {
				t.Errorf("refused waiter %s: its order answers %d %s, want 404 (never placed)", w.id, status, b)
			}
		default:
			t.Errorf("waiter %s: %d %s, want 201 or 503", w.id, w.status, w.body)
		}
	}
	if served < maxWaiting || refused == 0 {
		t.Fatalf("%d waiters served, %d refused; want at least %d served and the rest past the bound refused", served, refused, maxWaiting)
	}
	for _, o := range placed {
		if o.status != http.StatusAccepted {
			t.Fatalf("ordinary order %s: %d %s, want 202", o.id, o.status, o.body)
		}
		if got := a.waitFinal(t, o.id); got.Status != domain.StatusCompleted {
			t.Fatalf("ordinary order %s ended %s, want completed", o.id, got.Status)
		}
	}
	// The places are free again.
	if w := postOrder(t, base, "?wait=10s", request("after")); w.status != http.StatusCreated {
		t.Fatalf("a waiter after the others ended: %d %s, want 201", w.status, w.body)
	}
}
