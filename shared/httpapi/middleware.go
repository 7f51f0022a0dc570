package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/shared/errs"
)

// observe logs and measures every request: method, route template, status,
// duration and, when the request concerns one order, its id.
func (a *api) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	elapsed := time.Since(start)

	route := c.FullPath()
	if route == "" {
		route = unmatchedRoute
	}
	status := c.Writer.Status()
	method := methodLabel(c.Request.Method)
	a.metrics.observe(method, route, status, elapsed)

	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("route", route),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", elapsed),
	}
	if id := requestOrderID(c); id != "" {
		attrs = append(attrs, slog.String("order_id", id))
	}
	level := slog.LevelInfo
	switch {
	case c.GetBool(admissionRefusalKey):
		// Admission control refusing past its bound: expected under load,
		// counted by ordersaga_orders_refused_total; a warning for each
		// would flood the log exactly when the process is busiest.
	case status == http.StatusServiceUnavailable:
		level = slog.LevelWarn
	case status >= http.StatusInternalServerError:
		level = slog.LevelError
	}
	if last := c.Errors.Last(); last != nil {
		attrs = append(attrs, slog.String("err", last.Err.Error()))
	}
	a.Logger.LogAttrs(c.Request.Context(), level, "http request", attrs...)
}

// requestOrderID returns the order a request concerns, or "".
func requestOrderID(c *gin.Context) string {
	if id := c.Param("order_id"); id != "" {
		return id
	}
	if v, ok := c.Get(orderIDKey); ok {
		if id, ok := v.(string); ok {
			return id
		}
	}
	return ""
}

// recoverPanics turns a handler's panic into a logged 500 problem.
func (a *api) recoverPanics(c *gin.Context) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler { //nolint:errorlint // the sentinel itself is what net/http panics with
			panic(v)
		}
		a.Logger.ErrorContext(c.Request.Context(), "handler panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		if c.Writer.Written() {
			c.Abort()
			return
		}
		a.fail(c, errs.Wrap(errs.Internal, fmt.Errorf("panic: %v", v), "handler panicked"))
	}()
	c.Next()
}

// noRoute answers 404 for a path no route matches.
func (a *api) noRoute(c *gin.Context) {
	a.fail(c, errs.E(errs.NotFound, "no resource matches %s on this path", methodLabel(c.Request.Method)))
}

// noMethod answers 405 for a path served only with other methods; gin has
// set the Allow header.
func (a *api) noMethod(c *gin.Context) {
	a.fail(c, &httpError{typ: typeMethodNotAllowed, detail: fmt.Sprintf("%s is not allowed on this path; allowed: %s",
		methodLabel(c.Request.Method), c.Writer.Header().Get("Allow"))})
}
