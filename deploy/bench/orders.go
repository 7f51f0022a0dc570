package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ordersaga/ordersaga/shared/auth"
)

// The orders' make-up and the driver's set-up.
const (
	// refusedCountry is never served by the shipping service: an order
	// shipped there fails after inventory and payment, so its
	// compensations run.
	refusedCountry  = "AQ"
	productStock    = int64(1_000_000_000)
	customerCredit  = int64(1_000_000_000_000_000)
	setupWorkers    = 8
	readyPollEvery  = 100 * time.Millisecond
	maxDetailLength = 200
)

// The order statuses the driver reads (API.md).
const (
	statusCompleted = "completed"
	statusFailed    = "failed"
	statusCancelled = "cancelled"
)

// problemMediaType is the media type of the API's error documents.
const problemMediaType = "application/problem+json"

// shipCountries returns the countries the shipping service always serves
// (API.md).
func shipCountries() []string { return []string{"US", "CA", "GB", "DE", "FR", "NL", "JP", "AU"} }

// orderClient places orders on one target through its REST API.
type orderClient struct {
	// http sends the set-up requests, as the operator when Options.Keys
	// is set; customers[i] sends customer custIDs[i]'s orders and their
	// reads, with that customer's own token. All share one connection
	// pool.
	http      *http.Client
	customers []*http.Client
	base      string
	idBase    string // run-unique start of order ids, sku and customer ids
	opts      *Options
	skus      []string
	custIDs   []string
}

// OperatorSubject names the operator of the driver's set-up token.
const OperatorSubject = "bench"

// tokenTTL is how long the driver's tokens are valid: longer than a run.
const tokenTTL = 24 * time.Hour

// newOrderClient returns the client of the target at base. With
// opts.Keys, the set-up requests carry an operator token and each
// customer's requests a token of its own (auth.Transport over hc's
// transport); without, none does.
func newOrderClient(hc *http.Client, base, idBase string, opts *Options) (*orderClient, error) {
	c := &orderClient{http: hc, base: strings.TrimRight(base, "/"), idBase: idBase, opts: opts}
	for i := range opts.Products {
		c.skus = append(c.skus, fmt.Sprintf("%s-p%d", idBase, i))
	}
	as := func(p auth.Principal) (*http.Client, error) {
		if opts.Keys == nil {
			return hc, nil
		}
		tok, err := opts.Keys.Issue(p, tokenTTL, time.Now())
		if err != nil {
			return nil, fmt.Errorf("a token for %s %s: %w", p.Role, p.Subject, err)
		}
		return &http.Client{Transport: &auth.Transport{Token: tok, Base: hc.Transport}, Timeout: hc.Timeout}, nil
	}
	var err error
	if c.http, err = as(auth.Principal{Role: auth.RoleOperator, Subject: OperatorSubject}); err != nil {
		return nil, err
	}
	for i := range opts.Customers {
		id := fmt.Sprintf("%s-c%d", idBase, i)
		cc, err := as(auth.Principal{Role: auth.RoleCustomer, Subject: id})
		if err != nil {
			return nil, err
		}
		c.custIDs = append(c.custIDs, id)
		c.customers = append(c.customers, cc)
	}
	return c, nil
}

// newHTTPClient returns a client that keeps enough idle connections for
// the largest load of the run.
func newHTTPClient(conns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 2 * conns
	t.MaxIdleConnsPerHost = conns
	t.DisableCompression = true
	return &http.Client{Transport: t}
}

// waitReady polls GET /readyz until it answers 200 or ctx ends.
func (c *orderClient) waitReady(ctx context.Context) error {
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/readyz", nil)
		if err != nil {
			return fmt.Errorf("readiness of %s: %w", c.base, err)
		}
		resp, err := c.http.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /readyz: HTTP %d", resp.StatusCode)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s is not ready: %w", c.base, errors.Join(last, ctx.Err()))
		case <-time.After(readyPollEvery):
		}
	}
}

// setup creates the run's products and customers, with ample stock and
// credit.
func (c *orderClient) setup(ctx context.Context) error {
	type put struct {
		path string
		body any
	}
	var puts []put
	for i, sku := range c.skus {
		puts = append(puts, put{"/v1/products/" + sku, map[string]any{
			"name": "Bench product " + strconv.Itoa(i), "price_cents": 100 + int64(i%50)*25, "stock": productStock,
		}})
	}
	for i, id := range c.custIDs {
		puts = append(puts, put{"/v1/customers/" + id, map[string]any{
			"name": "Bench customer " + strconv.Itoa(i), "credit_cents": customerCredit,
		}})
	}
	work := make(chan put)
	errc := make(chan error, setupWorkers)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range setupWorkers {
		wg.Go(func() {
			for p := range work {
				if err := c.put(ctx, p.path, p.body); err != nil {
					errc <- err
					cancel()
					return
				}
			}
		})
	}
feed:
	for _, p := range puts {
		select {
		case work <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return fmt.Errorf("setting up products and customers on %s: %w", c.base, err)
	}
	return ctx.Err()
}

func (c *orderClient) put(ctx context.Context, path string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("PUT %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT %s: %s", path, describeStatus(resp))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

// orderRequest is the body of POST /v1/orders.
type orderRequest struct {
	OrderID    string      `json:"order_id"`
	CustomerID string      `json:"customer_id"`
	Items      []orderItem `json:"items"`
	ShipTo     address     `json:"ship_to"`
}

type orderItem struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

type address struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// orderView is what the driver reads of an order.
type orderView struct {
	OrderID       string `json:"order_id"`
	Status        string `json:"status"`
	FailureReason string `json:"failure_reason"`
}

// newOrder returns the order numbered seq and the index of its customer:
// 1 to 3 distinct products, 1 to 3 units each, a customer and a supported
// country drawn from a stream of the run's seed and seq, so a run with the
// same seed sends the same orders. Options.FailureShare of the orders ship
// to a country the shipping service refuses.
func (c *orderClient) newOrder(id string, seq uint64) (orderRequest, int) {
	rng := rand.New(rand.NewPCG(c.opts.Seed, seq))
	n := 1 + rng.IntN(min(3, len(c.skus)))
	picked := rng.Perm(len(c.skus))[:n]
	items := make([]orderItem, n)
	for i, p := range picked {
		items[i] = orderItem{SKU: c.skus[p], Quantity: 1 + rng.IntN(3)}
	}
	countries := shipCountries()
	country := countries[rng.IntN(len(countries))]
	if c.opts.FailureShare > 0 && rng.Float64() < c.opts.FailureShare {
		country = refusedCountry
	}
	cust := rng.IntN(len(c.custIDs))
	return orderRequest{
		OrderID:    id,
		CustomerID: c.custIDs[cust],
		Items:      items,
		ShipTo: address{
			Name: "Customer " + strconv.Itoa(cust), Line1: strconv.Itoa(1+rng.IntN(200)) + " Main St",
			City: "Springfield", PostalCode: strconv.Itoa(10000 + rng.IntN(89999)), Country: country,
		},
	}, cust
}

// place places the order numbered seq and waits until it is final: POST
// /v1/orders?wait=…, then, when the answer is not final yet, GET the order
// every Options.PollInterval, all within Options.OrderTimeout. A POST
// answered 503 with Retry-After is Refused: the order was not placed, and
// it is not tried again.
func (c *orderClient) place(ctx context.Context, seq uint64) Result {
	ctx, cancel := context.WithTimeout(ctx, c.opts.OrderTimeout)
	defer cancel()
	id := c.idBase + "-o" + strconv.FormatUint(seq, 10)
	order, cust := c.newOrder(id, seq)
	hc := c.customers[cust]
	body, err := json.Marshal(order)
	if err != nil {
		return Result{Outcome: ErrOther, Detail: err.Error()}
	}
	u := c.base + "/v1/orders?wait=" + url.QueryEscape(c.opts.Wait.String())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return Result{Outcome: ErrOther, Detail: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	o, res, ok := c.do(ctx, hc, req, "POST /v1/orders", http.StatusCreated, http.StatusAccepted, http.StatusOK)
	if !ok {
		return res
	}
	tick := time.NewTicker(c.opts.PollInterval)
	defer tick.Stop()
	for {
		if r, final := classify(o); final {
			return r
		}
		select {
		case <-ctx.Done():
			return Result{Outcome: ErrTimeout, Detail: fmt.Sprintf("not final within %v", c.opts.OrderTimeout)}
		case <-tick.C:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/orders/"+id, nil)
		if err != nil {
			return Result{Outcome: ErrOther, Detail: err.Error()}
		}
		if o, res, ok = c.do(ctx, hc, req, "GET /v1/orders/{id}", http.StatusOK); !ok {
			return res
		}
	}
}

// do sends req with hc and reads the order it answers with, when its
// status is one of want; otherwise it returns the error's Result and
// false.
func (c *orderClient) do(ctx context.Context, hc *http.Client, req *http.Request, what string, want ...int) (orderView, Result, bool) {
	var o orderView
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return o, Result{Outcome: ErrTimeout, Detail: fmt.Sprintf("not final within %v", c.opts.OrderTimeout)}, false
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return o, Result{Outcome: ErrTransport, Detail: truncate(what + ": " + err.Error())}, false
	}
	defer resp.Body.Close()
	ok := false
	for _, w := range want {
		ok = ok || resp.StatusCode == w
	}
	if !ok {
		if d, refused := refusal(req, resp, time.Now()); refused {
			return o, Result{Outcome: Refused, RetryAfter: d, Detail: truncate(what + ": " + describeStatus(resp))}, false
		}
		outcome := ErrClient
		if resp.StatusCode >= 500 {
			outcome = ErrServer
		}
		return o, Result{Outcome: outcome, Detail: truncate(what + ": " + describeStatus(resp))}, false
	}
	if err := json.NewDecoder(resp.Body).Decode(&o); err != nil {
		if ctx.Err() != nil {
			return o, Result{Outcome: ErrTimeout, Detail: fmt.Sprintf("not final within %v", c.opts.OrderTimeout)}, false
		}
		return o, Result{Outcome: ErrOther, Detail: truncate(what + ": reading the order: " + err.Error())}, false
	}
	return o, Result{}, true
}

// refusal reports whether resp refuses to take an order: a POST answered
// 503 with a Retry-After delay (admission control, or another bound of the
// API: the order was not placed). It returns the delay, in seconds or
// until a date (at least 0).
func refusal(req *http.Request, resp *http.Response, now time.Time) (time.Duration, bool) {
	if req.Method != http.MethodPost || resp.StatusCode != http.StatusServiceUnavailable {
		return 0, false
	}
	ra := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(ra); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// classify says whether the order is final and how it ended.
func classify(o orderView) (Result, bool) {
	switch o.Status {
	case statusCompleted:
		return Result{Outcome: Succeeded}, true
	case statusFailed, statusCancelled:
		return Result{Outcome: BusinessFailed, Detail: o.FailureReason}, true
	}
	return Result{}, false
}

// describeStatus describes an unexpected answer: its status and, for a
// problem document, its title and detail.
func describeStatus(resp *http.Response) string {
	s := "HTTP " + strconv.Itoa(resp.StatusCode)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), problemMediaType) {
		var p struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
		}
		if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&p) == nil {
			s += " " + p.Title
			if p.Detail != "" {
				s += ": " + p.Detail
			}
		}
	}
	return s
}

func truncate(s string) string {
	if len(s) <= maxDetailLength {
		return s
	}
	return s[:maxDetailLength] + "…"
}
