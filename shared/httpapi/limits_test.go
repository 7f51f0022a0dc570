package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

// slowLimits are short timeouts, so that a slow client is cut off within
// a test's patience; clientPatience is how long a test's client waits for
// the server to end a connection, well above them.
var slowLimits = httpapi.Limits{
	ReadHeaderTimeout: 300 * time.Millisecond,
	ReadTimeout:       500 * time.Millisecond,
	WriteTimeout:      2 * time.Second,
	IdleTimeout:       2 * time.Second,
}

const clientPatience = 5 * time.Second

// serve starts a real HTTP server of the harness's API, built by NewServer
// with l, and returns its address.
func (h *harness) serve(l httpapi.Limits) string {
	h.tb.Helper()
	srv := httptest.NewUnstartedServer(h.h)
	srv.Config = httpapi.NewServer(h.h, l, log.New(io.Discard, "", 0))
	srv.Start()
	h.tb.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// dial opens a raw connection to addr, closed at the end of the test.
func dial(tb testing.TB, addr string) net.Conn {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

// endOfConnection reads conn until the server ends it and returns what it
// sent and how long that took from start. It fails the test when the
// server keeps the connection open for clientPatience.
func endOfConnection(tb testing.TB, conn net.Conn, start time.Time) (string, time.Duration) {
	tb.Helper()
	if err := conn.SetReadDeadline(start.Add(clientPatience)); err != nil {
		tb.Fatal(err)
	}
	got, err := io.ReadAll(conn)
	took := time.Since(start)
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		tb.Fatalf("the server kept the slow connection open for %v (received %q)", took, got)
	}
	return string(got), took
}

// A client that sends part of its headers and then nothing is cut off by
// the read-header timeout.
func TestServer_HeadersNeverFinished_CutOffByReadHeaderTimeout(t *testing.T) {
	h := newHarness(t)
	conn := dial(t, h.serve(slowLimits))
	start := time.Now()
	if _, err := io.WriteString(conn, "GET /v1/products HTTP/1.1\r\nHost: api\r\n"); err != nil {
		t.Fatal(err)
	}
	_, took := endOfConnection(t, conn, start)
	if took < slowLimits.ReadHeaderTimeout/2 {
		t.Fatalf("cut off after %v, before the header timeout %v", took, slowLimits.ReadHeaderTimeout)
	}
	h.assertNoCalls()
}

// A client that sends a request's headers, announcing a body, then nothing
// is cut off by the read timeout, and the request changes nothing.
func TestServer_HeadersThenNothing_CutOffByReadTimeout(t *testing.T) {
	h := newHarness(t)
	conn := dial(t, h.serve(slowLimits))
	start := time.Now()
	if _, err := io.WriteString(conn, "PUT /v1/products/mug HTTP/1.1\r\nHost: api\r\n"+
		"Content-Type: application/json\r\nContent-Length: 60\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	got, took := endOfConnection(t, conn, start)
	if took < slowLimits.ReadTimeout/2 {
		t.Fatalf("cut off after %v, before the read timeout %v", took, slowLimits.ReadTimeout)
	}
	if strings.HasPrefix(got, "HTTP/1.1 2") {
		t.Fatalf("the request without its body succeeded: %q", got)
	}
	h.assertEmpty()
}

// A client that sends its body a byte at a time, so slowly that the whole
// request would take far longer than the read timeout, is cut off by it
// and changes nothing.
func TestServer_BodyByteByByte_CutOffByReadTimeout(t *testing.T) {
	h := newHarness(t)
	conn := dial(t, h.serve(slowLimits))
	body := `{"name": "Mug", "price_cents": 1250, "stock": 40}` // 49 bytes: 2.45 s at one per 50 ms
	start := time.Now()
	if _, err := fmt.Fprintf(conn, "PUT /v1/products/mug HTTP/1.1\r\nHost: api\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body)); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var sent sync.WaitGroup
	sent.Go(func() {
		for i := range len(body) {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return // the server closed the connection
			}
		}
	})
	got, took := endOfConnection(t, conn, start)
	close(stop)
	sent.Wait()
	if took < slowLimits.ReadTimeout/2 || took > 2*time.Second {
		t.Fatalf("cut off after %v, want about the read timeout %v (the body takes 2.45 s)", took, slowLimits.ReadTimeout)
	}
	if strings.HasPrefix(got, "HTTP/1.1 2") {
		t.Fatalf("the slow request succeeded: %q", got)
	}
	h.assertEmpty()
}

// blockWaits makes the fake store's WaitFinal report each call on entered
// and block until release is closed (or its context ends).
func (h *harness) blockWaits() (entered <-chan string, release func()) {
	in := make(chan string, 100)
	done := make(chan struct{})
	h.w.mu.Lock()
	h.w.waitFinal = func(ctx context.Context, id string) (*domain.Order, error) {
		in <- id
		select {
		case <-done:
		case <-ctx.Done():
		}
		return h.w.order(id)
	}
	h.w.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { close(done) }) }
	h.tb.Cleanup(release)
	return in, release
}

// startWaiting sends n POST /v1/orders?wait=10s requests (orders prefix-0,
// prefix-1 …) and returns once each is waiting, with the channel where
// their answers arrive.
func (h *harness) startWaiting(n int, prefix string, entered <-chan string) <-chan *httptest.ResponseRecorder {
	h.tb.Helper()
	out := make(chan *httptest.ResponseRecorder, n)
	for i := range n {
		go func() {
			out <- h.do(http.MethodPost, "/v1/orders?wait=10s", placeRequest(fmt.Sprintf("%s-%d", prefix, i)))
		}()
	}
	for range n {
		select {
		case <-entered:
		case <-time.After(clientPatience):
			h.tb.Fatal("the waiting requests did not start waiting")
		}
	}
	return out
}

// assertBusy checks that rec is a 503 problem with a Retry-After of whole
// seconds and a detail naming the limit.
func assertBusy(tb testing.TB, rec *httptest.ResponseRecorder, limit int) {
	tb.Helper()
	p := assertProblem(tb, rec, http.StatusServiceUnavailable)
	if ra := rec.Header().Get("Retry-After"); ra == "" || strings.Trim(ra, "0123456789") != "" {
		tb.Fatalf("Retry-After = %q, want seconds", ra)
	}
	if !strings.Contains(p.Detail, fmt.Sprint(limit)) {
		tb.Fatalf("detail %q does not name the limit %d", p.Detail, limit)
	}
}

// Past MaxRequests requests at once the API answers 503 with Retry-After,
// while /healthz, /readyz and /metrics still answer; once a request ends
// its place serves the next.
func TestLimits_RequestsPastMaxRequests_Answer503(t *testing.T) {
	const maxRequests = 3
	h := newHarness(t, func(d *httpapi.Deps) { d.Limits = httpapi.Limits{MaxRequests: maxRequests} })
	entered, release := h.blockWaits()
	answers := h.startWaiting(maxRequests, "busy", entered)

	assertBusy(t, h.do(http.MethodGet, "/v1/products", ""), maxRequests)
	assertBusy(t, h.do(http.MethodPost, "/v1/orders", placeRequest("refused")), maxRequests)
	if _, err := h.w.order("refused"); err == nil {
		t.Fatal("a refused request placed its order")
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if rec := h.do(http.MethodGet, path, ""); rec.Code != http.StatusOK {
			t.Fatalf("GET %s while busy = %d, want 200; body %s", path, rec.Code, rec.Body)
		}
	}

	release()
	for range maxRequests {
		if rec := <-answers; rec.Code != http.StatusAccepted {
			t.Fatalf("a waiting request answered %d; body %s", rec.Code, rec.Body)
		}
	}
	assertJSON(t, h.do(http.MethodGet, "/v1/products", ""), http.StatusOK, `{"products": []}`)
}

// Past MaxWaiting POST /v1/orders?wait= requests at once the next one gets
// 503 with Retry-After and its order is not placed; an order placed
// without wait is still served, and a freed place serves a waiting request
// again.
func TestLimits_WaitersPastMaxWaiting_Answer503AndPlaceNothing(t *testing.T) {
	const maxWaiting = 2
	h := newHarness(t, func(d *httpapi.Deps) { d.Limits = httpapi.Limits{MaxWaiting: maxWaiting} })
	entered, release := h.blockWaits()
	answers := h.startWaiting(maxWaiting, "waiting", entered)

	assertBusy(t, h.do(http.MethodPost, "/v1/orders?wait=5s", placeRequest("refused")), maxWaiting)
	if _, err := h.w.order("refused"); err == nil {
		t.Fatal("a refused waiting request placed its order")
	}
	if n := countCalls(h.w.Calls(), "Place"); n != maxWaiting {
		t.Fatalf("Place called %d times, want %d: the refused request reached the intake", n, maxWaiting)
	}
	assertJSON(t, h.do(http.MethodPost, "/v1/orders", placeRequest("o-1")), http.StatusAccepted, pendingJSON)

	release()
	for range maxWaiting {
		if rec := <-answers; rec.Code != http.StatusAccepted {
			t.Fatalf("a waiting request answered %d; body %s", rec.Code, rec.Body)
		}
	}
	h.w.mu.Lock()
	h.w.waitFinal = func(_ context.Context, id string) (*domain.Order, error) { return completedOrder(t, id), nil }
	h.w.mu.Unlock()
	if rec := h.do(http.MethodPost, "/v1/orders?wait=5s", placeRequest("later")); rec.Code != http.StatusCreated {
		t.Fatalf("a waiting request after the others ended = %d, want 201; body %s", rec.Code, rec.Body)
	}
}

func countCalls(calls []string, name string) int {
	return len(slices.DeleteFunc(calls, func(c string) bool { return c != name }))
}
