package deploycheck

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/shared/hosted"
)

const (
	kubeBase  = "deploy/k8s/base"
	kubeLocal = "deploy/k8s/overlays/local"
)

// buildDocs builds the kustomization in dir (relative to the root).
func buildDocs(tb testing.TB, r Repo, dir string) [][]byte {
	tb.Helper()
	docs, err := BuildKustomization(r.Path(dir))
	if err != nil {
		tb.Fatalf("kustomize build %s: %v", dir, err)
	}
	return docs
}

// editDoc returns docs with old replaced by new in the one document of
// kind and name, where old must occur exactly once.
func editDoc(tb testing.TB, docs [][]byte, kind, name, old, new string) [][]byte {
	tb.Helper()
	out := make([][]byte, len(docs))
	copy(out, docs)
	head := []byte("kind: " + kind + "\n")
	for i, d := range docs {
		if !bytes.Contains(d, head) || !bytes.Contains(d, []byte("\n  name: "+name+"\n")) {
			continue
		}
		if n := bytes.Count(d, []byte(old)); n != 1 {
			tb.Fatalf("%q occurs %d times in %s %s, want once:\n%s", old, n, kind, name, d)
		}
		out[i] = bytes.Replace(d, []byte(old), []byte(new), 1)
		return out
	}
	tb.Fatalf("no %s %s in the build", kind, name)
	return nil
}

func TestBuildKustomization_MakesEveryService(t *testing.T) {
	r := testRepo(t)
	for _, dir := range []string{kubeBase, kubeLocal} {
		var deployments, jobs, services, ingresses, policies int
		for _, d := range buildDocs(t, r, dir) {
			switch {
			case bytes.Contains(d, []byte("\nkind: Deployment\n")):
				deployments++
			case bytes.Contains(d, []byte("\nkind: Job\n")):
				jobs++
			case bytes.Contains(d, []byte("\nkind: Service\n")):
				services++
			case bytes.Contains(d, []byte("\nkind: Ingress\n")):
				ingresses++
			case bytes.Contains(d, []byte("\nkind: NetworkPolicy\n")):
				policies++
			}
		}
		// A Deployment and a Service per role and variant.
		perRole := 2 * len(hosted.AllRoles())
		if deployments != perRole || services != perRole || jobs != 2 || ingresses != 2 || policies != 5 {
			t.Errorf("%s: %d Deployments, %d Services, %d Jobs, %d Ingresses, %d NetworkPolicies; want %d, %d, 2, 2 and 5",
				dir, deployments, services, jobs, ingresses, policies, perRole, perRole)
		}
	}
}

// TestCheckManifests_ReportsEachBreakage breaks the built manifests one way
// at a time and expects the check to report it.
func TestCheckManifests_ReportsEachBreakage(t *testing.T) {
	r := testRepo(t)
	bin := testBinary(t, r)
	uid, err := DockerfileUID(r, ordersagaDockerfile)
	if err != nil {
		t.Fatal(err)
	}
	base := buildDocs(t, r, kubeBase)
	local := buildDocs(t, r, kubeLocal)
	for name, docs := range map[string][][]byte{kubeBase: base, kubeLocal: local} {
		if got := CheckManifests(name, docs, bin, uid); len(got) > 0 {
			t.Fatalf("the intact build of %s has problems:\n%s", name, listProblems(got))
		}
	}
	cases := []struct {
		name           string
		docs           [][]byte
		kind, resource string
		old, new       string
		want           []string
	}{
		{"readiness path", base, "Deployment", "orchestrated-orders", "path: /readyz", "path: /ready",
			[]string{"Deployment orchestrated-orders", "readinessProbe gets /ready, want /readyz"}},
		{"misspelt field", base, "Deployment", "choreographed-payment", "livenessProbe:", "livenesProbe:",
			[]string{"Deployment choreographed-payment", `unknown field "livenesProbe"`}},
		{"no liveness probe", base, "Deployment", "choreographed-payment",
			"        livenessProbe:\n          failureThreshold: 3\n          httpGet:\n            path: /healthz\n            port: ops\n          periodSeconds: 10\n          timeoutSeconds: 2\n", "",
			[]string{"Deployment choreographed-payment", "no livenessProbe (GET /healthz)"}},
		{"command the binary lacks", base, "Deployment", "choreographed-inventory", "- choreographed\n", "- choreography\n",
			[]string{"Deployment choreographed-inventory", "no such command"}},
		{"container port not the HTTP port", base, "Deployment", "orchestrated-payment", "containerPort: 8080", "containerPort: 9090",
			[]string{"Deployment orchestrated-payment", "is port 9090, but the process serves HTTP on :8080"}},
		{"probe on no port", base, "Deployment", "orchestrated-shipping", "name: ops\n", "name: web\n",
			[]string{"Deployment orchestrated-shipping", "livenessProbe port ops is not a port of the container"}},
		{"ops port not the health and metrics port", base, "Deployment", "choreographed-inventory", "containerPort: 9090", "containerPort: 9091",
			[]string{"Deployment choreographed-inventory", "container port ops is port 9091, but the process serves health and metrics on :9090 (ORDERSAGA_OPS_ADDR)"}},
		{"root allowed", base, "Deployment", "choreographed-orders", "runAsNonRoot: true", "runAsNonRoot: false",
			[]string{"Deployment choreographed-orders", "runAsNonRoot is not true"}},
		{"another user than the image's", base, "Job", "migrate-orchestrated", "runAsUser: 65532", "runAsUser: 1000",
			[]string{"Job migrate-orchestrated", "runAsUser 1000 is not the image's user"}},
		{"writable root file system", base, "Deployment", "orchestrated-inventory", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false",
			[]string{"Deployment orchestrated-inventory", "readOnlyRootFilesystem is not true"}},
		{"capabilities kept", base, "Deployment", "choreographed-shipping", "- ALL", "- NET_RAW",
			[]string{"Deployment choreographed-shipping", "capabilities do not drop ALL"}},
		{"no memory limit", base, "Job", "migrate-choreographed", "      limits:\n            cpu: 500m\n            memory: 256Mi\n", "      limits:\n            cpu: 500m\n",
			[]string{"Job migrate-choreographed", "no memory limit"}},
		{"ConfigMap not in the build", base, "Deployment", "orchestrated-orders", "- configMapRef:\n            name: ordersaga-orchestrated-", "- configMapRef:\n            name: ordersaga-orchestra-",
			[]string{"Deployment orchestrated-orders", "envFrom ConfigMap ordersaga-orchestra-"}},
		{"Secret without the key", local, "Deployment", "choreographed-shipping", "key: ORDERSAGA_SHIPPING_DB", "key: ORDERSAGA_SHIPPING_DSN",
			[]string{"Deployment choreographed-shipping", "ORDERSAGA_SHIPPING_DB comes from key ORDERSAGA_SHIPPING_DSN"}},
		{"misspelt variable", base, "Deployment", "orchestrated-orders", "- name: ORDERSAGA_ORDERS_DB", "- name: ORDERSAGA_ORDER_DB",
			[]string{"Deployment orchestrated-orders", "sets ORDERSAGA_ORDER_DB, which no command of the binary reads"}},
		{"Service targeting no port", base, "Service", "choreographed-orders", "targetPort: http", "targetPort: metrics",
			[]string{"Service choreographed-orders: port 8080 targets metrics"}},
		{"Service selecting nothing", base, "Service", "orchestrated-payment", "  selector:\n    app.kubernetes.io/component: orchestrated-payment", "  selector:\n    app.kubernetes.io/component: orchestrated-paymnt",
			[]string{"Service orchestrated-payment selects the pods of no Deployment"}},
		{"selector not matching the pods", base, "Deployment", "choreographed-orders", "    matchLabels:\n      app.kubernetes.io/component: choreographed-orders", "    matchLabels:\n      app.kubernetes.io/component: choreographed-order",
			[]string{"Deployment choreographed-orders: its selector does not match"}},
		{"metrics annotation on another port", base, "Deployment", "orchestrated-orders", `prometheus.io/port: "9090"`, `prometheus.io/port: "9100"`,
			[]string{"Deployment orchestrated-orders", "annotation prometheus.io/port is port 9100"}},

		// The whole API at one address: the orders process forwards to the
		// other services' Services, and the Ingress routes exactly the
		// API's paths to it.
		{"orders process without a service's URL", base, "Deployment", "choreographed-orders",
			"        - name: ORDERSAGA_PAYMENT_URL\n          value: http://choreographed-payment:8080\n", "",
			[]string{"Deployment choreographed-orders", "hosts orders but not payment, and sets no ORDERSAGA_PAYMENT_URL"}},
		{"orders process without the notification service's URL", base, "Deployment", "choreographed-orders",
			"        - name: ORDERSAGA_NOTIFICATIONS_URL\n          value: http://choreographed-notifications:8080\n", "",
			[]string{"Deployment choreographed-orders", "hosts orders but not notifications, and sets no ORDERSAGA_NOTIFICATIONS_URL"}},
		{"notification URL of a step's Service", local, "Deployment", "orchestrated-orders", "http://orchestrated-notifications:8080", "http://orchestrated-payment:8080",
			[]string{"Deployment orchestrated-orders", "ORDERSAGA_NOTIFICATIONS_URL", "hosts [payment], not notifications"}},
		{"URL of no Service", base, "Deployment", "orchestrated-orders", "http://orchestrated-inventory:8080", "http://orchestrated-inventry:8080",
			[]string{"Deployment orchestrated-orders", "ORDERSAGA_INVENTORY_URL http://orchestrated-inventry:8080 leads to host orchestrated-inventry, which is no Service"}},
		{"URL on a port the Service lacks", local, "Deployment", "choreographed-orders", "http://choreographed-shipping:8080", "http://choreographed-shipping.ordersaga.svc:9090",
			[]string{"Deployment choreographed-orders", "is port 9090 of Service choreographed-shipping, which has no such port"}},
		{"URL of another role's Service", base, "Deployment", "orchestrated-orders", "http://orchestrated-payment:8080", "http://orchestrated-shipping:8080",
			[]string{"Deployment orchestrated-orders", "ORDERSAGA_PAYMENT_URL", "hosts [shipping], not payment"}},
		{"URL of the other variant's Service", base, "Deployment", "choreographed-orders", "http://choreographed-inventory:8080", "http://orchestrated-inventory:8080",
			[]string{"Deployment choreographed-orders", "not a process of the choreographed variant"}},
		{"API path not routed", base, "Ingress", "orchestrated-api",
			"      - backend:\n          service:\n            name: orchestrated-orders\n            port:\n              name: http\n        path: /openapi.yaml\n        pathType: Exact\n", "",
			[]string{"Ingress orchestrated-api (host orchestrated.ordersaga.localhost) does not route /openapi.yaml"}},
		{"per-process path routed", base, "Ingress", "choreographed-api", "path: /openapi.yaml", "path: /metrics",
			[]string{"Ingress choreographed-api (host choreographed.ordersaga.localhost) routes /metrics, which each process answers about itself"}},
		{"path the API lacks", local, "Ingress", "orchestrated-api", "path: /v1/orders\n", "path: /v1/order\n",
			[]string{"Ingress orchestrated-api", "path /v1/order takes no path of the API"}},
		{"route to a process without orders", base, "Ingress", "choreographed-api",
			"name: choreographed-orders\n            port:\n              name: http\n        path: /v1/customers", "name: choreographed-payment\n            port:\n              name: http\n        path: /v1/customers",
			[]string{"Ingress choreographed-api", "path /v1/customers: Service choreographed-payment leads to Deployment choreographed-payment, which does not host orders"}},
		{"routes to both variants", base, "Ingress", "choreographed-api",
			"name: choreographed-orders\n            port:\n              name: http\n        path: /v1/orders", "name: orchestrated-orders\n            port:\n              name: http\n        path: /v1/orders",
			[]string{"Ingress choreographed-api", "routes to the processes of both variants"}},
		{"implementation-specific path", base, "Ingress", "orchestrated-api", "path: /v1/admin/faults\n        pathType: Exact", "path: /v1/admin/faults\n        pathType: ImplementationSpecific",
			[]string{"Ingress orchestrated-api", "path /v1/admin/faults: pathType ImplementationSpecific: use Exact or Prefix"}},
		{"backend port the Service lacks", base, "Ingress", "orchestrated-api",
			"              name: http\n        path: /v1/products", "              name: web\n        path: /v1/products",
			[]string{"Ingress orchestrated-api", "path /v1/products: Service orchestrated-orders has no port web"}},

		// Credentials come from Secrets.
		{"database address with a password in the manifest", base, "Deployment", "orchestrated-orders",
			"        - name: ORDERSAGA_ORDERS_DB\n          valueFrom:\n            secretKeyRef:\n              key: ORDERSAGA_ORDERS_DB\n              name: ordersaga-orchestrated-db\n",
			"        - name: ORDERSAGA_ORDERS_DB\n          value: postgres://app:hunter2@db:5432/orders?sslmode=disable\n",
			[]string{"Deployment orchestrated-orders, container ordersaga: ORDERSAGA_ORDERS_DB holds an address with its password (postgres://app:xxxxx@db:5432/orders"}},
		{"database address in the manifest", local, "Job", "migrate-choreographed",
			"        - name: ORDERSAGA_PAYMENT_DB\n          valueFrom:\n            secretKeyRef:\n              key: ORDERSAGA_PAYMENT_DB\n",
			"        - name: ORDERSAGA_PAYMENT_DB\n          value: postgres://db:5432/payment\n        - name: UNUSED\n          valueFrom:\n            secretKeyRef:\n              key: ORDERSAGA_PAYMENT_DB\n",
			[]string{"Job migrate-choreographed, container migrate: ORDERSAGA_PAYMENT_DB comes from a literal value, not from a Secret"}},
		{"signing secret in the manifest", base, "Deployment", "choreographed-payment",
			"        - name: ORDERSAGA_AUTH_SECRET_FILE\n          value: /var/run/secrets/ordersaga/auth-secret\n",
			"        - name: ORDERSAGA_AUTH_SECRET\n          value: a-secret-of-the-api-written-into-the-manifest\n",
			[]string{"Deployment choreographed-payment, container ordersaga: ORDERSAGA_AUTH_SECRET holds a credential literally"}},
		{"signing secret not from a Secret", base, "Deployment", "choreographed-payment",
			"        - name: ORDERSAGA_AUTH_SECRET_FILE\n          value: /var/run/secrets/ordersaga/auth-secret\n",
			"        - name: ORDERSAGA_AUTH_SECRET\n          value: a-secret-of-the-api-written-into-the-manifest\n",
			[]string{"Deployment choreographed-payment, container ordersaga: ORDERSAGA_AUTH_SECRET comes from a literal value, not from a Secret"}},
		{"signing secret file in no Secret volume", base, "Deployment", "orchestrated-shipping",
			"value: /var/run/secrets/ordersaga/auth-secret", "value: /tmp/auth-secret",
			[]string{"Deployment orchestrated-shipping, container ordersaga: ORDERSAGA_AUTH_SECRET_FILE /tmp/auth-secret is in volume tmp, which is not a Secret"}},
		{"signing secret file not mounted", local, "Deployment", "choreographed-orders",
			"value: /var/run/secrets/ordersaga/auth-secret", "value: /etc/ordersaga/auth-secret",
			[]string{"Deployment choreographed-orders, container ordersaga: ORDERSAGA_AUTH_SECRET_FILE /etc/ordersaga/auth-secret is in no mounted Secret volume"}},
		{"signing secret file not a key of the Secret", local, "Deployment", "orchestrated-inventory",
			"value: /var/run/secrets/ordersaga/auth-secret", "value: /var/run/secrets/ordersaga/signing-secret",
			[]string{"Deployment orchestrated-inventory, container ordersaga: ORDERSAGA_AUTH_SECRET_FILE /var/run/secrets/ordersaga/signing-secret is no key of Secret ordersaga-auth"}},

		// The NetworkPolicies: a default deny, the API from the ingress
		// controller and the forwarding processes alone, health and
		// metrics from the monitoring namespace.
		{"API from every namespace", base, "NetworkPolicy", "ordersaga-api-from-ingress",
			"    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: ingress-nginx\n", "    - namespaceSelector: {}\n",
			[]string{"Deployment orchestrated-orders: NetworkPolicy ordersaga-api-from-ingress lets every pod of every namespace reach its API port 8080: only the ingress controller's namespace and the processes forwarding to it may"}},
		{"API from anywhere", base, "NetworkPolicy", "ordersaga-api-from-ingress",
			"  - from:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: ingress-nginx\n    ports:", "  - ports:",
			[]string{"Deployment choreographed-orders: NetworkPolicy ordersaga-api-from-ingress lets any source reach its API port 8080"}},
		{"API of the orders pods not from the ingress", local, "NetworkPolicy", "ordersaga-api-from-ingress", "      - orchestrated-orders\n", "      - orchestrated-order\n",
			[]string{"Deployment orchestrated-orders: an Ingress routes to it, but no NetworkPolicy lets the ingress controller's namespace reach its API port 8080"}},
		{"API of a service the ingress does not route to", base, "NetworkPolicy", "ordersaga-ops-from-monitoring", "    - port: ops\n", "    - port: http\n",
			[]string{"Deployment orchestrated-payment: NetworkPolicy ordersaga-ops-from-monitoring lets every pod of namespace monitoring reach its API port 8080, but no Ingress routes to it"}},
		{"API of a service from pods that do not forward to it", base, "NetworkPolicy", "orchestrated-services-from-orders",
			"          app.kubernetes.io/component: orchestrated-orders\n", "          app.kubernetes.io/component: choreographed-orders\n",
			[]string{"Deployment orchestrated-inventory: NetworkPolicy orchestrated-services-from-orders lets the pods of Deployment choreographed-orders reach its API port 8080, but they forward nothing to it"}},
		{"API of a service not from the pods forwarding to it", base, "NetworkPolicy", "orchestrated-services-from-orders",
			"          app.kubernetes.io/component: orchestrated-orders\n", "          app.kubernetes.io/component: choreographed-orders\n",
			[]string{"Deployment orchestrated-orders forwards to Deployment orchestrated-inventory, but no NetworkPolicy lets its pods reach port 8080"}},
		{"API of the notification service not from the orders pods", local, "NetworkPolicy", "orchestrated-services-from-orders",
			"      - orchestrated-notifications\n", "",
			[]string{"Deployment orchestrated-orders forwards to Deployment orchestrated-notifications, but no NetworkPolicy lets its pods reach port 8080"}},
		{"health and metrics not from the monitoring namespace", base, "NetworkPolicy", "ordersaga-ops-from-monitoring",
			"    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: monitoring\n", "    - namespaceSelector: {}\n",
			[]string{"Deployment choreographed-shipping: NetworkPolicy ordersaga-ops-from-monitoring lets every pod of every namespace reach its health and metrics port 9090"}},
		{"health and metrics not from a monitoring namespace", base, "NetworkPolicy", "ordersaga-ops-from-monitoring",
			"    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: monitoring\n", "    - podSelector: {}\n",
			[]string{"Deployment choreographed-shipping: no NetworkPolicy lets a monitoring namespace reach its health and metrics port 9090"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docs := editDoc(t, tc.docs, tc.kind, tc.resource, tc.old, tc.new)
			wantProblem(t, CheckManifests("build", docs, bin, uid), tc.want...)
		})
	}
}

func TestCheckKustomizations_ReportsAFailingBuild(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "k8s", "broken")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	kust := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - missing.yaml\n"
	if err := os.WriteFile(filepath.Join(dir, kustomizationFile), []byte(kust), 0o644); err != nil {
		t.Fatal(err)
	}
	got := CheckKustomizations(Repo{Root: root}, "k8s", Binary{})
	wantProblem(t, got, "k8s/broken/kustomization.yaml", "kustomize build fails", "missing.yaml")
}

func TestIsOrdersagaImage_IgnoresRegistryAndTag(t *testing.T) {
	for image, want := range map[string]bool{
		"ordersaga": true, "ordersaga:dev": true, "ghcr.io/acme/ordersaga:1.2@sha256:ab": true,
		"postgres:15": false, "ordersaga-tools:1": false, "registry:5000/ordersaga": true,
	} {
		if got := isOrdersagaImage(image); got != want {
			t.Errorf("isOrdersagaImage(%q) = %v, want %v", image, got, want)
		}
	}
	if !strings.HasPrefix(secretStandIn, "postgres://") {
		t.Errorf("the stand-in of a Secret's value %q is no database address", secretStandIn)
	}
}
