package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/orders"
)

// Limits of the order endpoints' query parameters.
const (
	maxWait          = 30 * time.Second
	defaultListLimit = 50
	maxCursorLength  = 512
	cursorRule       = "is not a cursor this server issued"
)

// ctxKey names values the handlers leave on the gin context.
type ctxKey string

// orderIDKey holds the order id of POST /v1/orders, for the access log.
const orderIDKey ctxKey = "order_id"

// needOrders answers 503 when the stack serves no orders.
func (a *api) needOrders(c *gin.Context) {
	if a.Orders == nil || a.Intake == nil {
		a.fail(c, errs.E(errs.Unavailable, "this stack serves no orders"))
	}
}

// placeOrder serves POST /v1/orders[?wait=D].
func (a *api) placeOrder(c *gin.Context) {
	var f fieldErrors
	wait := parseWait(c, &f)
	var req placeOrderRequest
	var p domain.PlaceOrder
	if err := decodeBody(c, &req); err != nil {
		if err := f.merge(err); err != nil {
			a.fail(c, err)
			return
		}
	} else {
		if who := principal(c); req.CustomerID != "" && !who.Owns(req.CustomerID) {
			a.forbidden(c, fmt.Sprintf("a customer may place orders only for itself: customer_id must be %q, the token's customer", who.Subject))
			return
		}
		p = req.toPlaceOrder(a.NewID)
		if err := f.merge(p.Validate()); err != nil {
			a.fail(c, err)
			return
		}
	}
	if err := f.err(); err != nil {
		a.fail(c, err)
		return
	}
	c.Set(orderIDKey, p.OrderID)
	o, err := domain.NewOrder(p, a.Steps, a.Now())
	if err != nil {
		a.fail(c, err)
		return
	}
	if wait > 0 { // bounded before placing, so a refused request places nothing
		release, ok := a.takeWaitPlace(c)
		if !ok {
			return
		}
		defer release()
	}
	// Admission control: past Limits.MaxInFlight a new order is refused,
	// also before placing.
	settle, ok := a.admitOrder(c, p.OrderID, req.OrderID != nil && *req.OrderID != "")
	if !ok {
		return
	}
	ctx := c.Request.Context()
	stored, created, err := a.placeAdmitted(ctx, o, settle)
	if err != nil {
		a.fail(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusAccepted
	}
	if wait > 0 {
		stored = a.waitFinal(ctx, stored, wait)
		if created && stored.Status().Final() {
			status = http.StatusCreated
		}
	}
	if created {
		c.Header("Location", "/v1/orders/"+stored.ID())
	}
	a.writeJSON(c, status, mediaJSON, toOrderJSON(stored))
}

// waitFinal waits up to d for the order to be final and returns it as it is
// then. The order is already placed, so a failure to wait is only logged.
func (a *api) waitFinal(ctx context.Context, o *domain.Order, d time.Duration) *domain.Order {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	got, err := a.Orders.WaitFinal(wctx, o.ID())
	if err != nil || got == nil {
		a.Logger.WarnContext(ctx, "waiting for the order to be final", "order_id", o.ID(), "err", err)
		return o
	}
	return got
}

// parseWait reads ?wait, a Go duration from 0 to maxWait; absent or empty
// means no wait. A bad value is added to f.
func parseWait(c *gin.Context, f *fieldErrors) time.Duration {
	raw := c.Query("wait")
	if raw == "" {
		return 0
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d < 0 || d > maxWait {
		f.add("wait", "must be a duration from 0s to %s, such as 5s or 500ms", maxWait)
		return 0
	}
	return d
}

// getOrder serves GET /v1/orders/{order_id}. A customer's request for
// another customer's order answers as for an unknown one.
func (a *api) getOrder(c *gin.Context) {
	id := c.Param("order_id")
	if err := pathID("order_id", id); err != nil {
		a.fail(c, err)
		return
	}
	o, err := a.Orders.Get(c.Request.Context(), id)
	if err == nil && !principal(c).Owns(o.State().CustomerID) {
		err = orderNotFound(id)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	out := toOrderJSON(o)
	if a.Retries != nil && !o.Status().Final() {
		rs, err := a.Retries.Retrying(c.Request.Context(), o)
		if err != nil {
			a.Logger.WarnContext(c.Request.Context(), "reading the retries of an order", "order_id", id, "error", err)
		}
		out = out.withRetries(rs)
	}
	a.ok(c, out)
}

// cancelOrder serves POST /v1/orders/{order_id}/cancel. A request body, if
// any, is ignored. A customer's request for another customer's order
// answers as for an unknown one and cancels nothing.
func (a *api) cancelOrder(c *gin.Context) {
	id := c.Param("order_id")
	if err := pathID("order_id", id); err != nil {
		a.fail(c, err)
		return
	}
	if !a.ownOrder(c, id) {
		return
	}
	o, err := a.Intake.Cancel(c.Request.Context(), id)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.writeJSON(c, http.StatusAccepted, mediaJSON, toOrderJSON(o))
}

// listOrders serves GET /v1/orders?status=&limit=&cursor=. Empty parameters
// count as absent. A customer lists only its own orders.
func (a *api) listOrders(c *gin.Context) {
	filter, err := parseFilter(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	if who := principal(c); !who.Operator() {
		filter.CustomerID = who.Subject
	}
	page, err := a.Orders.List(c.Request.Context(), filter)
	if err != nil {
		if e, ok := errors.AsType[*errs.Error](err); ok && e.Code == errs.Invalid && len(e.Fields) == 0 {
			// Status and limit are checked above: the store refused the cursor.
			ce := errs.InvalidFields([]errs.FieldError{{Field: "cursor", Message: cursorRule}})
			ce.Err = err
			err = ce
		}
		a.fail(c, err)
		return
	}
	out := ordersJSON{Orders: make([]orderJSON, 0, len(page.Orders)), NextCursor: page.NextCursor}
	for _, o := range page.Orders {
		out.Orders = append(out.Orders, toOrderJSON(o))
	}
	a.ok(c, out)
}

// parseFilter reads and checks the query of GET /v1/orders.
func parseFilter(c *gin.Context) (orders.Filter, error) {
	var f fieldErrors
	var filter orders.Filter
	if s := domain.Status(c.Query("status")); s != "" {
		if s.Valid() {
			filter.Status = s
		} else {
			f.add("status", "must be one of %s, %s, %s or %s",
				domain.StatusPending, domain.StatusCompleted, domain.StatusFailed, domain.StatusCancelled)
		}
	}
	filter.Limit, filter.Cursor = pageQuery(c, orders.MaxListLimit, &f)
	return filter, f.err()
}

// pageQuery reads the page parameters of a list's query: limit (from 1
// to maxLimit; defaultListLimit when absent or empty) and cursor (opaque,
// at most maxCursorLength bytes). What is wrong goes to f, field by field.
func pageQuery(c *gin.Context, maxLimit int, f *fieldErrors) (limit int, cursor string) {
	limit, cursor = defaultListLimit, c.Query("cursor")
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxLimit {
			f.add("limit", "must be an integer from 1 to %d", maxLimit)
		} else {
			limit = n
		}
	}
	if len(cursor) > maxCursorLength {
		f.add("cursor", cursorRule)
	}
	return limit, cursor
}
