package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
)

// Admission control: a bound on the orders in flight (Limits.MaxInFlight).
//
// Past the bound a new order would only wait behind the others: Little's
// law (orders in flight = throughput × time in flight) says that once a
// variant runs at its peak throughput, every order admitted beyond what
// that throughput needs adds its share of waiting to every order's
// latency, without a single order more per second. So the API refuses it
// at once (503 with Retry-After, nothing placed) rather than letting
// latency grow without bound, and the orders it admitted keep a latency
// near the variant's latency at its peak.

// Default bounds of orders in flight per API process, by variant: peak
// throughput × the time an order may spend in flight at full load,
// rounded to a power of two. The time is 0.5 s, a quarter of the 2 s
// latency objective of admitted orders, which leaves room for the tail
// (p99 ran 1.2 to 2 times p50 at the measured peaks) and for a slower
// store; and a bound stays below the number of orders in flight past
// which the measured throughput fell.
//
//   - Orchestrated: peak about 55 orders/s on SQLite (at 10 clients) and
//     about 30/s on PostgreSQL with the embedded Temporal server's history
//     shards raised (27/s measured with 8 shards at 10 clients), the
//     production store: 30/s × 0.5 s ≈ 16. On SQLite, 16 in flight is
//     already past the 10 clients at which the peak was reached.
//   - Choreographed: peak 430 to 480 orders/s on SQLite (at 32 clients,
//     p50 71 ms) and 377/s on PostgreSQL (32 clients, p99 138 ms); 0.5 s
//     would allow some 200 in flight, but the closed loop lost half its
//     throughput from 32 to 128 clients (430 to 208 orders/s, p50 618 ms),
//     so the bound is twice the 32 clients of the peak: 64, where 450/s
//     means about 0.14 s in flight.
//
// Another variant (a test's) gets DefaultMaxInFlightOther. Where a store
// is slower or faster than these, -max-in-flight sets the bound: its
// throughput at the peak times half a second.
const (
	DefaultMaxInFlightOrchestrated  = 16
	DefaultMaxInFlightChoreographed = 64
	DefaultMaxInFlightOther         = 64
)

// DefaultMaxInFlight returns the default bound of orders in flight of a
// variant ("orchestrated" or "choreographed"; DefaultMaxInFlightOther for
// any other name).
func DefaultMaxInFlight(variant string) int {
	switch variant {
	case "orchestrated":
		return DefaultMaxInFlightOrchestrated
	case "choreographed":
		return DefaultMaxInFlightChoreographed
	}
	return DefaultMaxInFlightOther
}

// InFlightBound returns the bound of orders in flight l sets for a
// variant: MaxInFlight, or the variant's default when it is 0.
func (l Limits) InFlightBound(variant string) int {
	if l.MaxInFlight > 0 {
		return l.MaxInFlight
	}
	return DefaultMaxInFlight(variant)
}

// OrderEnds is what admission control needs of the order store beside
// Orders: which orders are pending when the process starts, and a call
// when an order ends, with no query of its own per order. *orders.Store
// implements it (its watcher reads every followed order in one query per
// interval, and a commit in this process tells at once). When Deps.Orders
// does not implement it, orders in flight are not bounded.
type OrderEnds interface {
	// PendingIDs returns the ids of the orders not final yet.
	PendingIDs(ctx context.Context) ([]string, error)
	// Follow calls ended once, when the order is final; ended must not
	// block.
	Follow(id string, ended func())
}

// admissionRefusalKey marks, on the gin context, a request refused by
// admission control: the access log records it at info level.
const admissionRefusalKey ctxKey = "admission_refusal"

// Bounds of the Retry-After of a refused order.
const (
	minRetryAfter = time.Second
	maxRetryAfter = 10 * time.Second
	// recentWindow is how far back the time in flight behind Retry-After
	// looks, in whole seconds.
	recentWindow = 10
	// pendingReadTimeout bounds the read of the pending orders.
	pendingReadTimeout = 5 * time.Second
)

// admission counts the orders in flight of one API handler: the orders it
// placed, and those pending in the store when it started (read once, on
// the first POST /v1/orders), until the store says they ended. It counts
// an order being placed (a reservation) too, so that concurrent requests
// never admit more than the bound.
type admission struct {
	max      int
	ends     OrderEnds
	now      func() time.Time
	log      *slog.Logger
	inFlight prometheus.Gauge
	refused  prometheus.Counter

	loadMu sync.Mutex // one read of the pending orders at a time

	mu       sync.Mutex
	loaded   bool
	orders   map[string]time.Time // in flight (placed and not final): since when
	reserved int                  // admitted, being placed
	done     [recentWindow]secondEnds
}

// secondEnds sums the orders that ended in one second (Unix time) and
// their times in flight.
type secondEnds struct {
	sec      int64
	n        int
	inFlight time.Duration
}

// newAdmission returns the admission control of an API over d, or nil
// when its order store cannot tell when orders end (see OrderEnds).
func newAdmission(d Deps) *admission {
	ends, ok := d.Orders.(OrderEnds)
	if !ok || d.Intake == nil {
		return nil
	}
	constLabels := prometheus.Labels{"variant": d.Variant}
	ad := &admission{
		max:  d.Limits.InFlightBound(d.Variant),
		ends: ends,
		now:  d.Now,
		log:  d.Logger,
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "ordersaga", Subsystem: "orders", Name: "in_flight",
			Help:        "Orders this API process admitted (and orders pending when it started) that are not final yet; POST /v1/orders of a new order is refused at Limits.MaxInFlight of them.",
			ConstLabels: constLabels,
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "ordersaga", Subsystem: "orders", Name: "refused_total",
			Help:        "POST /v1/orders of new orders refused (503) because Limits.MaxInFlight orders were in flight.",
			ConstLabels: constLabels,
		}),
		orders: map[string]time.Time{},
	}
	ad.inFlight = register(d.Registry, ad.inFlight, d.Logger)
	ad.refused = register(d.Registry, ad.refused, d.Logger)
	return ad
}

// load reads the store's pending orders once, counts them in flight and
// follows them. A failed read is logged and tried again on the next
// order; meanwhile the orders this process places are counted.
func (ad *admission) load(ctx context.Context) {
	ad.mu.Lock()
	loaded := ad.loaded
	ad.mu.Unlock()
	if loaded {
		return
	}
	ad.loadMu.Lock()
	defer ad.loadMu.Unlock()
	ad.mu.Lock()
	loaded = ad.loaded
	ad.mu.Unlock()
	if loaded {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pendingReadTimeout)
	defer cancel()
	ids, err := ad.ends.PendingIDs(rctx)
	if err != nil {
		ad.log.WarnContext(ctx, "reading the pending orders to count the orders in flight; trying again with the next order", "err", err)
		return
	}
	var added []string
	ad.mu.Lock()
	now := ad.now()
	for _, id := range ids {
		if _, dup := ad.orders[id]; !dup {
			ad.orders[id] = now
			added = append(added, id)
		}
	}
	ad.loaded = true
	ad.inFlight.Set(float64(len(ad.orders)))
	ad.mu.Unlock()
	for _, id := range added {
		ad.follow(id)
	}
}

// admit reserves a place for the order id and returns true, unless the
// bound is reached: then false. An order already in flight is a repeat
// and needs no place (reserved false, ok true).
func (ad *admission) admit(id string) (reserved, ok bool) {
	ad.mu.Lock()
	defer ad.mu.Unlock()
	if _, in := ad.orders[id]; in {
		return false, true
	}
	if len(ad.orders)+ad.reserved >= ad.max {
		return false, false
	}
	ad.reserved++
	return true, true
}

// placed settles an admission: the reservation, if any, is given back,
// and an order created is counted until the store says it ended.
func (ad *admission) placed(id string, reserved, created bool) {
	ad.mu.Lock()
	if reserved {
		ad.reserved--
	}
	_, dup := ad.orders[id]
	if created && !dup {
		ad.orders[id] = ad.now()
		ad.inFlight.Set(float64(len(ad.orders)))
	}
	ad.mu.Unlock()
	if created && !dup {
		ad.follow(id)
	}
}

// follow asks the store to say when the order ends.
func (ad *admission) follow(id string) {
	ad.ends.Follow(id, func() { ad.ended(id) })
}

// ended stops counting an order and sums its time in flight for
// Retry-After.
func (ad *admission) ended(id string) {
	ad.mu.Lock()
	defer ad.mu.Unlock()
	since, in := ad.orders[id]
	if !in {
		return
	}
	delete(ad.orders, id)
	ad.inFlight.Set(float64(len(ad.orders)))
	now := ad.now()
	sec := now.Unix()
	c := &ad.done[sec%recentWindow]
	if c.sec != sec {
		*c = secondEnds{sec: sec}
	}
	c.n++
	c.inFlight += now.Sub(since)
}

// retryAfter is the Retry-After of a refusal: about when the orders in
// flight will have made way, in whole seconds from minRetryAfter to
// maxRetryAfter. By Little's law the bound over the rate at which orders
// end is their time in flight, so it is the mean time in flight of the
// orders that ended in the last recentWindow seconds, measured directly
// (a rate over a short or idle stretch would say little). When none ended
// in that time, it is the time the oldest order in flight has been in
// flight so far, which the next end will be at least.
func (ad *admission) retryAfter() time.Duration {
	ad.mu.Lock()
	defer ad.mu.Unlock()
	now := ad.now()
	sec := now.Unix()
	var n int
	var sum time.Duration
	for _, c := range ad.done {
		if c.sec > sec-recentWindow && c.sec <= sec {
			n += c.n
			sum += c.inFlight
		}
	}
	var wait time.Duration
	if n > 0 {
		wait = sum / time.Duration(n)
	} else {
		for _, since := range ad.orders {
			wait = max(wait, now.Sub(since))
		}
	}
	secs := time.Duration(math.Ceil(wait.Seconds())) * time.Second
	return min(max(secs, minRetryAfter), maxRetryAfter)
}

// admitOrder applies admission control to POST /v1/orders of order id
// (clientID: the client chose the id, so it may be a repeat). Within the
// bound it returns the function to call with whether Place created the
// order. At the bound a repeat of an existing order is served as before
// (it places nothing); a new order gets 503 problem with Retry-After and
// false: the caller stops, having placed nothing.
func (a *api) admitOrder(c *gin.Context, id string, clientID bool) (settle func(created bool), ok bool) {
	ad := a.admission
	if ad == nil {
		return func(bool) {}, true
	}
	ctx := c.Request.Context()
	ad.load(ctx)
	if reserved, ok := ad.admit(id); ok {
		return func(created bool) { ad.placed(id, reserved, created) }, true
	}
	if clientID {
		_, err := a.Orders.Get(ctx, id)
		if err == nil {
			return func(bool) {}, true // a repeat: Place answers with the stored order, or a conflict
		}
		if !errs.Is(err, errs.NotFound) {
			a.fail(c, err)
			return nil, false
		}
	}
	ad.refused.Inc()
	c.Set(admissionRefusalKey, true)
	a.unavailable(c, ad.retryAfter(), fmt.Sprintf(
		"the server already has its limit of %d orders in flight (placed and not final yet); the order was not placed: "+
			"retry after the Retry-After delay (with the same order_id, which makes a retry safe)", ad.max))
	return nil, false
}

// placeAdmitted places an admitted order and settles its admission, also
// when Place panics.
func (a *api) placeAdmitted(ctx context.Context, o *domain.Order, settle func(created bool)) (stored *domain.Order, created bool, err error) {
	defer func() { settle(created && err == nil) }()
	return a.Intake.Place(ctx, o)
}

// unavailable answers 503 problem with a Retry-After of retry, in whole
// seconds.
func (a *api) unavailable(c *gin.Context, retry time.Duration, detail string) {
	p := newProblem(typeUnavailable, detail)
	p.Instance = c.Request.URL.Path
	c.Header("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
	a.writeJSON(c, p.Status, mediaProblem, p)
	c.Abort()
}
