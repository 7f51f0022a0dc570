package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/propagation"

	"github.com/ordersaga/ordersaga/shared/errs"
)

// DefaultUpstreamTimeout bounds a request forwarded to another process when
// Upstreams.Timeout is 0: from sending it to the end of the answer.
const DefaultUpstreamTimeout = 10 * time.Second

// Upstreams are the other processes of a split deployment, one per service
// this process does not host. The process hosting the order service forwards
// to them what their services own, so a client finds the whole contract at
// its address: the catalog (/v1/products…) goes to the inventory service's
// process, the customer accounts (/v1/customers…) to the payment service's,
// and /v1/admin/faults asks every service's process and merges the answers.
// A route whose service this process hosts is never forwarded.
//
// A forwarded request keeps its method, path, query, body (read first, so
// the 1 MiB limit holds here too) and headers, Authorization and the W3C
// trace context (traceparent, tracestate) among them; the trace context is
// the request's server span when tracing is on, so the owning process's
// span is its child. The caller's credential is checked here before
// anything is forwarded (see auth.go), and again by the owning process,
// which serves the API with the same keys. The owning process's answer
// comes back as it is. A process that does not answer in time is a 503
// problem (retry); an answer /v1/admin/faults cannot use is a 502 problem.
type Upstreams struct {
	// Services maps a service that carries out a saga step (inventory,
	// payment, shipping), or the notification service, to the base URL of
	// the process hosting it (http://host:port).
	Services map[string]*url.URL
	// Timeout bounds each forwarded request (DefaultUpstreamTimeout when 0).
	Timeout time.Duration
	// Transport carries the forwarded requests (nil: one with connect and
	// TLS handshake timeouts, ignoring $HTTP_PROXY).
	Transport http.RoundTripper
}

// upstreams is the API's side of Upstreams, ready to forward.
type upstreams struct {
	services  map[string]*url.URL
	timeout   time.Duration
	transport http.RoundTripper
	client    *http.Client
	// peers are the processes holding the fault injectors of services
	// this process does not host.
	peers []faultPeer
}

// faultPeer is a process holding the fault injectors of services.
type faultPeer struct {
	base     *url.URL
	services []string // sorted
}

// newUpstreams prepares the forwarding of u; hosted holds the services
// whose fault injectors this process has.
func newUpstreams(u Upstreams, hosted func(service string) bool) upstreams {
	up := upstreams{services: map[string]*url.URL{}, timeout: u.Timeout, transport: u.Transport}
	if up.timeout <= 0 {
		up.timeout = DefaultUpstreamTimeout
	}
	for name, base := range u.Services {
		if base != nil {
			up.services[name] = base
		}
	}
	if len(up.services) == 0 {
		return up
	}
	if up.transport == nil {
		up.transport = newUpstreamTransport()
	}
	up.client = &http.Client{
		Transport:     up.transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	byBase := map[string]*faultPeer{}
	for _, name := range slices.Sorted(maps.Keys(up.services)) {
		if hosted(name) || name == notificationService { // the notification service has no fault injector
			continue
		}
		base := up.services[name]
		p := byBase[base.String()]
		if p == nil {
			p = &faultPeer{base: base}
			byBase[base.String()] = p
		}
		p.services = append(p.services, name)
	}
	for _, key := range slices.Sorted(maps.Keys(byBase)) {
		up.peers = append(up.peers, *byBase[key])
	}
	return up
}

// newUpstreamTransport returns the transport of the forwarded requests:
// bounded connect and TLS handshake waits (the request's deadline bounds
// the rest), a pool of idle connections per process, and no proxy from the
// environment (the other processes are the deployment's own).
func newUpstreamTransport() *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          128,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   3 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// hostsRemotely reports whether another process holds the fault injector
// of service.
func (up upstreams) hostsRemotely(service string) bool {
	for _, p := range up.peers {
		if slices.Contains(p.services, service) {
			return true
		}
	}
	return false
}

// forwardToOwner forwards the request to the process hosting the service
// that owns its route, when there is one, and reports whether it did.
func (a *api) forwardToOwner(c *gin.Context) bool {
	service := routeService(c.FullPath())
	target := a.up.services[service]
	if target == nil {
		return false
	}
	a.forward(c, service, target)
	return true
}

// forward serves the request from the process at target, which hosts
// service: its answer as it is, or a problem when it does not answer.
func (a *api) forward(c *gin.Context, service string, target *url.URL) {
	defer c.Abort()
	if err := bufferBody(c); err != nil {
		a.fail(c, err)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), a.up.timeout)
	defer cancel()
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			propagation.TraceContext{}.Inject(pr.Out.Context(), propagation.HeaderCarrier(pr.Out.Header))
		},
		Transport: a.up.transport,
		ErrorHandler: func(_ http.ResponseWriter, r *http.Request, err error) {
			a.fail(c, a.up.unreachable(r.Context(), servicesText([]string{service}), err))
		},
		ErrorLog: slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
	}
	proxy.ServeHTTP(c.Writer, c.Request.WithContext(ctx))
}

// bufferBody reads the request body into memory, so that a body over
// maxBodyBytes is refused here with 413 as the owning service would refuse
// it, and the forwarded request has a length.
func bufferBody(c *gin.Context) error {
	r := c.Request
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	if r.ContentLength > maxBodyBytes {
		return errTooLarge()
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, r.Body, maxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return errTooLarge()
		}
		return errs.Wrap(errs.Invalid, err, "the request body could not be read")
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.TransferEncoding = nil
	return nil
}

// unreachable is the error of a forwarded request that got no answer: the
// process of who ("inventory service") is down, unreachable or too slow.
// ctx is the forwarded request's.
func (up upstreams) unreachable(ctx context.Context, who string, err error) error {
	if ne, ok := errors.AsType[net.Error](err); errors.Is(ctx.Err(), context.DeadlineExceeded) || ok && ne.Timeout() {
		return errs.Wrap(errs.Unavailable, err, fmt.Sprintf("the %s did not answer within %v; retry", who, up.timeout))
	}
	return errs.Wrap(errs.Unavailable, err, fmt.Sprintf("the %s does not answer; retry", who))
}

// exchangeFaults asks every peer, at once, for the fault settings of its
// services: with a PUT of their part of set when set names any of them,
// else with a GET. It returns the settings of every peer's services, or
// the failure of the peers that failed, warning that the settings of the
// others may have changed when it sent any a PUT.
func (a *api) exchangeFaults(c *gin.Context, set faultsJSON) (faultsJSON, error) {
	peers := a.up.peers
	if len(peers) == 0 {
		return faultsJSON{}, nil
	}
	results := make([]faultsJSON, len(peers))
	failures := make([]error, len(peers))
	var wg sync.WaitGroup
	changing := false
	for i, p := range peers {
		part := faultsJSON{}
		for _, s := range p.services {
			if v, ok := set[s]; ok {
				part[s] = v
			}
		}
		changing = changing || len(part) > 0
		wg.Go(func() { results[i], failures[i] = a.peerFaults(c.Request.Context(), c.Request.Header, p, part) })
	}
	wg.Wait()
	out := faultsJSON{}
	for _, r := range results {
		maps.Copy(out, r)
	}
	return out, joinPeerFailures(failures, changing)
}

// peerFaults asks one peer for its services' fault settings, after setting
// part when it is not empty.
func (a *api) peerFaults(ctx context.Context, in http.Header, p faultPeer, part faultsJSON) (faultsJSON, error) {
	ctx, cancel := context.WithTimeout(ctx, a.up.timeout)
	defer cancel()
	who := servicesText(p.services)
	method, body := http.MethodGet, []byte(nil)
	if len(part) > 0 {
		method = http.MethodPut
		var err error
		if body, err = json.Marshal(part); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "encoding the fault settings")
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base.JoinPath(faultsPath).String(), bytes.NewReader(body))
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "building the request to the "+who)
	}
	for _, h := range forwardedHeaders {
		if v := in.Values(h); len(v) > 0 {
			req.Header[h] = slices.Clone(v)
		}
	}
	propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(req.Header))
	req.Header.Set("Accept", mediaJSON)
	if body != nil {
		req.Header.Set("Content-Type", mediaJSON)
	}
	resp, err := a.up.client.Do(req)
	if err != nil {
		return nil, a.up.unreachable(ctx, who, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return nil, a.up.unreachable(ctx, who, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, peerRefusal(who, method, resp, b)
	}
	var got faultsJSON
	if err := json.Unmarshal(b, &got); err != nil {
		return nil, badGateway(fmt.Sprintf("the %s answered %s %s with a body that is not fault settings", who, method, faultsPath), err)
	}
	out := make(faultsJSON, len(p.services))
	for _, s := range p.services {
		v, ok := got[s]
		if !ok {
			return nil, badGateway(fmt.Sprintf("the process given for the %s service does not report its fault setting: it does not host %s", s, s), nil)
		}
		out[s] = v
	}
	return out, nil
}

// forwardedHeaders are the caller's headers /v1/admin/faults passes on to
// the peers it asks: the credential and the W3C trace context (overwritten
// by the request's own span when tracing is on).
var forwardedHeaders = []string{"Authorization", "Traceparent", "Tracestate"}

// faultsPath is the path of the fault settings.
const faultsPath = "/v1/admin/faults"

// peerRefusal is the error of a peer's answer other than 200: a 503 stays
// a 503 (retry); anything else is a 502 naming the peer's status and, when
// it sent a problem document, its detail.
func peerRefusal(who, method string, resp *http.Response, body []byte) error {
	detail := ""
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == mediaProblem {
		var p problem
		if json.Unmarshal(body, &p) == nil && p.Detail != "" {
			detail = ": " + p.Detail
		}
	}
	cause := fmt.Errorf("%s %s answered %s", method, faultsPath, resp.Status)
	if resp.StatusCode == http.StatusServiceUnavailable {
		return errs.Wrap(errs.Unavailable, cause, fmt.Sprintf("the %s is unavailable%s; retry", who, detail))
	}
	msg := fmt.Sprintf("the %s answered %s %s with %d%s", who, method, faultsPath, resp.StatusCode, detail)
	if resp.StatusCode == http.StatusNotFound {
		msg += " (is its process running with fault injection enabled?)"
	}
	return badGateway(msg, cause)
}

// joinPeerFailures combines the failures of peers into one: a 503 when
// every one is unavailable, else a 502, its detail naming each and, with
// changing, warning that the other services' settings may have changed.
func joinPeerFailures(failures []error, changing bool) error {
	var details []string
	var first error
	allUnavailable := true
	for _, err := range failures {
		if err == nil {
			continue
		}
		if first == nil {
			first = err
		}
		p := problemFor(err)
		details = append(details, p.Detail)
		allUnavailable = allUnavailable && p.Type == typeUnavailable
	}
	if first == nil {
		return nil
	}
	if len(details) == 1 && !changing {
		return first
	}
	detail := strings.Join(details, "; ")
	if changing {
		detail += " (the other services' settings may have changed: GET " + faultsPath + " shows them)"
	}
	cause := errors.Join(failures...)
	if allUnavailable {
		return errs.Wrap(errs.Unavailable, cause, detail)
	}
	return badGateway(detail, cause)
}

// servicesText names services in a message: "inventory service",
// "inventory and payment services".
func servicesText(services []string) string {
	switch len(services) {
	case 0:
		return "services"
	case 1:
		return services[0] + " service"
	}
	return strings.Join(services[:len(services)-1], ", ") + " and " + services[len(services)-1] + " services"
}

// badGateway is the error of an answer from another process that the API
// cannot use; cause, when not nil, is logged.
func badGateway(detail string, cause error) error {
	return &httpError{typ: typeBadGateway, detail: detail, cause: cause}
}
