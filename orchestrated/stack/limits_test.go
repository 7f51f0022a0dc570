package stack_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/orchestrated/stack"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

// waitAnswer is what a POST /v1/orders?wait= request got back.
type waitAnswer struct {
	id          string
	status      int
	contentType string
	retryAfter  string
	order       orderJSON
}

// postOrder posts req to base with the query and returns the answer with
// the headers a refused client reads.
func postOrder(tb testing.TB, base, query string, req placeJSON) waitAnswer {
	b, err := json.Marshal(req)
	if err != nil {
		tb.Error(err)
		return waitAnswer{id: req.OrderID}
	}
	resp, err := http.Post(base+"/v1/orders"+query, "application/json", bytes.NewReader(b))
	if err != nil {
		tb.Errorf("POST /v1/orders%s %s: %v", query, req.OrderID, err)
		return waitAnswer{id: req.OrderID}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := waitAnswer{id: req.OrderID, status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), retryAfter: resp.Header.Get("Retry-After")}
	if resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, &out.order); err != nil {
			tb.Errorf("decoding %s: %v", raw, err)
		}
	}
	return out
}

// With MaxWaiting 4, many concurrent POST /v1/orders?wait=10s requests:
// those past the bound get 503 problem+json with Retry-After and place
// nothing, those within it get their completed order, and ordinary orders
// placed meanwhile are accepted and complete. The services answer slowly
// (fault latency), so the first waiters still wait when the others come.
func TestOrchestrated_Limits_WaitersPastTheBoundRefusedWhileSagasComplete(t *testing.T) {
	const (
		maxWaiting = 4
		waiters    = 16
		ordinary   = 4
	)
	p := startProcessWith(t, stack.Config{
		Namespace: newNamespace(t),
		Hosted:    hosted.Config{Databases: postgresDatabases(t)},
		Limits:    httpapi.Limits{MaxWaiting: maxWaiting},
	})
	a := p.api(t)
	a.putProduct("mug", 100, 1000)
	a.putCustomer("c-1", 1_000_000)
	a.setFaults(0, 150*time.Millisecond)

	answers := make([]waitAnswer, waiters)
	var wg sync.WaitGroup
	for i := range waiters {
		wg.Go(func() {
			answers[i] = postOrder(t, p.url, "?wait=10s", order(fmt.Sprintf("w-%d", i), "c-1", "mug", 1, "DE"))
		})
	}
	placed := make([]waitAnswer, ordinary)
	for i := range ordinary {
		wg.Go(func() { placed[i] = postOrder(t, p.url, "", order(fmt.Sprintf("o-%d", i), "c-1", "mug", 1, "DE")) })
	}
	wg.Wait()

	var served, refused int
	for _, w := range answers {
		switch w.status {
		case http.StatusCreated:
			served++
			if w.order.Status != "completed" {
				t.Errorf("waiter %s: 201 with a %s order", w.id, w.order.Status)
			}
		case http.StatusServiceUnavailable:
			refused++
			if !strings.HasPrefix(w.contentType, "application/problem+json") || w.retryAfter == "" {
				t.Errorf("waiter %s: 503 as %q with Retry-After %q, want problem+json with Retry-After", w.id, w.contentType, w.retryAfter)
			}
			if code := a.do(http.MethodGet, "/v1/orders/"+w.id, nil, nil); code != http.StatusNotFound {
				t.Errorf("refused waiter %s: its order answers %d, want 404 (never placed)", w.id, code)
			}
		default:
			t.Errorf("waiter %s: status %d, want 201 or 503", w.id, w.status)
		}
	}
	if served < maxWaiting || refused == 0 {
		t.Fatalf("%d waiters served, %d refused; want at least %d served and the rest past the bound refused", served, refused, maxWaiting)
	}
	for _, o := range placed {
		if o.status != http.StatusAccepted {
			t.Fatalf("ordinary order %s: status %d, want 202", o.id, o.status)
		}
		if got := a.waitFinal(o.id); got.Status != "completed" {
			t.Fatalf("ordinary order %s ended %s, want completed", o.id, got.Status)
		}
	}
	// The places are free again.
	if w := postOrder(t, p.url, "?wait=10s", order("after", "c-1", "mug", 1, "DE")); w.status != http.StatusCreated {
		t.Fatalf("a waiter after the others ended: status %d, want 201", w.status)
	}
}
