package deploycheck

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

// How the deploy files put the whole REST API at one address: the process
// hosting the order service forwards the endpoints of the services it does
// not host to their processes (ORDERSAGA_<ROLE>_URL, see
// httpapi.Upstreams), and whatever fronts the API from outside (the
// published port in Compose, an Ingress on Kubernetes) routes the API's
// paths to that process. These checks hold both files to it.

// perProcessPaths are the paths of the API document each process answers
// about itself (its probes and its metrics scrape): an Ingress fronting
// the API must not route them, since they would describe one process only.
var perProcessPaths = []string{"/healthz", "/readyz", "/metrics"}

// apiPaths returns the paths of an OpenAPI document, sorted.
func apiPaths(doc []byte) ([]string, error) {
	var d struct {
		Paths map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("reading the API's OpenAPI document: %w", err)
	}
	if len(d.Paths) == 0 {
		return nil, fmt.Errorf("reading the API's OpenAPI document: it has no paths")
	}
	return sortedKeys(d.Paths), nil
}

// readAPIPaths returns the paths of the OpenAPI document the binary
// serves (shared/httpapi).
func readAPIPaths() ([]string, error) { return apiPaths(httpapi.OpenAPI()) }

// upstreamEnv returns the environment variable of role r's upstream URL.
func upstreamEnv(r hosted.Role) string {
	return envflag.EnvName(process.EnvPrefix, process.UpstreamFlag(r))
}

// peer is the process an upstream URL leads to, as the file wiring it
// defines it.
type peer struct {
	// what names it in messages ("service orchestrated-payment").
	what string
	info containerInfo
}

// peerFinder returns the process at host and port of a URL in the file
// being checked, or why there is none.
type peerFinder func(host string, port int) (peer, string)

// checkUpstreams checks the upstream URLs of a process of a saga variant
// (info, named what): a process hosting orders names, for every role it
// does not host, the process hosting it, so its API is the whole API; each
// URL leads (through find) to a process of the same variant hosting that
// role.
func checkUpstreams(ps *problems, what string, info containerInfo, find peerFinder) {
	if info.variant == "" || !info.cfgValid || !info.cfg.Hosts(hosted.RoleOrders) {
		return
	}
	cfg := info.cfg
	for _, r := range process.UpstreamRoles() {
		raw, set := cfg.UpstreamURLs[r]
		switch {
		case cfg.Hosts(r):
			continue
		case !set:
			ps.addf("%s hosts orders but not %s, and sets no %s: its REST API answers the %s service's endpoints with 503 (set it to the %s process's http://host:port)",
				what, r, upstreamEnv(r), r, r)
			continue
		}
		u, err := url.Parse(raw)
		if err != nil {
			continue // the loader reported it
		}
		port := defaultPort(u)
		if port == 0 {
			ps.addf("%s: %s %s has no usable port", what, upstreamEnv(r), u.Redacted())
			continue
		}
		p, why := find(u.Hostname(), port)
		switch {
		case why != "":
			ps.addf("%s: %s %s %s", what, upstreamEnv(r), u.Redacted(), why)
		case p.info.variant != info.variant || !p.info.cfgValid:
			ps.addf("%s: %s %s leads to %s, which is not a process of the %s variant", what, upstreamEnv(r), u.Redacted(), p.what, info.variant)
		case !p.info.cfg.Hosts(r):
			ps.addf("%s: %s %s leads to %s, which hosts %v, not %s", what, upstreamEnv(r), u.Redacted(), p.what, p.info.cfg.Roles, r)
		}
	}
}

// defaultPort returns the port of u, or its scheme's (80, 443); 0 when
// neither says.
func defaultPort(u *url.URL) int {
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return 0
		}
		return n
	}
	switch u.Scheme {
	case "http":
		return 80
	case "https":
		return 443
	}
	return 0
}

// httpPort returns the port a process of a saga variant serves HTTP on, 0
// when its address has none.
func httpPort(info containerInfo) int {
	i := strings.LastIndex(info.cfg.HTTPAddr, ":")
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(info.cfg.HTTPAddr[i+1:])
	if err != nil {
		return 0
	}
	return n
}

// route is one path an Ingress routes, with where it leads.
type route struct {
	path  string
	exact bool
	// what names the rule and path in messages.
	what string
}

// matches reports whether the route takes a request for path, as an
// Ingress controller decides: the same path for Exact, the same path or
// one below it, element by element, for Prefix.
func (rt route) matches(path string) bool {
	if rt.exact {
		return path == rt.path
	}
	prefix := strings.TrimSuffix(rt.path, "/")
	return prefix == "" || path == prefix || strings.HasPrefix(path, prefix+"/")
}

// samplePath returns a request path of an OpenAPI path template: each
// {parameter} replaced by a value.
func samplePath(template string) string {
	var b strings.Builder
	for {
		i := strings.Index(template, "{")
		j := strings.Index(template, "}")
		if i < 0 || j < i {
			b.WriteString(template)
			return b.String()
		}
		b.WriteString(template[:i] + "x")
		template = template[j+1:]
	}
}

// checkRoutes checks the routes of one front (an Ingress rule, named what)
// against the API's paths: every path of the API is routed but the
// per-process ones, which are not, and no route takes a path the API does
// not have.
func checkRoutes(ps *problems, what string, routes []route, api []string) {
	for _, p := range api {
		sample := samplePath(p)
		routed := slices.IndexFunc(routes, func(rt route) bool { return rt.matches(sample) }) >= 0
		switch {
		case slices.Contains(perProcessPaths, p) && routed:
			ps.addf("%s routes %s, which each process answers about itself: keep it inside the cluster", what, p)
		case !slices.Contains(perProcessPaths, p) && !routed:
			ps.addf("%s does not route %s, a path of the API (shared/httpapi/openapi.yaml)", what, p)
		}
	}
	for _, rt := range routes {
		used := slices.ContainsFunc(api, func(p string) bool {
			return !slices.Contains(perProcessPaths, p) && rt.matches(samplePath(p))
		})
		if !used {
			ps.addf("%s: path %s takes no path of the API (shared/httpapi/openapi.yaml)", rt.what, rt.path)
		}
	}
}
