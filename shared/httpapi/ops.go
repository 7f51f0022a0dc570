package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// readyTimeout bounds the readiness checks of one GET /readyz.
const readyTimeout = 2 * time.Second

// checkStatus is the outcome of one readiness check.
type checkStatus string

// Readiness outcomes.
const (
	checkOK     checkStatus = "ok"
	checkFailed checkStatus = "failed"
)

// statusJSON is the body of GET /healthz and of a ready GET /readyz.
type statusJSON struct {
	Status checkStatus `json:"status"`
	Checks []checkJSON `json:"checks,omitempty"`
}

// checkJSON is one readiness check's outcome. Failure causes are logged,
// not shown.
type checkJSON struct {
	Name    string      `json:"name"`
	Status  checkStatus `json:"status"`
	Message string      `json:"message,omitempty"`
}

// healthz serves GET /healthz: the process is alive.
func (a *api) healthz(c *gin.Context) { a.ok(c, statusJSON{Status: checkOK}) }

// readyz serves GET /readyz: every check passed within readyTimeout (200),
// or a not-ready problem (503) listing each check's outcome.
func (a *api) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
	defer cancel()
	results := make([]checkJSON, len(a.Ready))
	var wg sync.WaitGroup
	for i, ch := range a.Ready {
		wg.Go(func() { results[i] = a.runCheck(ctx, ch) })
	}
	wg.Wait()
	var failed []string
	for _, r := range results {
		if r.Status != checkOK {
			failed = append(failed, r.Name)
		}
	}
	if len(failed) == 0 {
		a.ok(c, statusJSON{Status: checkOK, Checks: results})
		return
	}
	p := newProblem(typeNotReady, "failed checks: "+strings.Join(failed, ", "))
	p.Checks = results
	a.writeProblem(c, p)
}

// runCheck runs one check, giving up when ctx ends even if the check does
// not.
func (a *api) runCheck(ctx context.Context, ch Check) checkJSON {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- fmt.Errorf("check panicked: %v", v)
			}
		}()
		if ch.Check == nil {
			done <- errors.New("no check function")
			return
		}
		done <- ch.Check(ctx)
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil {
		return checkJSON{Name: ch.Name, Status: checkOK}
	}
	a.Logger.WarnContext(ctx, "readiness check failed", "check", ch.Name, "err", err)
	msg := "failed"
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "timed out"
	}
	return checkJSON{Name: ch.Name, Status: checkFailed, Message: msg}
}

// openapi serves GET /openapi.yaml.
func (a *api) openapi(c *gin.Context) { c.Data(http.StatusOK, mediaYAML, openapiYAML) }

// NewOps returns the operations endpoints alone, GET /healthz, /readyz and
// /metrics, unauthenticated, for a listener of their own (a port that only
// the cluster's probes and scrapers reach). Give it the Deps given to New,
// Registry set, so both serve the same metrics; the API keeps serving them
// too.
func NewOps(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	a := &api{Deps: d}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(a.recoverPanics)
	r.NoRoute(a.noRoute)
	r.NoMethod(a.noMethod)
	r.GET("/healthz", a.healthz)
	r.GET("/readyz", a.readyz)
	r.GET("/metrics", gin.WrapH(a.metricsHandler()))
	return r
}
