package deploycheck

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		var deployments, jobs, services int
		for _, d := range buildDocs(t, r, dir) {
			switch {
			case bytes.Contains(d, []byte("\nkind: Deployment\n")):
				deployments++
			case bytes.Contains(d, []byte("\nkind: Job\n")):
				jobs++
			case bytes.Contains(d, []byte("\nkind: Service\n")):
				services++
			}
		}
		if deployments != 8 || services != 8 || jobs != 2 {
			t.Errorf("%s: %d Deployments, %d Services, %d Jobs; want 8, 8 and 2", dir, deployments, services, jobs)
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
			"        livenessProbe:\n          failureThreshold: 3\n          httpGet:\n            path: /healthz\n            port: http\n          periodSeconds: 10\n          timeoutSeconds: 2\n", "",
			[]string{"Deployment choreographed-payment", "no livenessProbe (GET /healthz)"}},
		{"command the binary lacks", base, "Deployment", "choreographed-inventory", "- choreographed\n", "- choreography\n",
			[]string{"Deployment choreographed-inventory", "no such command"}},
		{"container port not the HTTP port", base, "Deployment", "orchestrated-payment", "containerPort: 8080", "containerPort: 9090",
			[]string{"Deployment orchestrated-payment", "is port 9090, but the process serves HTTP on :8080"}},
		{"probe on no port", base, "Deployment", "orchestrated-shipping", "name: http\n", "name: web\n",
			[]string{"Deployment orchestrated-shipping", "livenessProbe port http is not a port of the container"}},
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
		{"metrics annotation on another port", base, "Deployment", "orchestrated-orders", `prometheus.io/port: "8080"`, `prometheus.io/port: "9100"`,
			[]string{"Deployment orchestrated-orders", "annotation prometheus.io/port is port 9100"}},
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
