// Package httpapi serves the REST contract of shared/API.md with gin. Both
// saga variants serve it through New; each plugs its own pieces in through
// the small interfaces below, so the HTTP shapes, status codes and problem
// documents are the same code for both.
//
// Choices the contract leaves open, also stated in openapi.yaml:
//   - A request body must be JSON. A body without Content-Type is read as
//     JSON; any other media type than application/json is refused with 415.
//   - Every error is application/problem+json. Its "errors" list is present
//     when particular fields are at fault.
//   - POST /v1/orders?wait=D takes a Go duration ("5s", "500ms", "0") from 0
//     to 30 s. A repeated request (same order_id, same body) answers 200 with
//     the order as it is, after waiting when wait is given.
//   - PUT /v1/admin/faults: a service's object replaces that service's
//     setting (an omitted field is 0); services not named keep theirs.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/telemetry"
)

// Catalog is the inventory service's catalog, as the API uses it.
type Catalog interface {
	// SetProduct creates or replaces a product. Errors: errs.Invalid,
	// errs.Conflict when the stock is below what orders reserved.
	SetProduct(ctx context.Context, in inventory.ProductInput) (inventory.Product, error)
	// Product returns one product. Errors: errs.NotFound.
	Product(ctx context.Context, sku string) (inventory.Product, error)
	// Products returns a page of products, by sku. Errors: errs.Invalid
	// naming the limit or cursor field.
	Products(ctx context.Context, f inventory.ProductFilter) (inventory.ProductPage, error)
}

// Accounts is the payment service's customer accounts, as the API uses them.
type Accounts interface {
	// SetCustomer creates or replaces a customer. Errors: errs.Invalid.
	SetCustomer(ctx context.Context, in payment.CustomerInput) (payment.Customer, error)
	// Customer returns one customer. Errors: errs.NotFound.
	Customer(ctx context.Context, id string) (payment.Customer, error)
}

// Orders reads the order store.
type Orders interface {
	// Get returns one order. Errors: errs.NotFound.
	Get(ctx context.Context, id string) (*domain.Order, error)
	// List returns a page of orders, newest first. Errors: errs.Invalid for
	// a bad cursor.
	List(ctx context.Context, f orders.Filter) (orders.Page, error)
	// WaitFinal returns the order once it is final, or as it is when ctx
	// ends (with no error).
	WaitFinal(ctx context.Context, id string) (*domain.Order, error)
}

// Intake is the saga variant's side of the API: it places and cancels
// orders.
type Intake interface {
	// Place starts the saga for a new order (already validated) and returns the stored order with created=true;
	// for an existing id with the same request fingerprint it returns the existing order and created=false; errs.Conflict for another fingerprint.
	Place(ctx context.Context, o *domain.Order) (*domain.Order, bool, error)
	// Cancel asks to cancel; errs.NotFound, errs.Conflict when completed or failed; returns the order.
	Cancel(ctx context.Context, id string) (*domain.Order, error)
}

// Retries tells which steps of a pending order keep failing and are being
// retried (the failure model's "visible while it lasts"). Errors are
// faults; the order is then shown without them.
type Retries interface {
	Retrying(ctx context.Context, o *domain.Order) ([]domain.StepRetry, error)
}

// Check is one readiness check of GET /readyz.
type Check struct {
	Name  string
	Check func(context.Context) error
}

// Deps is what the API serves from.
type Deps struct {
	Variant  string   // "orchestrated" | "choreographed"
	Catalog  Catalog  // nil: product endpoints answer 503 problem
	Accounts Accounts // nil: customer endpoints answer 503 problem
	Orders   Orders   // nil: order endpoints answer 503 problem
	Intake   Intake   // nil: order endpoints answer 503 problem
	Timeline Timeline // nil: GET /v1/orders/{order_id}/timeline answers 503 problem
	// Notifications is the notification service (nil: GET
	// /v1/customers/{id}/notifications is forwarded to Upstreams, or
	// answers 503 problem).
	Notifications Notifications
	Retries       Retries              // nil: orders are shown without their steps' retries
	Faults        faults.Set           // nil: /v1/admin/faults answers 404 (fault injection disabled); else it also asks Upstreams
	Ready         []Check              // /readyz runs them all (with a short timeout) → 200 or 503 with which failed
	Registry      *prometheus.Registry // /metrics serves it (promhttp); nil → a new registry
	Logger        *slog.Logger         // nil: logs are discarded
	Now           func() time.Time     // nil: time.Now
	NewID         func() string        // order ids when the client sends none; nil → a UUID (github.com/google/uuid)
	Steps         []domain.StepName    // the steps of a new order: the saga's (nil → saga.Default().Names())

	// TracerProvider gives each request a server span (see
	// traceRequests); nil: no tracing.
	TracerProvider trace.TracerProvider

	// Auth verifies the bearer tokens of /v1 requests and says who they
	// act as (see shared/auth and the README's "Who may do what"). nil
	// turns authentication off: only for tests of a single component;
	// every command of the binary sets it.
	Auth *auth.Keys

	// Limits bounds the requests served at once and the waiting ones
	// (NewServer applies its timeouts), and the orders in flight when
	// Orders implements OrderEnds (admission control). The zero value is
	// DefaultLimits(), with the variant's DefaultMaxInFlight.
	Limits Limits

	// Upstreams are the processes hosting the services this one does not
	// (a split deployment): the endpoints of those services are forwarded
	// to them instead of answering 503, and /v1/admin/faults covers them.
	// The zero value forwards nothing.
	Upstreams Upstreams
}

// api holds the handlers' dependencies.
type api struct {
	Deps
	metrics *httpMetrics
	tracer  trace.Tracer
	up      upstreams
	// admission bounds the orders in flight; nil when Orders cannot tell
	// when orders end (see OrderEnds).
	admission *admission
	limiter   *limiter // the bounds of requests and waiting requests
}

// New returns the REST API of API.md as an http.Handler. It switches gin to
// release mode (a process-wide setting of gin).
func New(d Deps) http.Handler { return newRouter(d) }

// newRouter builds the gin engine with every route of the contract.
func newRouter(d Deps) *gin.Engine {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.NewID == nil {
		d.NewID = uuid.NewString
	}
	if len(d.Steps) == 0 {
		d.Steps = saga.Default().Names()
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
		d.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	a := &api{Deps: d, metrics: newHTTPMetrics(d.Registry, d.Variant, d.Logger)}
	a.tracer = telemetry.Or(d.TracerProvider).Tracer(tracerName)
	a.up = newUpstreams(d.Upstreams, func(service string) bool { return d.Faults[service] != nil })
	a.admission = newAdmission(d)
	a.limiter = newLimiter(d.Limits)

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	_ = r.SetTrustedProxies(nil) // never fails for nil: no proxy is trusted
	r.Use(a.traceRequests, a.observe, a.recoverPanics)
	r.Use(a.limitRequests()) // Limits.MaxRequests at once; health, readiness and metrics always served
	r.NoRoute(a.noRoute)
	r.NoMethod(a.noMethod)

	r.GET("/healthz", a.healthz)
	r.GET("/readyz", a.readyz)
	r.GET("/metrics", gin.WrapH(a.metricsHandler()))
	r.GET("/openapi.yaml", a.openapi)

	// Who may call what: see auth.go. The checks come first, so a refused
	// request is neither forwarded nor served.
	r.GET("/v1/products", a.needCatalog, a.listProducts)
	r.GET("/v1/products/:sku", a.needCatalog, a.getProduct)
	r.PUT("/v1/products/:sku", a.authenticate, a.operatorOnly("set products"), a.needCatalog, a.putProduct)
	r.GET("/v1/customers/:id", a.authenticate, a.ownCustomer, a.needAccounts, a.getCustomer)
	r.PUT("/v1/customers/:id", a.authenticate, a.operatorOnly("set customer accounts"), a.needAccounts, a.putCustomer)
	r.GET("/v1/customers/:id/notifications", a.authenticate, a.ownCustomer, a.needNotifications, a.listNotifications)

	r.POST("/v1/orders", a.authenticate, a.needOrders, a.placeOrder)
	r.GET("/v1/orders", a.authenticate, a.needOrders, a.listOrders)
	r.GET("/v1/orders/:order_id", a.authenticate, a.needOrders, a.getOrder)
	r.POST("/v1/orders/:order_id/cancel", a.authenticate, a.needOrders, a.cancelOrder)
	r.GET("/v1/orders/:order_id/timeline", a.authenticate, a.needTimeline, a.getTimeline)

	admin := r.Group("/v1/admin", a.authenticate, a.operatorOnly("use the admin endpoints (fault injection)"))
	admin.GET("/faults", a.needFaults, a.getFaults)
	admin.PUT("/faults", a.needFaults, a.putFaults)
	return r
}
