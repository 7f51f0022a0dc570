package scenario

// TEST DOUBLE. This file holds a reference fake of a stack for the suite's
// own tests only: an in-memory implementation of the business rules behind
// the shared REST layer (shared/httpapi), running each order's saga in a
// goroutine with the shared fault injectors. It proves that the suite's
// assertions pass against a correct stack and, with its deliberate bugs
// switched on, that they fail. It is not a variant and nothing but these
// tests may use it.

import (
	"cmp"
	"context"
	"fmt"
	"github.com/ordersaga/ordersaga/shared/notifications"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/timeline"
)

// bugs are the reference fake's deliberate defects; the zero value is a
// correct fake.
type bugs struct {
	oversell        bool          // inventory reserves without checking the available stock
	forgetRefund    bool          // payment's compensation marks the step compensated but returns no credit
	keepReservation bool          // completion leaves the order's units reserved
	leaveStepDone   bool          // compensations undo the effect but leave the step done
	stall           time.Duration // every saga waits this long before its first step
	// lateRefund, when set, returns a refund's credit this long after the
	// payment step shows compensated: not a defect, an eventually
	// consistent stack the suite must wait for.
	lateRefund time.Duration
	// wrap, when set, wraps the HTTP layer: a defect of the API itself.
	// It gets the keys the fake verifies tokens with.
	wrap func(h http.Handler, keys *auth.Keys) http.Handler
	// open serves the API without authentication, though the Target
	// holds keys and sends tokens.
	open bool
	// listAll lists every customer's orders, ignoring the customer filter.
	listAll bool
	// limits are the API's limits: not a defect, a setting (the zero
	// value takes the defaults).
	limits httpapi.Limits
	// notifyFailedAsCompleted notifies a failed order as completed.
	notifyFailedAsCompleted bool
}

// fakeStack is the reference fake's state.
type fakeStack struct {
	bugs   bugs
	faults faults.Set
	sagas  sync.WaitGroup

	mu        sync.Mutex
	products  map[string]inventory.Product
	customers map[string]payment.Customer
	orders    map[string]*domain.Order
	created   map[string]int // order id → creation sequence, for the list
	tracking  map[string]string
	seq       int
	changed   chan struct{} // closed and replaced on every order change
}

// newFake starts a reference fake with the bugs on an httptest server and
// returns it as a Target holding the keys its API verifies tokens with.
// FinalWithin is short: the fake finishes orders in milliseconds unless
// faults slow it.
func newFake(tb testing.TB, name string, b bugs) Target {
	tb.Helper()
	keys := authtest.RandomKeys(tb)
	f := &fakeStack{
		bugs: b,
		faults: faults.Set{
			"inventory": faults.New("inventory", 1),
			"payment":   faults.New("payment", 2),
			"shipping":  faults.New("shipping", 3),
		},
		products:  map[string]inventory.Product{},
		customers: map[string]payment.Customer{},
		orders:    map[string]*domain.Order{},
		created:   map[string]int{},
		tracking:  map[string]string{},
		changed:   make(chan struct{}),
	}
	served := keys
	if b.open {
		served = nil
	}
	h := httpapi.New(httpapi.Deps{
		Variant:       name,
		Catalog:       fakeCatalog{f},
		Accounts:      fakeAccounts{f},
		Orders:        fakeOrders{f},
		Intake:        fakeFlow{f},
		Timeline:      fakeTimeline{f},
		Faults:        f.faults,
		Notifications: fakeNotifications{f},
		Auth:          served,
		Limits:        b.limits,
	})
	if b.wrap != nil {
		h = b.wrap(h, keys)
	}
	srv := httptest.NewServer(h)
	tb.Cleanup(func() {
		srv.Close()
		for _, in := range f.faults {
			_ = in.Set(faults.Setting{}) // a zero setting is always valid
		}
		f.sagas.Wait()
	})
	return Target{Name: name, BaseURL: srv.URL, Client: srv.Client(), FinalWithin: 5 * time.Second, BurstOrders: 60, Keys: keys}
}

// clone copies an order so callers never share the stored one.
func clone(o *domain.Order) *domain.Order {
	c, err := domain.Restore(o.State())
	if err != nil {
		panic(fmt.Sprintf("restoring a stored order: %v", err))
	}
	return c
}

// notify wakes every WaitFinal; the caller holds f.mu.
func (f *fakeStack) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// must panics on an error of the domain that the fake's own logic makes
// impossible.
func must(err error) {
	if err != nil {
		panic(fmt.Sprintf("reference fake: %v", err))
	}
}

// inject asks the step's service injector until it lets the call through:
// latency holds the saga, injected errors are transient and retried.
func (f *fakeStack) inject(step domain.StepName) {
	in := f.faults[string(step)]
	for delay := time.Millisecond; in.Inject(context.Background(), "call") != nil; delay = min(delay*2, 10*time.Millisecond) {
		time.Sleep(delay)
	}
}

// run is one order's saga: inventory, payment, shipping, then completion;
// a refusal or a cancel compensates the done steps in reverse.
func (f *fakeStack) run(id string) {
	defer f.sagas.Done()
	time.Sleep(f.bugs.stall)
	var done []domain.StepName
	for _, step := range saga.Default().Names() {
		if f.cancelRequested(id) {
			f.stop(id, done, "", "")
			return
		}
		f.inject(step)
		if reason, ok := f.act(id, step); !ok {
			f.stop(id, done, step, reason)
			return
		}
		done = append(done, step)
	}
	if !f.complete(id) {
		f.stop(id, done, "", "")
	}
}

func (f *fakeStack) cancelRequested(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.orders[id].CancelRequested()
}

// act carries out a step's action, or refuses it with a failure reason.
func (f *fakeStack) act(id string, step domain.StepName) (domain.FailureReason, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.orders[id]
	req := o.Request()
	now := time.Now()
	switch step {
	case domain.StepInventory:
		var prices []domain.PricedItem
		for _, it := range req.Items {
			p, ok := f.products[it.SKU]
			if !ok || (!f.bugs.oversell && p.Available < it.Quantity) {
				return domain.ReasonOutOfStock, false
			}
			prices = append(prices, domain.PricedItem{SKU: it.SKU, Quantity: it.Quantity, PriceCents: p.PriceCents})
		}
		for _, it := range req.Items {
			p := f.products[it.SKU]
			p.Available -= it.Quantity
			p.Reserved += it.Quantity
			f.products[it.SKU] = p
		}
		must(o.SetPrices(prices, now))
	case domain.StepPayment:
		total := *o.State().TotalCents
		c, ok := f.customers[req.CustomerID]
		if !ok || c.CreditCents < total {
			return domain.ReasonPaymentDeclined, false
		}
		c.CreditCents -= total
		f.customers[req.CustomerID] = c
	case domain.StepShipping:
		if req.ShipTo.Country == "AQ" {
			return domain.ReasonShippingUnavailable, false
		}
		f.tracking[id] = "TRK-" + id
	}
	must(o.MarkStep(step, domain.StepDone, now))
	f.notify()
	return "", true
}

// undo compensates a done step.
func (f *fakeStack) undo(id string, step domain.StepName) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.orders[id]
	req := o.Request()
	switch step {
	case domain.StepInventory:
		for _, it := range req.Items {
			p := f.products[it.SKU]
			p.Available += it.Quantity
			p.Reserved -= it.Quantity
			f.products[it.SKU] = p
		}
	case domain.StepPayment:
		refund := func() {
			c := f.customers[req.CustomerID]
			c.CreditCents += *o.State().TotalCents
			f.customers[req.CustomerID] = c
		}
		switch {
		case f.bugs.forgetRefund:
		case f.bugs.lateRefund > 0:
			f.sagas.Add(1)
			time.AfterFunc(f.bugs.lateRefund, func() {
				defer f.sagas.Done()
				f.mu.Lock()
				defer f.mu.Unlock()
				refund()
			})
		default:
			refund()
		}
	case domain.StepShipping:
		delete(f.tracking, id)
	}
	if !f.bugs.leaveStepDone {
		must(o.MarkStep(step, domain.StepCompensated, time.Now()))
	}
	f.notify()
}

// stop ends a saga: the refusing step (if any) is marked failed, the done
// steps are compensated in reverse, and the order fails for the reason or,
// with no reason, is cancelled.
func (f *fakeStack) stop(id string, done []domain.StepName, refused domain.StepName, reason domain.FailureReason) {
	if refused != "" {
		f.mu.Lock()
		must(f.orders[id].MarkStep(refused, domain.StepFailed, time.Now()))
		f.mu.Unlock()
	}
	for _, step := range slices.Backward(done) {
		f.inject(step)
		f.undo(id, step)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if reason != "" {
		must(f.orders[id].Fail(reason, time.Now()))
	} else {
		must(f.orders[id].Cancel(time.Now()))
	}
	f.notify()
}

// complete commits the reserved units and completes the order, unless the
// client asked to cancel it.
func (f *fakeStack) complete(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.orders[id]
	if o.CancelRequested() {
		return false
	}
	if !f.bugs.keepReservation {
		for _, it := range o.Request().Items {
			p := f.products[it.SKU]
			p.Reserved -= it.Quantity
			f.products[it.SKU] = p
		}
	}
	must(o.Contribute(domain.Contribution{TrackingNumber: f.tracking[id]}, time.Now()))
	must(o.Complete(time.Now()))
	f.notify()
	return true
}

// fakeCatalog is the fake seen as httpapi.Catalog.
type fakeCatalog struct{ *fakeStack }

func (c fakeCatalog) SetProduct(_ context.Context, in inventory.ProductInput) (inventory.Product, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.products[in.SKU]
	if in.Stock < old.Reserved {
		return inventory.Product{}, errs.E(errs.Conflict, "stock %d is below the %d units reserved", in.Stock, old.Reserved)
	}
	p := inventory.Product{SKU: in.SKU, Name: in.Name, PriceCents: in.PriceCents, Available: in.Stock - old.Reserved, Reserved: old.Reserved}
	c.products[in.SKU] = p
	return p, nil
}

func (c fakeCatalog) Product(_ context.Context, sku string) (inventory.Product, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.products[sku]
	if !ok {
		return inventory.Product{}, errs.E(errs.NotFound, "product %s not found", sku)
	}
	return p, nil
}

// Products pages by sku, as the inventory service does; its cursors are
// "after:" and the page's last sku.
func (c fakeCatalog) Products(_ context.Context, f inventory.ProductFilter) (inventory.ProductPage, error) {
	after, ok := strings.CutPrefix(f.Cursor, "after:")
	if f.Cursor != "" && !ok {
		return inventory.ProductPage{}, errs.InvalidFields([]errs.FieldError{{Field: "cursor", Message: "is not a cursor this server issued"}})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]inventory.Product, 0, len(c.products))
	for _, p := range c.products {
		if p.SKU > after {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b inventory.Product) int { return cmp.Compare(a.SKU, b.SKU) })
	page := inventory.ProductPage{Products: out}
	if f.Limit > 0 && len(out) > f.Limit {
		page.Products = out[:f.Limit]
		page.NextCursor = "after:" + out[f.Limit-1].SKU
	}
	return page, nil
}

// fakeAccounts is the fake seen as httpapi.Accounts.
type fakeAccounts struct{ *fakeStack }

func (a fakeAccounts) SetCustomer(_ context.Context, in payment.CustomerInput) (payment.Customer, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := payment.Customer(in)
	a.customers[in.ID] = c
	return c, nil
}

func (a fakeAccounts) Customer(_ context.Context, id string) (payment.Customer, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.customers[id]
	if !ok {
		return payment.Customer{}, errs.E(errs.NotFound, "customer %s not found", id)
	}
	return c, nil
}

// fakeOrders is the fake seen as httpapi.Orders.
type fakeOrders struct{ *fakeStack }

// fakeNotifications lists a notification for each final order of the
// customer, as the notification service would record it.
type fakeNotifications struct{ *fakeStack }

func (fn fakeNotifications) List(_ context.Context, flt notifications.Filter) (notifications.Page, error) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	var page notifications.Page
	for _, id := range slices.Sorted(maps.Keys(fn.orders)) {
		st := fn.orders[id].State()
		if st.CustomerID != flt.CustomerID || !st.Status.Final() {
			continue
		}
		e := notifications.Ending{OrderID: id, CustomerID: st.CustomerID, Status: st.Status, Reason: st.FailureReason,
			TrackingNumber: fn.tracking[id], EndedAt: st.UpdatedAt}
		if st.TotalCents != nil {
			e.TotalCents = *st.TotalCents
		}
		if fn.bugs.notifyFailedAsCompleted && st.Status == domain.StatusFailed {
			e.Status, e.Reason = domain.StatusCompleted, ""
		}
		n, err := notifications.New(e)
		if err != nil {
			return notifications.Page{}, err
		}
		page.Notifications = append(page.Notifications, n)
	}
	return page, nil
}

// fakeTimeline shows an order's placing only.
type fakeTimeline struct{ *fakeStack }

func (tl fakeTimeline) Timeline(_ context.Context, id string) ([]timeline.Entry, error) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	o, ok := tl.orders[id]
	if !ok {
		return nil, errs.E(errs.NotFound, "order %s not found", id)
	}
	return []timeline.Entry{{At: o.State().CreatedAt, Service: "orders", Kind: timeline.KindOrderPlaced}}, nil
}

func (s fakeOrders) Get(_ context.Context, id string) (*domain.Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return nil, errs.E(errs.NotFound, "order %s not found", id)
	}
	return clone(o), nil
}

// List pages newest first; a cursor is the offset of the next page.
func (s fakeOrders) List(_ context.Context, f orders.Filter) (orders.Page, error) {
	offset := 0
	if f.Cursor != "" {
		n, err := strconv.Atoi(f.Cursor)
		if err != nil || n < 0 {
			return orders.Page{}, errs.E(errs.Invalid, "bad cursor")
		}
		offset = n
	}
	limit := cmp.Or(f.Limit, 50)
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*domain.Order
	for _, o := range s.orders {
		if (f.Status == "" || o.Status() == f.Status) && (f.CustomerID == "" || s.bugs.listAll || o.Request().CustomerID == f.CustomerID) {
			all = append(all, o)
		}
	}
	slices.SortFunc(all, func(a, b *domain.Order) int { return cmp.Compare(s.created[b.ID()], s.created[a.ID()]) })
	var page orders.Page
	for i := offset; i < len(all) && i < offset+limit; i++ {
		page.Orders = append(page.Orders, clone(all[i]))
	}
	if offset+limit < len(all) {
		page.NextCursor = strconv.Itoa(offset + limit)
	}
	return page, nil
}

func (s fakeOrders) WaitFinal(ctx context.Context, id string) (*domain.Order, error) {
	for {
		s.mu.Lock()
		o, ok := s.orders[id]
		if !ok {
			s.mu.Unlock()
			return nil, errs.E(errs.NotFound, "order %s not found", id)
		}
		c, changed := clone(o), s.changed
		s.mu.Unlock()
		if c.Status().Final() {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return c, nil
		case <-changed:
		}
	}
}

// fakeFlow is the fake seen as httpapi.Flow.
type fakeFlow struct{ *fakeStack }

func (fl fakeFlow) Place(_ context.Context, o *domain.Order) (*domain.Order, bool, error) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if old, ok := fl.orders[o.ID()]; ok {
		if old.State().Fingerprint != o.State().Fingerprint {
			return nil, false, errs.E(errs.Conflict, "order %s exists with another request", o.ID())
		}
		return clone(old), false, nil
	}
	fl.seq++
	fl.orders[o.ID()] = clone(o)
	fl.created[o.ID()] = fl.seq
	fl.sagas.Add(1)
	go fl.run(o.ID())
	return clone(o), true, nil
}

func (fl fakeFlow) Cancel(_ context.Context, id string) (*domain.Order, error) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	o, ok := fl.orders[id]
	if !ok {
		return nil, errs.E(errs.NotFound, "order %s not found", id)
	}
	if err := o.RequestCancel(time.Now()); err != nil {
		return nil, err
	}
	fl.notify()
	return clone(o), nil
}
