package orders

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// orderColumns are the columns of orders in the order of orderRow.fields.
const orderColumns = `order_id, customer_id, fingerprint, status, failure_reason, total_cents,
	tracking_number, cancel_requested, ship_name, ship_line1, ship_line2, ship_city,
	ship_postal_code, ship_country, items, prices, steps, created_at, updated_at`

// orderRow is an order as the orders table holds it.
type orderRow struct {
	orderID         string
	customerID      string
	fingerprint     string
	status          string
	failureReason   string
	totalCents      sql.NullInt64
	trackingNumber  string
	cancelRequested bool
	shipName        string
	shipLine1       string
	shipLine2       string
	shipCity        string
	shipPostalCode  string
	shipCountry     string
	items           string
	prices          sql.NullString
	steps           string
	createdAt       int64
	updatedAt       int64
}

// fields returns pointers to the row's fields in the order of orderColumns,
// to scan into.
func (r *orderRow) fields() []any {
	return []any{&r.orderID, &r.customerID, &r.fingerprint, &r.status, &r.failureReason, &r.totalCents,
		&r.trackingNumber, &r.cancelRequested, &r.shipName, &r.shipLine1, &r.shipLine2, &r.shipCity,
		&r.shipPostalCode, &r.shipCountry, &r.items, &r.prices, &r.steps, &r.createdAt, &r.updatedAt}
}

// values returns the row's fields in the order of orderColumns, to insert.
func (r *orderRow) values() []any {
	return []any{r.orderID, r.customerID, r.fingerprint, r.status, r.failureReason, r.totalCents,
		r.trackingNumber, r.cancelRequested, r.shipName, r.shipLine1, r.shipLine2, r.shipCity,
		r.shipPostalCode, r.shipCountry, r.items, r.prices, r.steps, r.createdAt, r.updatedAt}
}

// The stored JSON forms of an order's lines, prices and steps. They are
// declared here, apart from the domain types, so the stored format changes
// only with a migration.
type (
	itemJSON struct {
		SKU      string `json:"sku"`
		Quantity int64  `json:"quantity"`
	}
	priceJSON struct {
		SKU        string `json:"sku"`
		Quantity   int64  `json:"quantity"`
		PriceCents int64  `json:"price_cents"`
	}
	stepJSON struct {
		Step   string `json:"step"`
		Status string `json:"status"`
		At     int64  `json:"at"`               // unix microseconds
		Reason string `json:"reason,omitempty"` // why a failed step refused
	}
)

// toRow turns an order's state into its row.
func toRow(s domain.OrderState) (orderRow, error) {
	r := orderRow{
		orderID:         s.OrderID,
		customerID:      s.CustomerID,
		fingerprint:     s.Fingerprint,
		status:          string(s.Status),
		failureReason:   string(s.FailureReason),
		trackingNumber:  s.TrackingNumber,
		cancelRequested: s.CancelRequested,
		shipName:        s.ShipTo.Name,
		shipLine1:       s.ShipTo.Line1,
		shipLine2:       s.ShipTo.Line2,
		shipCity:        s.ShipTo.City,
		shipPostalCode:  s.ShipTo.PostalCode,
		shipCountry:     s.ShipTo.Country,
		createdAt:       s.CreatedAt.UnixMicro(),
		updatedAt:       s.UpdatedAt.UnixMicro(),
	}
	if s.TotalCents != nil {
		r.totalCents = sql.NullInt64{Int64: int64(*s.TotalCents), Valid: true}
	}
	items := make([]itemJSON, len(s.Items))
	for i, it := range s.Items {
		items[i] = itemJSON{SKU: it.SKU, Quantity: it.Quantity}
	}
	steps := make([]stepJSON, len(s.Steps))
	for i, st := range s.Steps {
		steps[i] = stepJSON{Step: string(st.Step), Status: string(st.Status), At: st.At.UnixMicro(), Reason: string(st.Reason)}
	}
	var err error
	if r.items, err = marshal(items); err != nil {
		return orderRow{}, fmt.Errorf("encoding the lines of order %s: %w", s.OrderID, err)
	}
	if r.steps, err = marshal(steps); err != nil {
		return orderRow{}, fmt.Errorf("encoding the steps of order %s: %w", s.OrderID, err)
	}
	if s.Prices != nil {
		prices := make([]priceJSON, len(s.Prices))
		for i, p := range s.Prices {
			prices[i] = priceJSON{SKU: p.SKU, Quantity: p.Quantity, PriceCents: int64(p.PriceCents)}
		}
		if r.prices.String, err = marshal(prices); err != nil {
			return orderRow{}, fmt.Errorf("encoding the prices of order %s: %w", s.OrderID, err)
		}
		r.prices.Valid = true
	}
	return r, nil
}

// toOrder rebuilds the order a row holds.
func (r *orderRow) toOrder() (*domain.Order, error) {
	s := domain.OrderState{
		OrderID:         r.orderID,
		CustomerID:      r.customerID,
		Fingerprint:     r.fingerprint,
		Status:          domain.Status(r.status),
		FailureReason:   domain.FailureReason(r.failureReason),
		TrackingNumber:  r.trackingNumber,
		CancelRequested: r.cancelRequested,
		ShipTo: domain.Address{
			Name:       r.shipName,
			Line1:      r.shipLine1,
			Line2:      r.shipLine2,
			City:       r.shipCity,
			PostalCode: r.shipPostalCode,
			Country:    r.shipCountry,
		},
		CreatedAt: fromMicros(r.createdAt),
		UpdatedAt: fromMicros(r.updatedAt),
	}
	if r.totalCents.Valid {
		t := domain.Cents(r.totalCents.Int64)
		s.TotalCents = &t
	}
	var items []itemJSON
	if err := json.Unmarshal([]byte(r.items), &items); err != nil {
		return nil, fmt.Errorf("decoding the lines of order %s: %w", r.orderID, err)
	}
	for _, it := range items {
		s.Items = append(s.Items, domain.Item{SKU: it.SKU, Quantity: it.Quantity})
	}
	var steps []stepJSON
	if err := json.Unmarshal([]byte(r.steps), &steps); err != nil {
		return nil, fmt.Errorf("decoding the steps of order %s: %w", r.orderID, err)
	}
	for _, st := range steps {
		s.Steps = append(s.Steps, domain.StepState{Step: domain.StepName(st.Step), Status: domain.StepStatus(st.Status), At: fromMicros(st.At),
			Reason: domain.FailureReason(st.Reason)})
	}
	if r.prices.Valid {
		var prices []priceJSON
		if err := json.Unmarshal([]byte(r.prices.String), &prices); err != nil {
			return nil, fmt.Errorf("decoding the prices of order %s: %w", r.orderID, err)
		}
		s.Prices = make([]domain.PricedItem, 0, len(prices))
		for _, p := range prices {
			s.Prices = append(s.Prices, domain.PricedItem{SKU: p.SKU, Quantity: p.Quantity, PriceCents: domain.Cents(p.PriceCents)})
		}
	}
	o, err := domain.Restore(s)
	if err != nil {
		return nil, fmt.Errorf("reading a stored order: %w", err)
	}
	return o, nil
}

func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// fromMicros returns the UTC time of unix microseconds.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
