package deploycheck

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/shared/hosted"
)

// kubeFinder returns the peerFinder of a Kubernetes build: a URL's host is
// a Service of the build (name, name.namespace, name.namespace.svc…), its
// port one of the Service's ports, and the process is the ordersaga
// container of the Deployment the Service selects (procs, by Deployment).
func kubeFinder(m manifests, procs map[string][]peer) peerFinder {
	return func(host string, port int) (peer, string) {
		name, _, _ := strings.Cut(host, ".")
		s := m.service(name)
		if s == nil {
			return peer{}, fmt.Sprintf("leads to host %s, which is no Service of the build", host)
		}
		found := false
		for _, p := range s.Spec.Ports {
			found = found || int(p.Port) == port
		}
		if !found {
			return peer{}, fmt.Sprintf("is port %d of Service %s, which has no such port", port, s.Name)
		}
		d := m.selected(s)
		if d == nil || len(procs[d.Name]) == 0 {
			return peer{}, fmt.Sprintf("leads to Service %s, whose pods run no ordersaga process", s.Name)
		}
		p := procs[d.Name][0]
		p.what = "Service " + s.Name + " (" + p.what + ")"
		return p, ""
	}
}

// checkIngress checks an Ingress fronting the API: each rule routes
// exactly the API's paths (bin.APIPaths, with Exact or Prefix paths) to
// Services of the build whose process hosts orders, of one variant; no
// default backend routes everything.
func checkIngress(ps *problems, m manifests, procs map[string][]peer, ing *networkingv1.Ingress, bin Binary) {
	what := "Ingress " + ing.Name
	if ing.Spec.DefaultBackend != nil {
		ps.addf("%s has a default backend: it routes every path, the per-process %s included", what, strings.Join(perProcessPaths, ", "))
	}
	if len(ing.Spec.Rules) == 0 {
		ps.addf("%s has no rules", what)
	}
	for _, rule := range ing.Spec.Rules {
		rwhat := what + " (host " + rule.Host + ")"
		if rule.Host == "" {
			rwhat = what + " (any host)"
		}
		if rule.HTTP == nil || len(rule.HTTP.Paths) == 0 {
			ps.addf("%s routes no HTTP paths", rwhat)
			continue
		}
		var routes []route
		variants := map[process.Variant]bool{}
		for _, p := range rule.HTTP.Paths {
			pwhat := rwhat + ", path " + p.Path
			pt := networkingv1.PathTypeImplementationSpecific
			if p.PathType != nil {
				pt = *p.PathType
			}
			if pt != networkingv1.PathTypeExact && pt != networkingv1.PathTypePrefix {
				ps.addf("%s: pathType %s: use Exact or Prefix, which every Ingress controller matches alike", pwhat, pt)
			}
			routes = append(routes, route{path: p.Path, exact: pt == networkingv1.PathTypeExact, what: pwhat})
			if v, ok := checkIngressBackend(ps, m, procs, pwhat, p.Backend); ok {
				variants[v] = true
			}
		}
		if len(variants) > 1 {
			ps.addf("%s routes to the processes of both variants: one address serves one variant's API", rwhat)
		}
		switch {
		case bin.APIErr != nil:
			ps.addf("%s: its routes cannot be checked: %v", rwhat, bin.APIErr)
		case bin.APIPaths != nil:
			checkRoutes(ps, rwhat, routes, bin.APIPaths)
		}
	}
}

// checkIngressBackend checks the backend of one Ingress path: a Service of
// the build, on one of its ports, selecting the pods of a process hosting
// orders. It returns that process's variant.
func checkIngressBackend(ps *problems, m manifests, procs map[string][]peer, what string, b networkingv1.IngressBackend) (process.Variant, bool) {
	if b.Service == nil {
		ps.addf("%s: its backend is not a Service", what)
		return "", false
	}
	s := m.service(b.Service.Name)
	if s == nil {
		ps.addf("%s: Service %s is not part of the build", what, b.Service.Name)
		return "", false
	}
	found := false
	for _, p := range s.Spec.Ports {
		found = found || (b.Service.Port.Name != "" && p.Name == b.Service.Port.Name) || (b.Service.Port.Number != 0 && p.Port == b.Service.Port.Number)
	}
	if !found {
		ps.addf("%s: Service %s has no port %s", what, s.Name, portRef(b.Service.Port))
	}
	d := m.selected(s)
	if d == nil {
		return "", false // reported by checkService
	}
	for _, p := range procs[d.Name] {
		if p.info.cfgValid && p.info.cfg.Hosts(hosted.RoleOrders) {
			return p.info.variant, true
		}
	}
	ps.addf("%s: Service %s leads to Deployment %s, which does not host orders: the whole API is served by the process hosting orders", what, s.Name, d.Name)
	return "", false
}

// portRef writes a Service port reference as a manifest gives it.
func portRef(p networkingv1.ServiceBackendPort) string {
	if p.Name != "" {
		return p.Name
	}
	return fmt.Sprint(p.Number)
}
