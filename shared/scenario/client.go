package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// Media types of the contract.
const (
	mediaJSON    = "application/json"
	mediaProblem = "application/problem+json"
)

// Line is one line of an order request.
type Line struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// Address is where an order ships to.
type Address struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// OrderRequest is the body of POST /v1/orders. An empty OrderID is left
// out, so the server generates one.
type OrderRequest struct {
	OrderID    string  `json:"order_id,omitempty"`
	CustomerID string  `json:"customer_id"`
	Items      []Line  `json:"items"`
	ShipTo     Address `json:"ship_to"`
}

// Order is an order as the API shows it (the fields the suite reads).
type Order struct {
	OrderID        string               `json:"order_id"`
	CustomerID     string               `json:"customer_id"`
	Items          []OrderItem          `json:"items"`
	TotalCents     *int64               `json:"total_cents"`
	Status         domain.Status        `json:"status"`
	FailureReason  domain.FailureReason `json:"failure_reason"`
	Steps          []Step               `json:"steps"`
	TrackingNumber string               `json:"tracking_number"`
	CreatedAt      string               `json:"created_at"`
	UpdatedAt      string               `json:"updated_at"`
}

// OrderItem is one line of an order; PriceCents is null until priced.
type OrderItem struct {
	SKU        string `json:"sku"`
	Quantity   int64  `json:"quantity"`
	PriceCents *int64 `json:"price_cents"`
}

// Step is where one saga step of an order stands.
type Step struct {
	Step   domain.StepName   `json:"step"`
	Status domain.StepStatus `json:"status"`
	// Retrying is set while the step's work keeps failing with faults.
	Retrying *StepRetry `json:"retrying,omitempty"`
}

// StepRetry is a step's work being retried, as the API shows it.
type StepRetry struct {
	Work      string `json:"work"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
}

// retrying returns how the named step's work is being retried, nil when it
// is not.
func (o Order) retrying(name domain.StepName) *StepRetry {
	for _, s := range o.Steps {
		if s.Step == name {
			return s.Retrying
		}
	}
	return nil
}

// step returns the status of the named step, "" when the order lacks it.
func (o Order) step(name domain.StepName) domain.StepStatus {
	for _, s := range o.Steps {
		if s.Step == name {
			return s.Status
		}
	}
	return ""
}

// TimelineEntry is one entry of an order's timeline (GET
// /v1/orders/{id}/timeline), the fields the suite reads.
type TimelineEntry struct {
	// At is when it happened, by the stack's clock.
	At      time.Time       `json:"at"`
	Kind    string          `json:"kind"`
	Step    domain.StepName `json:"step"`
	Service string          `json:"service"`
	Status  string          `json:"status"`
}

// Product is a product as the API shows it.
type Product struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int64  `json:"price_cents"`
	Available  int64  `json:"available"`
	Reserved   int64  `json:"reserved"`
}

// Customer is a customer as the API shows it.
type Customer struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	CreditCents int64  `json:"credit_cents"`
}

// Problem is an RFC 9457 problem document as the API answers errors.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors"`
}

// FieldError names one bad field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Fault is one service's fault setting for PUT /v1/admin/faults.
type Fault struct {
	ErrorRate float64 `json:"error_rate"`
	LatencyMS int64   `json:"latency_ms"`
}

// Faults maps service names ("inventory", "payment", "shipping") to their
// fault setting.
type Faults map[string]Fault

// services are the names of the stack's services with fault injection.
var services = []string{"inventory", "payment", "shipping"}

// noFaults is the setting that turns every fault off.
func noFaults() Faults { return everyService(Fault{}) }

// everyService returns the setting that gives every service the fault f.
func everyService(f Fault) Faults {
	out := make(Faults, len(services))
	for _, s := range services {
		out[s] = f
	}
	return out
}

// response is an HTTP answer, read in full.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// mediaType returns the media type of the response without parameters.
func (r response) mediaType() string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return r.Header.Get("Content-Type")
	}
	return mt
}

// decode decodes the body as JSON into v.
func (r response) decode(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decoding %d answer %q: %w", r.Status, truncate(r.Body), err)
	}
	return nil
}

// String describes the response for failure messages.
func (r response) String() string {
	return fmt.Sprintf("%d %s %s", r.Status, r.Header.Get("Content-Type"), truncate(r.Body))
}

func truncate(b []byte) string {
	const max = 600
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// client sends requests to one stack. It never fails a test itself, so
// goroutines may use it; callers report its errors.
type client struct {
	base string
	hc   *http.Client
}

// request is one HTTP request of the suite.
type request struct {
	method string
	path   string // with the query
	body   []byte // sent as application/json unless header says otherwise
	header http.Header
	// unsized hides the body's length, as a chunked request does.
	unsized bool
	// token is sent as the bearer token unless header has an
	// Authorization of its own; "" sends none.
	token string
}

// do sends one request and reads the whole answer.
func (c *client) do(ctx context.Context, rq request) (response, error) {
	var body io.Reader
	if rq.body != nil {
		body = bytes.NewReader(rq.body)
		if rq.unsized {
			body = struct{ io.Reader }{body}
		}
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, c.base+rq.path, body)
	if err != nil {
		return response{}, fmt.Errorf("building %s %s: %w", rq.method, rq.path, err)
	}
	if rq.body != nil {
		req.Header.Set("Content-Type", mediaJSON)
	}
	req.Header.Set("Accept", mediaJSON+", "+mediaProblem)
	if rq.token != "" {
		req.Header.Set("Authorization", "Bearer "+rq.token)
	}
	for k, vs := range rq.header {
		req.Header[k] = vs
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", rq.method, rq.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("reading the answer to %s %s: %w", rq.method, rq.path, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// retryable reports whether an idempotent request that got this answer
// should be sent again: a transport error or a 503 (a transient fault).
func retryable(r response, err error) bool {
	if err != nil {
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	return r.Status == http.StatusServiceUnavailable
}

// doIdempotent sends an idempotent request, and again with backoff after a
// transport error or a 503, until ctx ends. It returns the last answer.
func (c *client) doIdempotent(ctx context.Context, rq request) (response, error) {
	delay := 10 * time.Millisecond
	for {
		r, err := c.do(ctx, rq)
		if !retryable(r, err) {
			return r, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			if err == nil {
				return r, nil
			}
			return r, fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, 250*time.Millisecond)
	}
}

// jsonBody encodes v; the suite's own request types always encode.
func jsonBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encoding a request body: %v", err))
	}
	return b
}
