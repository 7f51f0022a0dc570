package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// unmatchedRoute is the route label of requests no route matched.
const unmatchedRoute = "unmatched"

// httpMetrics counts and times requests by method, route template and
// status.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newHTTPMetrics registers the request metrics on reg. When reg already
// holds them (another handler built on the same registry with the same
// variant), those are shared; a clash with other metrics is logged and the
// metrics then go unexported.
func newHTTPMetrics(reg *prometheus.Registry, variant string, log *slog.Logger) *httpMetrics {
	labels := []string{"method", "route", "status"}
	constLabels := prometheus.Labels{"variant": variant}
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ordersaga", Subsystem: "http", Name: "requests_total",
			Help:        "HTTP requests served, by method, route template and status.",
			ConstLabels: constLabels,
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "ordersaga", Subsystem: "http", Name: "request_duration_seconds",
			Help:        "Time to serve HTTP requests, by method, route template and status.",
			ConstLabels: constLabels,
			Buckets:     []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, labels),
	}
	m.requests = register(reg, m.requests, log)
	m.duration = register(reg, m.duration, log)
	return m
}

func register[C prometheus.Collector](reg *prometheus.Registry, c C, log *slog.Logger) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	log.Error("registering HTTP metrics", "err", err)
	return c
}

// observe records one served request.
func (m *httpMetrics) observe(method, route string, status int, d time.Duration) {
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(method, route, code).Inc()
	m.duration.WithLabelValues(method, route, code).Observe(d.Seconds())
}

// methodLabel bounds the method label to the standard methods.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// metricsHandler serves the registry in the Prometheus text format.
func (a *api) metricsHandler() http.Handler {
	return promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{})
}
