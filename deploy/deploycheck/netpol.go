package deploycheck

import (
	"net"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/ordersaga/ordersaga/shared/hosted"
)

// The NetworkPolicies of a build decide who reaches the pods of ordersaga.
// The checks hold them to the rules of deploy/k8s/base/networkpolicy.yaml:
// a default deny for the namespace; an API port reachable only from the
// ingress controller's namespace (the pods an Ingress routes to) and from
// the pods forwarding to it (an orders process, to the processes of the
// other services); the health and metrics port reachable from a
// monitoring namespace. The policies of the services ordersaga uses
// (PostgreSQL, Kafka, Temporal), which live in their own namespaces, are
// a kustomization of their own, "dependencies", inside the overlay they
// serve: each lets in only the ordersaga pods that use the service, on
// its port (see checkDependencyPolicies).

// dependenciesDir is the name of the kustomization, inside an overlay,
// holding the NetworkPolicies of the services the overlay's pods use.
const dependenciesDir = "dependencies"

// namespaceNameLabel is the label every namespace carries with its name.
const namespaceNameLabel = "kubernetes.io/metadata.name"

// appNameLabel names the application a pod belongs to.
const appNameLabel = "app.kubernetes.io/name"

// workload is a Deployment or a Job of a build, as its pods are.
type workload struct {
	what       string // "Deployment orchestrated-orders"
	name       string
	namespace  string
	deployment bool
	labels     map[string]string
	spec       corev1.PodSpec
}

// workloads returns the Deployments and Jobs of m.
func (m manifests) workloads() []workload {
	var out []workload
	for _, d := range m.deployments {
		out = append(out, workload{what: "Deployment " + d.Name, name: d.Name, namespace: d.Namespace, deployment: true, labels: d.Spec.Template.Labels, spec: d.Spec.Template.Spec})
	}
	for _, j := range m.jobs {
		out = append(out, workload{what: "Job " + j.Name, name: j.Name, namespace: j.Namespace, labels: j.Spec.Template.Labels, spec: j.Spec.Template.Spec})
	}
	return out
}

// selectorMatches reports whether sel selects labels; a nil selector
// selects nothing, an empty one everything.
func selectorMatches(sel *metav1.LabelSelector, labels map[string]string) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(k8slabels.Set(labels))
}

// emptySelector reports whether sel selects everything.
func emptySelector(sel *metav1.LabelSelector) bool {
	return sel != nil && len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0
}

// limitsIngress reports whether a policy limits the ingress of the pods it
// selects.
func limitsIngress(p *networkingv1.NetworkPolicy) bool {
	if len(p.Spec.PolicyTypes) == 0 {
		return true // Ingress is implied
	}
	return slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
}

// source is where a rule of a policy lets connections come from.
type source struct {
	policy string // the policy's name, for messages
	// anyone: the rule has no from, so every source is let in.
	anyone bool
	// cidr: an ipBlock.
	cidr string
	// namespace is the one namespace the source is in, by name; "" with
	// sameNamespace for the policy's own; neither for namespaces chosen by
	// other labels (allNamespaces when by none).
	namespace     string
	sameNamespace bool
	allNamespaces bool
	// pods selects the source's pods in its namespaces; nil for all.
	pods *metav1.LabelSelector
}

// String describes the source for a message.
func (s source) String() string {
	pods := "every pod"
	if s.pods != nil && !emptySelector(s.pods) {
		pods = "the pods " + metav1.FormatLabelSelector(s.pods)
	}
	switch {
	case s.anyone:
		return "any source"
	case s.cidr != "":
		return "addresses " + s.cidr
	case s.sameNamespace:
		return pods + " of its namespace"
	case s.namespace != "":
		return pods + " of namespace " + s.namespace
	case s.allNamespaces:
		return pods + " of every namespace"
	}
	return pods + " of the namespaces chosen by their labels"
}

// sources returns the sources of one ingress rule of policy p.
func sources(p *networkingv1.NetworkPolicy, rule networkingv1.NetworkPolicyIngressRule) []source {
	if len(rule.From) == 0 {
		return []source{{policy: p.Name, anyone: true}}
	}
	var out []source
	for _, peer := range rule.From {
		s := source{policy: p.Name, pods: peer.PodSelector}
		switch ns := peer.NamespaceSelector; {
		case peer.IPBlock != nil:
			s.cidr = peer.IPBlock.CIDR
		case ns == nil:
			s.sameNamespace = true
		case len(ns.MatchExpressions) == 0 && len(ns.MatchLabels) == 1 && ns.MatchLabels[namespaceNameLabel] == p.Namespace && p.Namespace != "":
			s.sameNamespace = true
		case len(ns.MatchExpressions) == 0 && len(ns.MatchLabels) == 1 && ns.MatchLabels[namespaceNameLabel] != "":
			s.namespace = ns.MatchLabels[namespaceNameLabel]
		case emptySelector(ns):
			s.allNamespaces = true
		}
		if s.sameNamespace && s.pods == nil {
			s.pods = &metav1.LabelSelector{} // every pod of the namespace
		}
		out = append(out, s)
	}
	return out
}

// portAllowed reports whether a rule's ports take port (TCP) of a pod
// whose containers are cs: every port when the rule lists none.
func portAllowed(rule networkingv1.NetworkPolicyIngressRule, cs []corev1.Container, port int) bool {
	if len(rule.Ports) == 0 {
		return true
	}
	for _, p := range rule.Ports {
		if p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP {
			continue
		}
		if policyPortMatches(p, cs, port) {
			return true
		}
	}
	return false
}

// policyPortMatches reports whether one port of a rule is port: a number,
// a range up to EndPort, or the name of a container port.
func policyPortMatches(p networkingv1.NetworkPolicyPort, cs []corev1.Container, port int) bool {
	switch {
	case p.Port == nil:
		return true
	case p.Port.Type == intstr.Int:
		lo, hi := int(p.Port.IntVal), int(p.Port.IntVal)
		if p.EndPort != nil {
			hi = int(*p.EndPort)
		}
		return port >= lo && port <= hi
	}
	for _, c := range cs {
		if n, ok := containerPort(c, *p.Port); ok && n == port {
			return true
		}
	}
	return false
}

// allowed returns the sources the policies of m let reach port of w's pods.
func (m manifests) allowed(w workload, port int) []source {
	var out []source
	for _, p := range m.networkPolicies {
		if p.Namespace != w.namespace || !limitsIngress(p) || !selectorMatches(&p.Spec.PodSelector, w.labels) {
			continue
		}
		for _, rule := range p.Spec.Ingress {
			if portAllowed(rule, w.spec.Containers, port) {
				out = append(out, sources(p, rule)...)
			}
		}
	}
	return out
}

// selectedBy returns the workloads of m whose pods a same-namespace source
// selects.
func (m manifests) selectedBy(s source, namespace string) []workload {
	var out []workload
	for _, w := range m.workloads() {
		if w.namespace == namespace && selectorMatches(s.pods, w.labels) {
			out = append(out, w)
		}
	}
	return out
}

// apiTopology is who must reach the API port of which Deployment: the
// Deployments an Ingress routes to, and for each Deployment those
// forwarding to it.
type apiTopology struct {
	ingressBackends map[string]bool
	forwarders      map[string][]string
}

// topology reads the Ingresses and the upstream URLs of a build.
func (m manifests) topology(procs map[string][]peer) apiTopology {
	t := apiTopology{ingressBackends: map[string]bool{}, forwarders: map[string][]string{}}
	for _, ing := range m.ingresses {
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				if p.Backend.Service == nil {
					continue
				}
				if s := m.service(p.Backend.Service.Name); s != nil {
					if d := m.selected(s); d != nil {
						t.ingressBackends[d.Name] = true
					}
				}
			}
		}
	}
	for _, d := range m.deployments {
		for _, p := range procs[d.Name] {
			for _, raw := range p.info.cfg.UpstreamURLs {
				u, err := url.Parse(raw)
				if err != nil {
					continue
				}
				name, _, _ := strings.Cut(u.Hostname(), ".")
				if s := m.service(name); s != nil {
					if target := m.selected(s); target != nil && !slices.Contains(t.forwarders[target.Name], d.Name) {
						t.forwarders[target.Name] = append(t.forwarders[target.Name], d.Name)
					}
				}
			}
		}
	}
	return t
}

// processPorts returns the API port and the health and metrics port (0
// when none) of the process of a Deployment.
func processPorts(ps []peer) (api, ops int, ok bool) {
	for _, p := range ps {
		if !p.info.cfgValid {
			continue
		}
		api = portOf(p.info.cfg.HTTPAddr)
		ops = portOf(p.info.cfg.OpsAddr)
		return api, ops, api != 0
	}
	return 0, 0, false
}

// portOf returns the port of host:port, or 0.
func portOf(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// checkNetworkPolicies checks the NetworkPolicies of a build that runs
// ordersaga (see the top of the file); procs are its processes by
// Deployment.
func checkNetworkPolicies(ps *problems, m manifests, procs map[string][]peer) {
	if len(m.deployments) == 0 {
		return
	}
	if len(m.networkPolicies) == 0 {
		ps.addf("no NetworkPolicy: every pod accepts connections from anywhere in the cluster (add a default deny and the policies letting in what each pod serves)")
		return
	}
	defaultDeny := false
	for _, p := range m.networkPolicies {
		if emptySelector(&p.Spec.PodSelector) && limitsIngress(p) && len(p.Spec.Ingress) == 0 {
			defaultDeny = true
		}
	}
	if !defaultDeny {
		ps.addf("no default-deny NetworkPolicy (podSelector {}, policyTypes [Ingress], no ingress rules): a pod no other policy selects accepts connections from anywhere")
	}
	for _, w := range m.workloads() {
		selected := false
		for _, p := range m.networkPolicies {
			selected = selected || (p.Namespace == w.namespace && limitsIngress(p) && selectorMatches(&p.Spec.PodSelector, w.labels))
		}
		if !selected {
			ps.addf("%s: no NetworkPolicy selects its pods: they accept connections from anywhere", w.what)
		}
	}
	topo := m.topology(procs)
	for _, w := range m.workloads() {
		if !w.deployment {
			continue
		}
		api, ops, ok := processPorts(procs[w.name])
		if !ok {
			continue
		}
		checkAPIPort(ps, m, topo, w, api)
		if ops != 0 && ops != api {
			checkOpsPort(ps, m, w, ops)
		}
	}
}

// checkAPIPort checks who reaches the API port of a Deployment: the
// ingress controller's namespace when an Ingress routes to it, the pods
// forwarding to it, and no one else.
func checkAPIPort(ps *problems, m manifests, topo apiTopology, w workload, port int) {
	fromIngress := false
	reached := map[string]bool{}
	for _, s := range m.allowed(w, port) {
		switch {
		case s.sameNamespace:
			for _, from := range m.selectedBy(s, w.namespace) {
				reached[from.name] = true
				if !slices.Contains(topo.forwarders[w.name], from.name) {
					ps.addf("%s: NetworkPolicy %s lets the pods of %s reach its API port %d, but they forward nothing to it", w.what, s.policy, from.what, port)
				}
			}
		case s.namespace != "":
			if !topo.ingressBackends[w.name] {
				ps.addf("%s: NetworkPolicy %s lets %s reach its API port %d, but no Ingress routes to it", w.what, s.policy, s, port)
			}
			fromIngress = true
		default:
			ps.addf("%s: NetworkPolicy %s lets %s reach its API port %d: only the ingress controller's namespace and the processes forwarding to it may", w.what, s.policy, s, port)
		}
	}
	if topo.ingressBackends[w.name] && !fromIngress {
		ps.addf("%s: an Ingress routes to it, but no NetworkPolicy lets the ingress controller's namespace reach its API port %d", w.what, port)
	}
	for _, f := range topo.forwarders[w.name] {
		if !reached[f] {
			ps.addf("Deployment %s forwards to %s, but no NetworkPolicy lets its pods reach port %d", f, w.what, port)
		}
	}
}

// checkOpsPort checks that a monitoring namespace reaches the health and
// metrics port of a Deployment, and that not everyone does.
func checkOpsPort(ps *problems, m manifests, w workload, port int) {
	monitored := false
	for _, s := range m.allowed(w, port) {
		switch {
		case s.anyone || s.allNamespaces:
			ps.addf("%s: NetworkPolicy %s lets %s reach its health and metrics port %d: name the monitoring namespace", w.what, s.policy, s, port)
		case s.namespace != "":
			monitored = true
		}
	}
	if !monitored {
		ps.addf("%s: no NetworkPolicy lets a monitoring namespace reach its health and metrics port %d (Prometheus scrapes /metrics there)", w.what, port)
	}
}

// endpoint is a service a pod connects to, outside its namespace.
type endpoint struct {
	what      string // "PostgreSQL", "Kafka", "Temporal"
	host      string
	namespace string
	port      int
}

// serviceNamespace returns the namespace of a cluster host name
// (name.namespace, name.namespace.svc…), or "" for a bare name.
func serviceNamespace(host string) string {
	parts := strings.Split(host, ".")
	if len(parts) < 2 || net.ParseIP(host) != nil {
		return ""
	}
	return parts[1]
}

// endpoints returns what the ordersaga containers of w connect to in
// other namespaces: databases, Kafka brokers, Temporal.
func (m manifests) endpoints(w workload) []endpoint {
	var out []endpoint
	add := func(what, hostPort string, defaultPort int) {
		host, portText, err := net.SplitHostPort(hostPort)
		if err != nil {
			host, portText = hostPort, strconv.Itoa(defaultPort)
		}
		port, err := strconv.Atoi(portText)
		if err != nil || host == "" {
			return
		}
		if ns := serviceNamespace(host); ns != "" && ns != w.namespace {
			out = append(out, endpoint{what: what, host: host, namespace: ns, port: port})
		}
	}
	discard := &problems{}
	for _, c := range w.spec.Containers {
		if !isOrdersagaImage(c.Image) {
			continue
		}
		env := containerEnv(discard, m, w.what, c)
		for _, name := range databaseEnvNames() {
			if u, err := url.Parse(env[name]); err == nil && strings.HasPrefix(u.Scheme, "postgres") && u.Host != "" {
				add("PostgreSQL", u.Host, 5432)
			}
		}
		for b := range strings.SplitSeq(env[envName("kafka-brokers")], ",") {
			if b = strings.TrimSpace(b); b != "" {
				add("Kafka", b, 9092)
			}
		}
		if t := env[envName("temporal-address")]; t != "" {
			add("Temporal", t, 7233)
		}
	}
	return out
}

// databaseEnvNames returns the variables holding database addresses.
func databaseEnvNames() []string {
	names := []string{envName("postgres-url")}
	for _, r := range hosted.AllRoles() {
		names = append(names, roleDBEnv(r))
	}
	return names
}

// checkDependencyPolicies checks the NetworkPolicies of dep, the build of
// the dependencies kustomization inside the overlay app (see the top of the
// file): each sits in a namespace of its own and lets in only the
// ordersaga pods that use a service of that namespace, on that service's
// port, besides the pods of the same application as those it protects;
// and every ordersaga pod is let in wherever it connects to a namespace
// with such policies.
func checkDependencyPolicies(ps *problems, dep, app manifests) {
	appNS := ""
	for _, w := range app.workloads() {
		appNS = w.namespace
	}
	if appNS == "" {
		ps.addf("the overlay it belongs to sets no namespace, so its policies cannot name ordersaga's")
		return
	}
	if len(dep.networkPolicies) == 0 {
		ps.addf("holds no NetworkPolicy")
	}
	covered := map[string]bool{} // namespaces with policies
	for _, p := range dep.networkPolicies {
		what := "NetworkPolicy " + p.Namespace + "/" + p.Name
		switch {
		case p.Namespace == "":
			ps.addf("%s names no namespace: it belongs to the namespace of the service it protects", what)
			continue
		case p.Namespace == appNS:
			ps.addf("%s is in ordersaga's own namespace %s: it belongs to the namespace of the service it protects", what, appNS)
			continue
		case !limitsIngress(p):
			ps.addf("%s does not limit ingress", what)
			continue
		case emptySelector(&p.Spec.PodSelector):
			ps.addf("%s selects every pod of namespace %s: select the service's pods", what, p.Namespace)
		}
		covered[p.Namespace] = true
		own := p.Spec.PodSelector.MatchLabels[appNameLabel]
		for _, rule := range p.Spec.Ingress {
			for _, s := range sources(p, rule) {
				switch {
				case s.sameNamespace:
					if own == "" || s.pods == nil || s.pods.MatchLabels[appNameLabel] != own {
						ps.addf("%s lets %s in: only the pods of its own installation (%s=%s) may, besides ordersaga's", what, s, appNameLabel, own)
					}
				case s.namespace == appNS:
					checkAppSource(ps, what, app, p, rule, s)
				default:
					ps.addf("%s lets %s in: only the ordersaga pods that use it may, besides its own", what, s)
				}
			}
		}
	}
	for _, w := range app.workloads() {
		for _, e := range app.endpoints(w) {
			if !covered[e.namespace] || letIn(dep, app, w, e) {
				continue
			}
			ps.addf("%s connects to %s at %s:%d, but no NetworkPolicy of namespace %s lets its pods in on port %d", w.what, e.what, e.host, e.port, e.namespace, e.port)
		}
	}
}

// checkAppSource checks a rule letting pods of ordersaga's namespace into
// a service: it names its pods and ports, and each pod it lets in
// connects to the policy's namespace on a port it allows.
func checkAppSource(ps *problems, what string, app manifests, p *networkingv1.NetworkPolicy, rule networkingv1.NetworkPolicyIngressRule, s source) {
	if s.pods == nil || emptySelector(s.pods) {
		ps.addf("%s lets every pod of namespace %s in: select those that use it", what, s.namespace)
		return
	}
	if len(rule.Ports) == 0 {
		ps.addf("%s lets %s in on every port: name the service's port", what, s)
	}
	selected := app.selectedBy(s, s.namespace)
	if len(selected) == 0 {
		ps.addf("%s lets %s in, which selects no pod of the overlay", what, s)
	}
	for _, w := range selected {
		uses := false
		for _, e := range app.endpoints(w) {
			uses = uses || (e.namespace == p.Namespace && portAllowed(rule, nil, e.port))
		}
		if !uses {
			ps.addf("%s lets the pods of %s in, which connect to nothing of namespace %s on the ports it allows", what, w.what, p.Namespace)
		}
	}
}

// letIn reports whether a policy of dep lets the pods of w reach endpoint
// e.
func letIn(dep, app manifests, w workload, e endpoint) bool {
	for _, p := range dep.networkPolicies {
		if p.Namespace != e.namespace || !limitsIngress(p) {
			continue
		}
		for _, rule := range p.Spec.Ingress {
			if !portAllowed(rule, nil, e.port) {
				continue
			}
			for _, s := range sources(p, rule) {
				inNamespace := s.namespace == w.namespace || s.allNamespaces
				if s.anyone || (inNamespace && (s.pods == nil || selectorMatches(s.pods, w.labels))) {
					return true
				}
			}
		}
	}
	return false
}

// dependencyPairs returns, for each dependencies kustomization among dirs
// (slash-separated folders), the overlay folder it belongs to, when that
// is one of dirs too.
func dependencyPairs(dirs []string) map[string]string {
	out := map[string]string{}
	for _, d := range dirs {
		if path.Base(d) != dependenciesDir {
			continue
		}
		if parent := path.Dir(d); slices.Contains(dirs, parent) {
			out[d] = parent
		}
	}
	return out
}
