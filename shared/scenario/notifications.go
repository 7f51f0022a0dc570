package scenario

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// NotificationBound is how long after an order is final its customer's
// notification may take to be listed: the notification service records it
// after the order's final status, not in the same transaction.
const NotificationBound = 15 * time.Second

// Notification is one entry of GET /v1/customers/{id}/notifications.
type Notification struct {
	OrderID        string               `json:"order_id"`
	Status         domain.Status        `json:"status"`
	Reason         domain.FailureReason `json:"reason"`
	TrackingNumber string               `json:"tracking_number"`
	TotalCents     int64                `json:"total_cents"`
	Message        string               `json:"message"`
	EndedAt        time.Time            `json:"ended_at"`
}

// Notifications reads every page of a customer's notifications as that
// customer. Errors are the request's or a status other than 200.
func (e *Env) Notifications(customerID string) ([]Notification, error) {
	tok, err := e.CustomerToken(customerID)
	if err != nil {
		return nil, err
	}
	ctx, cancel := e.ctx()
	defer cancel()
	var (
		out    []Notification
		cursor string
	)
	for {
		path := "/v1/customers/" + url.PathEscape(customerID) + "/notifications?limit=200"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r, err := e.c.doIdempotent(ctx, request{method: http.MethodGet, path: path, token: tok})
		if err != nil {
			return nil, err
		}
		if r.Status != http.StatusOK {
			return nil, fmt.Errorf("GET the notifications of %s: %v, want 200", customerID, r)
		}
		var page struct {
			Notifications []Notification `json:"notifications"`
			NextCursor    string         `json:"next_cursor"`
		}
		if err := r.decode(&page); err != nil {
			return nil, err
		}
		out = append(out, page.Notifications...)
		if page.NextCursor == "" {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

// WaitNotifications waits until every order of names (tracked, final) is
// listed among its customer's notifications, or NotificationBound has
// passed since the last of them was seen final, and returns the
// notifications by order name. It fails tb when an order is not listed by
// then.
func (e *Env) WaitNotifications(res Result, names ...string) map[string]Notification {
	e.tb.Helper()
	var lastFinal time.Time
	e.mu.Lock()
	for _, name := range names {
		if tr := e.orders[name]; tr != nil && tr.finalAt.After(lastFinal) {
			lastFinal = tr.finalAt
		}
	}
	e.mu.Unlock()
	deadline := later(lastFinal, time.Now()).Add(NotificationBound)
	for {
		got, missing, err := e.readNotifications(res, names)
		if err == nil && len(missing) == 0 {
			return got
		}
		if time.Now().After(deadline) {
			e.tb.Fatalf("%v after the last order was final, orders %v have no notification (%v)", NotificationBound, missing, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readNotifications reads the notifications of the customers of names'
// orders and returns those of names, and the names with none.
func (e *Env) readNotifications(res Result, names []string) (map[string]Notification, []string, error) {
	byCustomer := map[string][]Notification{}
	got := map[string]Notification{}
	var missing []string
	for _, name := range names {
		o, ok := res.Orders[name]
		if !ok {
			return nil, nil, fmt.Errorf("order %s is not in the result", name)
		}
		list, ok := byCustomer[o.CustomerID]
		if !ok {
			var err error
			if list, err = e.Notifications(o.CustomerID); err != nil {
				return nil, names, err
			}
			byCustomer[o.CustomerID] = list
		}
		i := slices.IndexFunc(list, func(n Notification) bool { return n.OrderID == o.ID })
		if i < 0 {
			missing = append(missing, name)
			continue
		}
		got[name] = list[i]
	}
	return got, missing, nil
}

// CheckNotifications checks the notification service of a stack that runs
// with fault injection: it places one order of each outcome (completed;
// failed out of stock, payment declined and shipping unavailable;
// cancelled while shipping runs) for two customers, and expects, within
// NotificationBound of each order being final:
//
//   - exactly one notification per order, listed only to its customer,
//     with the order's final status and reason, and for the completed
//     order its tracking number and total;
//   - a message and an end time no earlier than the order's placing;
//   - nothing for orders that are not final (none are left).
//
// It returns the Result and the notifications by order name.
func CheckNotifications(tb testing.TB, tg Target) (Result, map[string]Notification) {
	tb.Helper()
	tg = tg.withDefaults()
	e := newEnv(tb, tg, "notifications")
	mug := e.Product("mug", 500, 3)
	ada := e.Customer("ada", 100_000)
	poor := e.Customer("poor", 100)
	started := time.Now().Add(-time.Second) // the stack's clock may differ a little

	e.Place("completed", e.Request("completed", ada, "DE", Line{mug, 1}))
	e.Place("out_of_stock", e.Request("out_of_stock", ada, "DE", Line{mug, 10}))
	e.Place("declined", e.Request("declined", poor, "DE", Line{mug, 1}))
	e.Place("unshipped", e.Request("unshipped", ada, "AQ", Line{mug, 1}))
	e.WaitFinal("completed", "out_of_stock", "declined", "unshipped")

	e.SetFaults(Faults{string(domain.StepShipping): {LatencyMS: holdLatency.Milliseconds()}})
	e.Place("cancelled", e.Request("cancelled", ada, "DE", Line{mug, 1}))
	e.WaitStep("cancelled", domain.StepPayment, domain.StepDone)
	if r := e.Cancel("cancelled"); r.Status != http.StatusAccepted {
		tb.Fatalf("cancel while shipping ran: %v, want 202", r)
	}
	res := e.Finish()
	ExpectOrder(tb, res, "completed", WantCompleted())
	ExpectOrder(tb, res, "out_of_stock", WantRefused(domain.StepInventory, domain.ReasonOutOfStock))
	ExpectOrder(tb, res, "declined", WantRefused(domain.StepPayment, domain.ReasonPaymentDeclined))
	ExpectOrder(tb, res, "unshipped", wantShippingUnavailable)
	ExpectOrder(tb, res, "cancelled", WantCancelledAt(domain.StepShipping))
	CheckInvariants(tb, res)

	names := res.OrderNames()
	got := e.WaitNotifications(res, names...)
	for _, name := range names {
		o, n := res.Orders[name], got[name]
		if n.Status != o.Status || n.Reason != o.FailureReason {
			tb.Errorf("order %s ended %s (%q); its notification says %s (%q)", name, o.Status, o.FailureReason, n.Status, n.Reason)
		}
		if n.Message == "" || n.EndedAt.Before(started) {
			tb.Errorf("order %s: notification %+v, want a message and an end time after the run started", name, n)
		}
		if o.Status == domain.StatusCompleted && (n.TrackingNumber != o.TrackingNumber || o.TotalCents == nil || n.TotalCents != *o.TotalCents) {
			tb.Errorf("order %s completed with tracking %q and total %v; its notification says %q and %d",
				name, o.TrackingNumber, o.TotalCents, n.TrackingNumber, n.TotalCents)
		}
	}
	// One per order, each only to its customer.
	for _, customer := range []string{ada, poor} {
		list, err := e.Notifications(customer)
		if err != nil {
			tb.Fatal(err)
		}
		seen := map[string]int{}
		for _, n := range list {
			seen[n.OrderID]++
		}
		for _, name := range names {
			o := res.Orders[name]
			want := 0
			if o.CustomerID == customer {
				want = 1
			}
			if seen[o.ID] != want {
				tb.Errorf("customer %s has %d notifications of order %s (%s's), want %d", customer, seen[o.ID], name, o.CustomerID, want)
			}
		}
	}
	return res, got
}
