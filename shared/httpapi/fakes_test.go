package httpapi_test

import (
	"cmp"
	"context"
	"github.com/ordersaga/ordersaga/shared/notifications"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/payment"
)

// world holds in-memory fakes of every dependency of the API and records
// each call made to them.
type world struct {
	mu        sync.Mutex
	calls     []string
	products  map[string]inventory.Product
	customers map[string]payment.Customer
	orders    map[string]*domain.Order
	// Hooks that let a test change a fake's behaviour.
	waitFinal func(ctx context.Context, id string) (*domain.Order, error)
	failWith  error // when set, every call returns it
	panicWith any   // when set, every call panics with it
	lastList  orders.Filter
	// lastProducts is the filter of the last Products call.
	lastProducts inventory.ProductFilter
}

func newWorld() *world {
	return &world{
		products:  map[string]inventory.Product{},
		customers: map[string]payment.Customer{},
		orders:    map[string]*domain.Order{},
	}
}

// record notes a call and returns the injected failure, if any. The caller
// holds no lock.
func (w *world) record(call string) error {
	w.mu.Lock()
	w.calls = append(w.calls, call)
	p, err := w.panicWith, w.failWith
	w.mu.Unlock()
	if p != nil {
		panic(p)
	}
	return err
}

// Calls returns the calls made so far.
func (w *world) Calls() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls)
}

// notes is the world seen as the notification service: a final order
// of the customer's is a notification.
type notes struct{ *world }

func (n notes) List(_ context.Context, f notifications.Filter) (notifications.Page, error) {
	if err := n.record("ListNotifications"); err != nil {
		return notifications.Page{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	var page notifications.Page
	for _, id := range slices.Sorted(maps.Keys(n.orders)) {
		st := n.orders[id].State()
		if st.CustomerID != f.CustomerID || !st.Status.Final() {
			continue
		}
		page.Notifications = append(page.Notifications, notifications.Notification{OrderID: st.OrderID, CustomerID: st.CustomerID,
			Status: st.Status, Message: "order " + st.OrderID + " ended", EndedAt: st.UpdatedAt})
	}
	return page, nil
}

// catalog is the world seen as a Catalog.
type catalog struct{ *world }

func (c catalog) SetProduct(_ context.Context, in inventory.ProductInput) (inventory.Product, error) {
	if err := c.record("SetProduct"); err != nil {
		return inventory.Product{}, err
	}
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

func (c catalog) Product(_ context.Context, sku string) (inventory.Product, error) {
	if err := c.record("Product"); err != nil {
		return inventory.Product{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.products[sku]
	if !ok {
		return inventory.Product{}, errs.E(errs.NotFound, "product %s not found", sku)
	}
	return p, nil
}

// Products pages by sku; its cursors are "after:" and the page's last sku.
func (c catalog) Products(_ context.Context, f inventory.ProductFilter) (inventory.ProductPage, error) {
	if err := c.record("Products"); err != nil {
		return inventory.ProductPage{}, err
	}
	after, ok := strings.CutPrefix(f.Cursor, "after:")
	if f.Cursor != "" && !ok {
		return inventory.ProductPage{}, errs.InvalidFields([]errs.FieldError{{Field: "cursor", Message: "is not a cursor this server issued"}})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastProducts = f
	out := make([]inventory.Product, 0, len(c.products))
	for _, p := range c.products {
		if p.SKU > after {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b inventory.Product) int { return cmp.Compare(a.SKU, b.SKU) })
	page := inventory.ProductPage{Products: out}
	if len(out) > f.Limit {
		page.Products = out[:f.Limit]
		page.NextCursor = "after:" + out[f.Limit-1].SKU
	}
	return page, nil
}

// accounts is the world seen as Accounts.
type accounts struct{ *world }

func (a accounts) SetCustomer(_ context.Context, in payment.CustomerInput) (payment.Customer, error) {
	if err := a.record("SetCustomer"); err != nil {
		return payment.Customer{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	cu := payment.Customer(in)
	a.customers[in.ID] = cu
	return cu, nil
}

func (a accounts) Customer(_ context.Context, id string) (payment.Customer, error) {
	if err := a.record("Customer"); err != nil {
		return payment.Customer{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	cu, ok := a.customers[id]
	if !ok {
		return payment.Customer{}, errs.E(errs.NotFound, "customer %s not found", id)
	}
	return cu, nil
}

// store is the world seen as Orders.
type store struct{ *world }

func (s store) Get(_ context.Context, id string) (*domain.Order, error) {
	if err := s.record("Get"); err != nil {
		return nil, err
	}
	return s.order(id)
}

func (w *world) order(id string) (*domain.Order, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	o, ok := w.orders[id]
	if !ok {
		return nil, errs.E(errs.NotFound, "order %s not found", id)
	}
	return o, nil
}

// List pages by position: the cursor is "p" followed by the offset.
func (s store) List(_ context.Context, f orders.Filter) (orders.Page, error) {
	if err := s.record("List"); err != nil {
		return orders.Page{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastList = f
	offset := 0
	if f.Cursor != "" {
		n, ok := strings.CutPrefix(f.Cursor, "p")
		v, err := strconv.Atoi(n)
		if !ok || err != nil || v < 0 {
			return orders.Page{}, errs.E(errs.Invalid, "bad cursor")
		}
		offset = v
	}
	var all []*domain.Order
	for _, o := range s.orders {
		if (f.Status == "" || o.Status() == f.Status) && (f.CustomerID == "" || o.State().CustomerID == f.CustomerID) {
			all = append(all, o)
		}
	}
	slices.SortFunc(all, func(a, b *domain.Order) int {
		return cmp.Or(b.State().CreatedAt.Compare(a.State().CreatedAt), cmp.Compare(a.ID(), b.ID()))
	})
	all = all[min(offset, len(all)):]
	var p orders.Page
	if len(all) > f.Limit {
		all = all[:f.Limit]
		p.NextCursor = "p" + strconv.Itoa(offset+f.Limit)
	}
	p.Orders = all
	return p, nil
}

func (s store) WaitFinal(ctx context.Context, id string) (*domain.Order, error) {
	if err := s.record("WaitFinal"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	hook := s.waitFinal
	s.mu.Unlock()
	if hook != nil {
		return hook(ctx, id)
	}
	<-ctx.Done()
	return s.order(id)
}

// flow is the world seen as an Intake.
type flow struct{ *world }

func (f flow) Place(_ context.Context, o *domain.Order) (*domain.Order, bool, error) {
	if err := f.record("Place"); err != nil {
		return nil, false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if old, ok := f.orders[o.ID()]; ok {
		if old.State().Fingerprint != o.State().Fingerprint {
			return nil, false, errs.E(errs.Conflict, "order %s exists with another request", o.ID())
		}
		return old, false, nil
	}
	f.orders[o.ID()] = o
	return o, true, nil
}

func (f flow) Cancel(_ context.Context, id string) (*domain.Order, error) {
	if err := f.record("Cancel"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orders[id]
	if !ok {
		return nil, errs.E(errs.NotFound, "order %s not found", id)
	}
	if err := o.RequestCancel(t0); err != nil {
		return nil, err
	}
	return o, nil
}
