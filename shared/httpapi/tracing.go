package httpapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/shared/telemetry"
)

// tracerName is the instrumentation scope of the API's spans.
const tracerName = "github.com/ordersaga/ordersaga/shared/httpapi"

// untracedRoutes are the probes and the metrics scrape: frequent, and about
// no order, so they get no span.
var untracedRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// traceRequests runs each request in a server span named by its method and
// route template ("POST /v1/orders"). A W3C traceparent header sent with
// the request makes the span its child, so a client's trace continues
// here; otherwise the span starts a trace. Handlers see the span in the
// request's context, and what they start (a saga, an event) continues the
// trace. The span carries the order a request concerns (order_id) and the
// service whose endpoint it is (service).
func (a *api) traceRequests(c *gin.Context) {
	route := c.FullPath()
	if untracedRoutes[route] {
		c.Next()
		return
	}
	method := methodLabel(c.Request.Method)
	name := method
	if route != "" {
		name += " " + route
	}
	ctx := propagation.TraceContext{}.Extract(c.Request.Context(), propagation.HeaderCarrier(c.Request.Header))
	attrs := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(method), semconv.URLPath(c.Request.URL.Path)}
	if route != "" {
		attrs = append(attrs, semconv.HTTPRoute(route))
	}
	if svc := routeService(route); svc != "" {
		attrs = append(attrs, telemetry.Service(svc))
	}
	ctx, span := a.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	defer span.End()
	c.Request = c.Request.WithContext(ctx)

	c.Next()

	status := c.Writer.Status()
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	if id := requestOrderID(c); id != "" {
		span.SetAttributes(telemetry.OrderID(id))
	}
	if status >= http.StatusInternalServerError {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}

// routeService returns the service whose endpoint a route template is, or
// "" for the API's own endpoints.
func routeService(route string) string {
	switch {
	case strings.HasPrefix(route, "/v1/orders"):
		return "orders"
	case strings.HasPrefix(route, "/v1/products"):
		return "inventory"
	case strings.HasPrefix(route, "/v1/customers/") && strings.HasSuffix(route, "/notifications"):
		return notificationService
	case strings.HasPrefix(route, "/v1/customers"):
		return "payment"
	}
	return ""
}
