package httpapi

import (
	"log"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/shared/errs"
)

// Limits bounds how long the API gives a client and how much it serves at
// once. The zero value of each field takes its default (DefaultLimits).
type Limits struct {
	ReadHeaderTimeout time.Duration // to read a request's headers
	ReadTimeout       time.Duration // to read a whole request, body included
	WriteTimeout      time.Duration // to write a response, from the end of the headers' read; above the longest ?wait=
	IdleTimeout       time.Duration // a kept-alive connection's wait for its next request
	MaxRequests       int           // requests served at once; past it 503 with Retry-After
	MaxWaiting        int           // POST /v1/orders?wait= requests waiting at once; past it 503 with Retry-After
	// MaxInFlight bounds the orders in flight: orders this process
	// admitted (and those pending when it started) that are not final
	// yet. Past it POST /v1/orders of a new order answers 503 with
	// Retry-After and places nothing; a repeat of an existing order, GET
	// and cancel are served as ever. 0 takes the variant's default
	// (DefaultMaxInFlight; see admission.go for how it was chosen).
	MaxInFlight int
}

// DefaultLimits returns the limits of a zero Limits. Its MaxInFlight is 0:
// each variant's own default (DefaultMaxInFlight).
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      45 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxRequests:       1024,
		MaxWaiting:        256,
	}
}

// withDefaults returns l with every zero field set to its default.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.ReadHeaderTimeout > 0 {
		d.ReadHeaderTimeout = l.ReadHeaderTimeout
	}
	if l.ReadTimeout > 0 {
		d.ReadTimeout = l.ReadTimeout
	}
	if l.WriteTimeout > 0 {
		d.WriteTimeout = l.WriteTimeout
	}
	if l.IdleTimeout > 0 {
		d.IdleTimeout = l.IdleTimeout
	}
	if l.MaxRequests > 0 {
		d.MaxRequests = l.MaxRequests
	}
	if l.MaxWaiting > 0 {
		d.MaxWaiting = l.MaxWaiting
	}
	return d
}

// NewServer returns the HTTP server of an API handler with the timeouts of
// l; errorLog receives the server's own errors (nil: the log package's).
func NewServer(h http.Handler, l Limits, errorLog *log.Logger) *http.Server {
	l = l.withDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		ErrorLog:          errorLog,
	}
}

// limiter holds the bounds of one API handler: a place per request served
// and a place per POST /v1/orders?wait= request waiting. A request that
// finds no free place is refused at once, never queued.
type limiter struct {
	requests chan struct{}
	waiting  chan struct{}
}

// newLimiter returns the limiter of l (its zero fields at their defaults).
func newLimiter(l Limits) *limiter {
	l = l.withDefaults()
	return &limiter{requests: make(chan struct{}, l.MaxRequests), waiting: make(chan struct{}, l.MaxWaiting)}
}

// unbounded reports whether a path is served whatever the load: the
// liveness, readiness and metrics endpoints, which orchestrators and
// monitoring must reach precisely when the API is busy.
func unbounded(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return false
}

// limitRequests returns the middleware that serves at most
// Limits.MaxRequests requests at once (GET /healthz, /readyz and /metrics
// not counted): past it, 503 problem with Retry-After.
func (a *api) limitRequests() gin.HandlerFunc {
	lim := a.limiter
	return func(c *gin.Context) {
		if unbounded(c.Request.URL.Path) {
			return
		}
		select {
		case lim.requests <- struct{}{}:
		default:
			a.fail(c, errs.E(errs.Unavailable,
				"the server is busy: it already serves its limit of %d requests at once; retry after the Retry-After delay", cap(lim.requests)))
			return
		}
		defer func() { <-lim.requests }()
		c.Next()
	}
}

// takeWaitPlace takes one of the Limits.MaxWaiting places of POST
// /v1/orders?wait= requests and returns the function that gives it back.
// When every place is taken it answers 503 problem with Retry-After and
// returns false: the caller stops, having changed nothing.
func (a *api) takeWaitPlace(c *gin.Context) (release func(), ok bool) {
	lim := a.limiter
	select {
	case lim.waiting <- struct{}{}:
		return func() { <-lim.waiting }, true
	default:
		a.fail(c, errs.E(errs.Unavailable,
			"too many requests are waiting for their order (at most %d at once); the order was not placed: retry after the Retry-After delay, or place it without wait and read GET /v1/orders/{order_id}",
			cap(lim.waiting)))
		return nil, false
	}
}
