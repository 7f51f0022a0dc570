package httpapi

import (
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// placeOrderRequest is the body of POST /v1/orders.
type placeOrderRequest struct {
	OrderID    *string       `json:"order_id"` // absent or null: the server picks one
	CustomerID string        `json:"customer_id"`
	Items      []itemRequest `json:"items"`
	ShipTo     addressJSON   `json:"ship_to"`
}

// itemRequest is one line of placeOrderRequest.
type itemRequest struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// addressJSON is where an order ships to, in requests and responses.
type addressJSON struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// orderJSON is an order as the API shows it.
type orderJSON struct {
	OrderID        string               `json:"order_id"`
	CustomerID     string               `json:"customer_id"`
	Items          []orderItemJSON      `json:"items"`
	TotalCents     *int64               `json:"total_cents"` // null until priced
	Status         domain.Status        `json:"status"`
	FailureReason  domain.FailureReason `json:"failure_reason,omitempty"` // only when failed or cancelled
	Steps          []stepJSON           `json:"steps"`
	TrackingNumber string               `json:"tracking_number,omitempty"`
	ShipTo         addressJSON          `json:"ship_to"`
	CreatedAt      string               `json:"created_at"`
	UpdatedAt      string               `json:"updated_at"`
}

// orderItemJSON is one line of an order.
type orderItemJSON struct {
	SKU        string `json:"sku"`
	Quantity   int64  `json:"quantity"`
	PriceCents *int64 `json:"price_cents"` // null until priced
}

// stepJSON is where one saga step of an order stands.
type stepJSON struct {
	Step   domain.StepName   `json:"step"`
	Status domain.StepStatus `json:"status"`
	At     string            `json:"at"`
	// Retrying is set while the step's work keeps failing with faults.
	Retrying *retryJSON `json:"retrying,omitempty"`
}

// retryJSON shows a step's work being retried.
type retryJSON struct {
	Work      string `json:"work"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
	Since     string `json:"since,omitempty"`
}

// withRetries adds the steps' retries to an order's JSON.
func (o orderJSON) withRetries(rs []domain.StepRetry) orderJSON {
	for _, r := range rs {
		for i := range o.Steps {
			if o.Steps[i].Step != r.Step {
				continue
			}
			rj := &retryJSON{Work: r.Work, Attempts: r.Attempts, LastError: r.LastError}
			if !r.Since.IsZero() {
				rj.Since = timestamp(r.Since)
			}
			o.Steps[i].Retrying = rj
		}
	}
	return o
}

// ordersJSON is the body of GET /v1/orders.
type ordersJSON struct {
	Orders     []orderJSON `json:"orders"`
	NextCursor string      `json:"next_cursor,omitempty"` // absent on the last page
}

// toPlaceOrder maps the request to the domain's; an absent order id becomes
// newID().
func (r placeOrderRequest) toPlaceOrder(newID func() string) domain.PlaceOrder {
	p := domain.PlaceOrder{
		CustomerID: r.CustomerID,
		Items:      make([]domain.Item, 0, len(r.Items)),
		ShipTo: domain.Address{
			Name: r.ShipTo.Name, Line1: r.ShipTo.Line1, Line2: r.ShipTo.Line2,
			City: r.ShipTo.City, PostalCode: r.ShipTo.PostalCode, Country: r.ShipTo.Country,
		},
	}
	if r.OrderID != nil {
		p.OrderID = *r.OrderID
	} else {
		p.OrderID = newID()
	}
	for _, it := range r.Items {
		p.Items = append(p.Items, domain.Item{SKU: it.SKU, Quantity: it.Quantity})
	}
	return p
}

// toOrderJSON shows an order.
func toOrderJSON(o *domain.Order) orderJSON {
	s := o.State()
	prices := make(map[string]domain.Cents, len(s.Prices))
	for _, p := range s.Prices {
		prices[p.SKU] = p.PriceCents
	}
	out := orderJSON{
		OrderID:    s.OrderID,
		CustomerID: s.CustomerID,
		Items:      make([]orderItemJSON, 0, len(s.Items)),
		Status:     s.Status,
		Steps:      make([]stepJSON, 0, len(s.Steps)),
		ShipTo: addressJSON{
			Name: s.ShipTo.Name, Line1: s.ShipTo.Line1, Line2: s.ShipTo.Line2,
			City: s.ShipTo.City, PostalCode: s.ShipTo.PostalCode, Country: s.ShipTo.Country,
		},
		CreatedAt: timestamp(s.CreatedAt),
		UpdatedAt: timestamp(s.UpdatedAt),
	}
	for _, it := range s.Items {
		line := orderItemJSON{SKU: it.SKU, Quantity: it.Quantity}
		if p, ok := prices[it.SKU]; ok && s.TotalCents != nil {
			v := int64(p)
			line.PriceCents = &v
		}
		out.Items = append(out.Items, line)
	}
	if s.TotalCents != nil {
		v := int64(*s.TotalCents)
		out.TotalCents = &v
	}
	if s.Status == domain.StatusFailed || s.Status == domain.StatusCancelled {
		out.FailureReason = s.FailureReason
	}
	if s.Status == domain.StatusCompleted {
		out.TrackingNumber = s.TrackingNumber
	}
	for _, st := range s.Steps {
		out.Steps = append(out.Steps, stepJSON{Step: st.Step, Status: st.Status, At: timestamp(st.At)})
	}
	return out
}

// timestamp formats t as RFC 3339 in UTC.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
