package deploycheck

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const kubeDependencies = kubeLocal + "/" + dependenciesDir

// withoutDoc returns docs without the one document of kind and name.
func withoutDoc(tb testing.TB, docs [][]byte, kind, name string) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, d := range docs {
		if bytes.Contains(d, []byte("kind: "+kind+"\n")) && bytes.Contains(d, []byte("\n  name: "+name+"\n")) {
			continue
		}
		out = append(out, d)
	}
	if len(out) != len(docs)-1 {
		tb.Fatalf("%d documents of kind %s named %s, want one", len(docs)-len(out), kind, name)
	}
	return out
}

// editAnyDoc returns docs with old, which must occur exactly once in all
// of them, replaced by new: for a generated resource, whose name ends in
// a hash.
func editAnyDoc(tb testing.TB, docs [][]byte, old, new string) [][]byte {
	tb.Helper()
	out := make([][]byte, len(docs))
	copy(out, docs)
	found := -1
	for i, d := range docs {
		switch n := bytes.Count(d, []byte(old)); {
		case n > 1 || n == 1 && found >= 0:
			tb.Fatalf("%q occurs more than once in the build", old)
		case n == 1:
			found = i
		}
	}
	if found < 0 {
		tb.Fatalf("%q does not occur in the build", old)
	}
	out[found] = bytes.Replace(docs[found], []byte(old), []byte(new), 1)
	return out
}

// TestCheckManifests_ReportsAMissingDefaultDeny: without the policy
// denying by default, the check says so, and names the pods no policy
// selects (the migrate Jobs).
func TestCheckManifests_ReportsAMissingDefaultDeny(t *testing.T) {
	r := testRepo(t)
	bin := testBinary(t, r)
	docs := withoutDoc(t, buildDocs(t, r, kubeBase), "NetworkPolicy", "ordersaga-default-deny")
	got := CheckManifests("build", docs, bin, -1)
	wantProblem(t, got, "no default-deny NetworkPolicy")
	wantProblem(t, got, "Job migrate-orchestrated: no NetworkPolicy selects its pods")

	var none [][]byte
	for _, d := range docs {
		if !bytes.Contains(d, []byte("kind: NetworkPolicy\n")) {
			none = append(none, d)
		}
	}
	wantProblem(t, CheckManifests("build", none, bin, -1), "no NetworkPolicy: every pod accepts connections from anywhere")
}

// TestCheckManifests_ReportsCredentialsOutsideSecrets: a password in a
// ConfigMap, and signing secrets the binary would refuse, are reported.
func TestCheckManifests_ReportsCredentialsOutsideSecrets(t *testing.T) {
	r := testRepo(t)
	bin := testBinary(t, r)
	base := buildDocs(t, r, kubeBase)
	docs := editAnyDoc(t, base, "OTEL_EXPORTER_OTLP_ENDPOINT: http://otel-collector:4317", "OTEL_EXPORTER_OTLP_ENDPOINT: http://otel:hunter2@otel-collector:4317")
	wantProblem(t, CheckManifests("build", docs, bin, -1), "Deployment orchestrated-payment, container ordersaga: OTEL_EXPORTER_OTLP_ENDPOINT comes from ConfigMap ordersaga-common-",
		"holds an address with its password (http://otel:xxxxx@otel-collector:4317)")

	local := buildDocs(t, r, kubeLocal)
	for i, d := range local {
		if !bytes.Contains(d, []byte("kind: Secret\n")) || !bytes.Contains(d, []byte("name: ordersaga-auth-")) {
			continue
		}
		var s corev1.Secret
		if err := yaml.Unmarshal(d, &s); err != nil {
			t.Fatal(err)
		}
		s.Data["auth-secret"] = []byte("too-short\n")
		out, err := yaml.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		local[i] = out
	}
	wantProblem(t, CheckManifests("build", local, bin, -1), "Deployment choreographed-orders, container ordersaga: Secret ordersaga-auth-", "key auth-secret, does not hold usable secrets for the API's tokens")
}

// TestCheckBase_FaultInjectionOff: a base that turns fault injection on is
// reported; the repository's is not.
func TestCheckBase_FaultInjectionOff(t *testing.T) {
	r := testRepo(t)
	bin := testBinary(t, r)
	base := buildDocs(t, r, kubeBase)
	if got := CheckBase(kubeBase, base, bin, -1); len(got) > 0 {
		t.Fatalf("the base has problems:\n%s", listProblems(got))
	}
	docs := editAnyDoc(t, base, `ORDERSAGA_FAULT_INJECTION: "false"`, `ORDERSAGA_FAULT_INJECTION: "true"`)
	wantProblem(t, CheckBase(kubeBase, docs, bin, -1), "Deployment choreographed-shipping, container ordersaga serves fault injection (/v1/admin/faults): a base keeps it off")
}

// TestCheckDependencies_ReportsEachBreakage breaks the policies of the
// services ordersaga uses, or the overlay they serve, one way at a time.
func TestCheckDependencies_ReportsEachBreakage(t *testing.T) {
	r := testRepo(t)
	dep := buildDocs(t, r, kubeDependencies)
	local := buildDocs(t, r, kubeLocal)
	if got := CheckDependencies(kubeDependencies, dep, local); len(got) > 0 {
		t.Fatalf("the intact dependencies have problems:\n%s", listProblems(got))
	}
	type edit struct{ kind, name, old, new string }
	cases := []struct {
		name         string
		onDep, onApp *edit
		want         []string
	}{
		{name: "database open to every ordersaga pod",
			onDep: &edit{"NetworkPolicy", "postgresql-from-ordersaga", "      podSelector:\n        matchLabels:\n          app.kubernetes.io/name: ordersaga\n", "      podSelector: {}\n"},
			want:  []string{"NetworkPolicy postgres/postgresql-from-ordersaga lets every pod of namespace ordersaga in: select those that use it"}},
		{name: "database open to another namespace",
			onDep: &edit{"NetworkPolicy", "postgresql-from-ordersaga", "          kubernetes.io/metadata.name: ordersaga\n", "          kubernetes.io/metadata.name: default\n"},
			want:  []string{"NetworkPolicy postgres/postgresql-from-ordersaga lets the pods app.kubernetes.io/name=ordersaga of namespace default in: only the ordersaga pods that use it may"}},
		{name: "database open to any source",
			onDep: &edit{"NetworkPolicy", "postgresql-from-ordersaga", "  - from:\n    - podSelector:\n        matchLabels:\n          app.kubernetes.io/name: postgresql\n    ports:", "  - ports:"},
			want:  []string{"NetworkPolicy postgres/postgresql-from-ordersaga lets any source in"}},
		{name: "database open to other pods of its namespace",
			onDep: &edit{"NetworkPolicy", "postgresql-from-ordersaga", "    - podSelector:\n        matchLabels:\n          app.kubernetes.io/name: postgresql\n", "    - podSelector: {}\n"},
			want:  []string{"NetworkPolicy postgres/postgresql-from-ordersaga lets every pod of its namespace in: only the pods of its own installation"}},
		{name: "database on another port",
			onDep: &edit{"NetworkPolicy", "postgresql-from-ordersaga", "    - port: 5432\n      protocol: TCP\n  - from:", "    - port: 5433\n      protocol: TCP\n  - from:"},
			want:  []string{"Job migrate-orchestrated connects to PostgreSQL at postgres.postgres.svc.cluster.local:5432, but no NetworkPolicy of namespace postgres lets its pods in on port 5432"}},
		{name: "Kafka open to the orchestrated variant",
			onDep: &edit{"NetworkPolicy", "kafka-from-ordersaga", "          - choreographed-orders\n", "          - choreographed-orders\n          - orchestrated-orders\n"},
			want:  []string{"NetworkPolicy kafka/kafka-from-ordersaga lets the pods of Deployment orchestrated-orders in, which connect to nothing of namespace kafka"}},
		{name: "Kafka on every port",
			onDep: &edit{"NetworkPolicy", "kafka-from-ordersaga", "    ports:\n    - port: 9092\n      protocol: TCP\n", ""},
			want:  []string{"NetworkPolicy kafka/kafka-from-ordersaga lets the pods", "of namespace ordersaga in on every port: name the service's port"}},
		{name: "Temporal closed to a service",
			onDep: &edit{"NetworkPolicy", "temporal-frontend-from-ordersaga", "          - orchestrated-payment\n", ""},
			want:  []string{"Deployment orchestrated-payment connects to Temporal at temporal-frontend.temporal.svc.cluster.local:7233, but no NetworkPolicy of namespace temporal lets its pods in on port 7233"}},
		{name: "Temporal closed to the notification service",
			onDep: &edit{"NetworkPolicy", "temporal-frontend-from-ordersaga", "          - orchestrated-notifications\n", ""},
			want:  []string{"Deployment orchestrated-notifications connects to Temporal at temporal-frontend.temporal.svc.cluster.local:7233, but no NetworkPolicy of namespace temporal lets its pods in on port 7233"}},
		{name: "Kafka closed to the notification service",
			onDep: &edit{"NetworkPolicy", "kafka-from-ordersaga", "          - choreographed-notifications\n", ""},
			want:  []string{"Deployment choreographed-notifications connects to Kafka at kafka.kafka.svc.cluster.local:9092, but no NetworkPolicy of namespace kafka lets its pods in on port 9092"}},
		{name: "policy in ordersaga's namespace",
			onDep: &edit{"NetworkPolicy", "kafka-from-ordersaga", "  namespace: kafka\n", "  namespace: ordersaga\n"},
			want:  []string{"NetworkPolicy ordersaga/kafka-from-ordersaga is in ordersaga's own namespace ordersaga"}},
		{name: "overlay's pods relabelled",
			onApp: &edit{"Deployment", "choreographed-payment", "        app.kubernetes.io/component: choreographed-payment\n", "        app.kubernetes.io/component: choreo-payment\n"},
			want:  []string{"Deployment choreographed-payment connects to Kafka at kafka.kafka.svc.cluster.local:9092, but no NetworkPolicy of namespace kafka lets its pods in on port 9092"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, a := dep, local
			if e := tc.onDep; e != nil {
				d = editDoc(t, d, e.kind, e.name, e.old, e.new)
			}
			if e := tc.onApp; e != nil {
				a = editDoc(t, a, e.kind, e.name, e.old, e.new)
			}
			wantProblem(t, CheckDependencies("build", d, a), tc.want...)
		})
	}
}

func TestDependencyPairs_PairsEachDependenciesFolderWithItsOverlay(t *testing.T) {
	got := dependencyPairs([]string{"k8s/base", "k8s/overlays/local", "k8s/overlays/local/dependencies", "k8s/other/dependencies"})
	if len(got) != 1 || got["k8s/overlays/local/dependencies"] != "k8s/overlays/local" {
		t.Errorf("dependencyPairs = %v, want only k8s/overlays/local/dependencies → k8s/overlays/local", got)
	}
}

// TestCheckKustomizations_ChecksTheDependencies: the dependencies
// kustomization of an overlay is checked against that overlay: in a copy
// of deploy/k8s whose Kafka policy lets in pods of the wrong variant, the
// problem is reported on the dependencies kustomization.
func TestCheckKustomizations_ChecksTheDependencies(t *testing.T) {
	r := testRepo(t)
	root := t.TempDir()
	if err := os.CopyFS(filepath.Join(root, "k8s"), os.DirFS(r.Path("deploy/k8s"))); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(root, "deploy"), os.DirFS(r.Path("deploy"))); err != nil {
		t.Fatal(err) // the Dockerfile, for the image's user
	}
	file := filepath.Join(root, "k8s", "overlays", "local", dependenciesDir, "networkpolicy.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	broken := bytes.Replace(data, []byte("values: [choreographed-orders, "), []byte("values: [orchestrated-orders, "), 1)
	if bytes.Equal(broken, data) {
		t.Fatal("the Kafka policy no longer lists choreographed-orders first")
	}
	if err := os.WriteFile(file, broken, 0o644); err != nil {
		t.Fatal(err)
	}
	got := CheckKustomizations(Repo{Root: root}, "k8s", testBinary(t, r))
	wantProblem(t, got, "k8s/overlays/local/dependencies/kustomization.yaml: NetworkPolicy kafka/kafka-from-ordersaga lets the pods of Deployment orchestrated-orders in")
	wantProblem(t, got, "k8s/overlays/local/dependencies/kustomization.yaml: Deployment choreographed-orders connects to Kafka")
}
