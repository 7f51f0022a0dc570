package cost

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ordersaga/ordersaga/shared/auth"
)

// The cost section's orders: the normal mix, 1 to 3 products of
// costProducts, 1 to 3 units each, a customer of costCustomers, shipped
// to a country the shipping service serves, except costFailureShare of
// them, shipped to one it refuses (they fail at shipping, after inventory
// and payment, which are then compensated).
const (
	costProducts       = 8
	costCustomers      = 8
	costFailureShare   = 0.1
	costRefusedCountry = "AQ"
	costSeed           = 20240917
	costStock          = int64(1_000_000_000)
	costCredit         = int64(1_000_000_000_000_000)
	// costOrderWait is the ?wait= of each order's POST; costOrderTimeout
	// bounds an order from its POST to its final status.
	costOrderWait    = 10 * time.Second
	costOrderTimeout = 60 * time.Second
	costPollEvery    = 100 * time.Millisecond
	costTokenTTL     = 24 * time.Hour
)

// costCountries are countries the shipping service always serves.
func costCountries() []string { return []string{"US", "CA", "GB", "DE", "FR", "NL", "JP", "AU"} }

// costDriver places the cost section's orders on one stack through its
// REST API, as the stack's customers, after setting up their products and
// accounts as the operator.
type costDriver struct {
	base      string
	idBase    string
	operator  *http.Client
	customers []*http.Client
	custIDs   []string
	skus      []string
	seq       atomic.Uint64
}

// newCostDriver returns the driver of the stack at base, signing its
// tokens with keys (none when keys is nil).
func newCostDriver(base, idBase string, keys *auth.Keys) (*costDriver, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	tr.DisableCompression = true
	as := func(p auth.Principal) (*http.Client, error) {
		if keys == nil {
			return &http.Client{Transport: tr}, nil
		}
		tok, err := keys.Issue(p, costTokenTTL, time.Now())
		if err != nil {
			return nil, fmt.Errorf("a token for %s %s: %w", p.Role, p.Subject, err)
		}
		return &http.Client{Transport: &auth.Transport{Token: tok, Base: tr}}, nil
	}
	d := &costDriver{base: base, idBase: idBase}
	var err error
	if d.operator, err = as(auth.Principal{Role: auth.RoleOperator, Subject: "compare-cost"}); err != nil {
		return nil, err
	}
	for i := range costProducts {
		d.skus = append(d.skus, fmt.Sprintf("%s-p%d", idBase, i))
	}
	for i := range costCustomers {
		id := fmt.Sprintf("%s-c%d", idBase, i)
		c, err := as(auth.Principal{Role: auth.RoleCustomer, Subject: id})
		if err != nil {
			return nil, err
		}
		d.custIDs = append(d.custIDs, id)
		d.customers = append(d.customers, c)
	}
	return d, nil
}

// setup creates the products and customers, with ample stock and credit.
func (d *costDriver) setup(ctx context.Context) error {
	for i, sku := range d.skus {
		body := map[string]any{"name": "Cost product " + strconv.Itoa(i), "price_cents": 100 + 25*i, "stock": costStock}
		if err := d.put(ctx, "/v1/products/"+sku, body); err != nil {
			return err
		}
	}
	for i, id := range d.custIDs {
		body := map[string]any{"name": "Cost customer " + strconv.Itoa(i), "credit_cents": costCredit}
		if err := d.put(ctx, "/v1/customers/"+id, body); err != nil {
			return err
		}
	}
	return nil
}

func (d *costDriver) put(ctx context.Context, path string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, d.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.operator.Do(req)
	if err != nil {
		return fmt.Errorf("PUT %s: %w", path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT %s: HTTP %d", path, resp.StatusCode)
	}
	return nil
}

// costOrder is the body of POST /v1/orders.
type costOrder struct {
	OrderID    string          `json:"order_id"`
	CustomerID string          `json:"customer_id"`
	Items      []costOrderItem `json:"items"`
	ShipTo     costAddress     `json:"ship_to"`
}

type costOrderItem struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

type costAddress struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// newCostOrder returns the order numbered seq and its customer's index,
// drawn from a stream of costSeed and seq: the same seq gives the same
// order (but for its ids) on either stack.
func newCostOrder(idBase string, skus, custIDs []string, seq uint64) (costOrder, int) {
	rng := rand.New(rand.NewPCG(costSeed, seq))
	n := 1 + rng.IntN(min(3, len(skus)))
	items := make([]costOrderItem, n)
	for i, p := range rng.Perm(len(skus))[:n] {
		items[i] = costOrderItem{SKU: skus[p], Quantity: 1 + rng.IntN(3)}
	}
	countries := costCountries()
	country := countries[rng.IntN(len(countries))]
	if rng.Float64() < costFailureShare {
		country = costRefusedCountry
	}
	cust := rng.IntN(len(custIDs))
	return costOrder{
		OrderID:    idBase + "-o" + strconv.FormatUint(seq, 10),
		CustomerID: custIDs[cust],
		Items:      items,
		ShipTo: costAddress{Name: "Customer " + strconv.Itoa(cust), Line1: strconv.Itoa(1+rng.IntN(200)) + " Main St",
			City: "Springfield", PostalCode: strconv.Itoa(10000 + rng.IntN(89999)), Country: country},
	}, cust
}

// costOrderView is what the driver reads of an order.
type costOrderView struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
}

// final reports whether an order's status is final.
func (o costOrderView) final() bool {
	return o.Status == "completed" || o.Status == "failed" || o.Status == "cancelled"
}

// costOutcome is how the orders of a run ended.
type costOutcome struct {
	// IDs are the placed orders' ids.
	IDs       []string `json:"-"`
	Completed int      `json:"completed"`
	Failed    int      `json:"failed"`
}

// run places n orders, clients at a time, and waits until each is final.
// Any order that does not end (an error, a refusal, a timeout) fails the
// run: the costs are per order of the normal mix.
func (d *costDriver) run(ctx context.Context, n, clients int) (costOutcome, error) {
	var (
		mu   sync.Mutex
		out  costOutcome
		errs []error
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range clients {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				o, err := d.place(ctx, d.seq.Add(1))
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case o.Status == "completed":
					out.Completed++
				default:
					out.Failed++
				}
				if err == nil {
					out.IDs = append(out.IDs, o.OrderID)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return out, fmt.Errorf("%d of %d orders did not end: %w", len(errs), n, errs[0])
	}
	return out, nil
}

// place places the order numbered seq and waits until it is final.
func (d *costDriver) place(ctx context.Context, seq uint64) (costOrderView, error) {
	ctx, cancel := context.WithTimeout(ctx, costOrderTimeout)
	defer cancel()
	order, cust := newCostOrder(d.idBase, d.skus, d.custIDs, seq)
	hc := d.customers[cust]
	body, err := json.Marshal(order)
	if err != nil {
		return costOrderView{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+"/v1/orders?wait="+costOrderWait.String(), bytes.NewReader(body))
	if err != nil {
		return costOrderView{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	o, err := costDo(hc, req, http.StatusCreated, http.StatusAccepted, http.StatusOK)
	for err == nil && !o.final() {
		select {
		case <-ctx.Done():
			return o, fmt.Errorf("order %s not final within %v", order.OrderID, costOrderTimeout)
		case <-time.After(costPollEvery):
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, d.base+"/v1/orders/"+order.OrderID, nil)
		if err != nil {
			return o, err
		}
		o, err = costDo(hc, req, http.StatusOK)
	}
	if err != nil {
		return o, fmt.Errorf("order %s: %w", order.OrderID, err)
	}
	return o, nil
}

// costDo sends req and reads the order it answers with, when the status
// is one of want.
func costDo(hc *http.Client, req *http.Request, want ...int) (costOrderView, error) {
	var o costOrderView
	resp, err := hc.Do(req)
	if err != nil {
		return o, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	for _, w := range want {
		if resp.StatusCode == w {
			if err := json.NewDecoder(resp.Body).Decode(&o); err != nil {
				return o, fmt.Errorf("%s %s: reading the order: %w", req.Method, req.URL.Path, err)
			}
			return o, nil
		}
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return o, fmt.Errorf("%s %s: HTTP %d %s", req.Method, req.URL.Path, resp.StatusCode, bytes.TrimSpace(b))
}
