package deploycheck

import (
	"os"
	"strings"
	"testing"
)

const composePath = "deploy/compose.yaml"

// readCompose returns the repository's Compose file.
func readCompose(tb testing.TB, r Repo) string {
	tb.Helper()
	data, err := os.ReadFile(r.Path(composePath))
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}

// replaceOnce returns doc with old, which must occur exactly once,
// replaced by new.
func replaceOnce(tb testing.TB, doc, old, new string) string {
	tb.Helper()
	if n := strings.Count(doc, old); n != 1 {
		tb.Fatalf("%q occurs %d times in the document, want once", old, n)
	}
	return strings.Replace(doc, old, new, 1)
}

// TestCheckCompose_ReportsEachBreakage breaks the Compose file one way at a
// time and expects the check to report it (and the intact file not to).
func TestCheckCompose_ReportsEachBreakage(t *testing.T) {
	r := testRepo(t)
	bin := testBinary(t, r)
	doc := readCompose(t, r)
	if base := CheckCompose(r, composePath, []byte(doc), bin); len(base) > 0 {
		t.Fatalf("the intact Compose file has problems:\n%s", listProblems(base))
	}
	cases := []struct {
		name     string
		old, new string
		want     []string
	}{
		{
			name: "dependency on a missing service",
			old:  "    migrate-orchestrated:\n      condition: service_completed_successfully",
			new:  "    migrate-orchestratd:\n      condition: service_completed_successfully",
			want: []string{"depends on migrate-orchestratd, which is not a service"},
		},
		{
			name: "command the binary lacks",
			old:  `command: ["orchestrated", "payment"]`,
			new:  `command: ["orchestrate", "payment"]`,
			want: []string{"service orchestrated-payment", "ordersaga orchestrate: no such command"},
		},
		{
			name: "subcommand missing",
			old:  `command: ["dlq", "list"]`,
			new:  `command: ["dlq"]`,
			want: []string{"service dlq", "a subcommand is missing"},
		},
		{
			name: "unknown role",
			old:  `command: ["choreographed", "shipping"]`,
			new:  `command: ["choreographed", "shiping"]`,
			want: []string{"service choreographed-shipping", "would not start", "shiping"},
		},
		{
			name: "misspelt environment variable",
			old:  "  ORDERSAGA_TEMPORAL_ADDRESS: temporal:7233\n",
			new:  "  ORDERSAGA_TEMPORAL_ADRESS: temporal:7233\n",
			want: []string{"service orchestrated-orders", "sets ORDERSAGA_TEMPORAL_ADRESS, which no command of the binary reads"},
		},
		{
			name: "Temporal address missing",
			old:  "  ORDERSAGA_TEMPORAL_ADDRESS: temporal:7233\n",
			new:  "",
			want: []string{"service orchestrated-inventory", "Temporal at 127.0.0.1:7233 is the container itself"},
		},
		{
			name: "Kafka brokers missing",
			old:  "  ORDERSAGA_KAFKA_BROKERS: kafka:9092\n  ORDERSAGA_TOPIC_PREFIX",
			new:  "  ORDERSAGA_TOPIC_PREFIX",
			want: []string{"service choreographed-payment", "Kafka broker 127.0.0.1:9092 is the container itself"},
		},
		{
			name: "variable of the other variant",
			old:  "  ORDERSAGA_TEMPORAL_NAMESPACE: default\n",
			new:  "  ORDERSAGA_TEMPORAL_NAMESPACE: default\n  ORDERSAGA_TOPIC_PREFIX: ordersaga\n",
			want: []string{"service orchestrated-shipping", "sets ORDERSAGA_TOPIC_PREFIX, which `ordersaga orchestrated` does not read"},
		},
		{
			name: "database of a hosted role missing",
			old:  "      ORDERSAGA_PAYMENT_DB: postgres://postgres@postgres:5432/orchestrated_payment?sslmode=disable\n      OTEL_SERVICE_NAME",
			new:  "      OTEL_SERVICE_NAME",
			want: []string{"service orchestrated-payment", "would not start", "payment"},
		},
		{
			name: "database the init script does not create",
			old:  "postgres:5432/choreographed_orders?sslmode=disable\n      OTEL_SERVICE_NAME",
			new:  "postgres:5432/choreographed_order?sslmode=disable\n      OTEL_SERVICE_NAME",
			want: []string{"service choreographed-orders", `database "choreographed_order" on postgres, which its init scripts do not create`},
		},
		{
			name: "database no migrate service migrates",
			old:  "postgres:5432/choreographed_orders?sslmode=disable\n      OTEL_SERVICE_NAME",
			new:  "postgres:5432/orchestrated_orders?sslmode=disable\n      OTEL_SERVICE_NAME",
			want: []string{"service choreographed-orders", "does not wait for a migrate service", "orders database"},
		},
		{
			name: "migrate without every database",
			old:  "      ORDERSAGA_SHIPPING_DB: postgres://postgres@postgres:5432/choreographed_shipping?sslmode=disable\n      ORDERSAGA_NOTIFICATIONS_DB",
			new:  "      ORDERSAGA_NOTIFICATIONS_DB",
			want: []string{"service migrate-choreographed", "ORDERSAGA_SHIPPING_DB not set"},
		},
		{
			name: "migrate without the notification service's database",
			old:  "      ORDERSAGA_NOTIFICATIONS_DB: postgres://postgres@postgres:5432/orchestrated_notifications?sslmode=disable\n\n",
			new:  "\n",
			want: []string{"service migrate-orchestrated", "ORDERSAGA_NOTIFICATIONS_DB not set"},
		},
		{
			name: "notification database the init script does not create",
			old:  "postgres:5432/choreographed_notifications?sslmode=disable\n      OTEL_SERVICE_NAME",
			new:  "postgres:5432/choreographed_notification?sslmode=disable\n      OTEL_SERVICE_NAME",
			want: []string{"service choreographed-notifications", `database "choreographed_notification" on postgres, which its init scripts do not create`},
		},
		{
			name: "migrate without its variant",
			old:  `command: ["migrate", "-variant", "choreographed"]`,
			new:  `command: ["migrate"]`,
			want: []string{"service migrate-choreographed", "-variant orchestrated or -variant choreographed"},
		},
		{
			name: "published port is not the HTTP port",
			old:  `"127.0.0.1:8081:8080"`,
			new:  `"127.0.0.1:8081:9090"`,
			want: []string{"service orchestrated-orders", "published port 127.0.0.1:8081:9090 is port 9090", ":8080"},
		},
		{
			name: "HTTP on the loopback interface",
			old:  "x-choreographed-env: &choreographed-env\n  ORDERSAGA_HTTP_ADDR: \":8080\"",
			new:  "x-choreographed-env: &choreographed-env\n  ORDERSAGA_HTTP_ADDR: \"127.0.0.1:8080\"",
			want: []string{"service choreographed-orders", "nothing outside the container reaches"},
		},
		{
			name: "host port published twice",
			old:  `"127.0.0.1:8082:8080"`,
			new:  `"127.0.0.1:8081:8080"`,
			want: []string{"publish host port 127.0.0.1:8081"},
		},
		{
			name: "orders process without a service's URL",
			old:  "      ORDERSAGA_SHIPPING_URL: http://choreographed-shipping:8080\n",
			new:  "",
			want: []string{"service choreographed-orders hosts orders but not shipping, and sets no ORDERSAGA_SHIPPING_URL"},
		},
		{
			name: "orders process without the notification service's URL",
			old:  "      ORDERSAGA_NOTIFICATIONS_URL: http://orchestrated-notifications:8080\n",
			new:  "",
			want: []string{"service orchestrated-orders hosts orders but not notifications, and sets no ORDERSAGA_NOTIFICATIONS_URL"},
		},
		{
			name: "notification URL of a step's process",
			old:  "ORDERSAGA_NOTIFICATIONS_URL: http://choreographed-notifications:8080",
			new:  "ORDERSAGA_NOTIFICATIONS_URL: http://choreographed-shipping:8080",
			want: []string{"service choreographed-orders", "ORDERSAGA_NOTIFICATIONS_URL", "hosts [shipping], not notifications"},
		},
		{
			name: "URL of no service",
			old:  "http://orchestrated-payment:8080",
			new:  "http://orchestrated-paymnt:8080",
			want: []string{"service orchestrated-orders", "ORDERSAGA_PAYMENT_URL http://orchestrated-paymnt:8080 leads to host orchestrated-paymnt, which is not a service"},
		},
		{
			name: "URL of another port",
			old:  "http://orchestrated-shipping:8080",
			new:  "http://orchestrated-shipping:9090",
			want: []string{"service orchestrated-orders", "is port 9090 of service orchestrated-shipping, which serves HTTP on port 8080"},
		},
		{
			name: "URL of another role",
			old:  "http://choreographed-inventory:8080",
			new:  "http://choreographed-payment:8080",
			want: []string{"service choreographed-orders", "ORDERSAGA_INVENTORY_URL", "hosts [payment], not inventory"},
		},
		{
			name: "URL of the other variant",
			old:  "http://orchestrated-inventory:8080",
			new:  "http://choreographed-inventory:8080",
			want: []string{"service orchestrated-orders", "not a process of the orchestrated variant"},
		},
		{
			name: "URL of a service that is not a process",
			old:  "http://choreographed-payment:8080",
			new:  "http://jaeger:8080",
			want: []string{"service choreographed-orders", "leads to service jaeger, which runs no ordersaga process"},
		},
		{
			name: "topics of another prefix",
			old:  "  ORDERSAGA_TOPIC_PREFIX: ordersaga\n  ORDERSAGA_FAULT_INJECTION",
			new:  "  ORDERSAGA_TOPIC_PREFIX: shop\n  ORDERSAGA_FAULT_INJECTION",
			want: []string{"service kafka-topics creates topics", `topic prefix "shop"`},
		},
		{
			name: "dead-letter topic not created",
			old:  " ordersaga.shipping ordersaga.deadletter\n",
			new:  " ordersaga.shipping\n",
			want: []string{"service kafka-topics creates topics"},
		},
		{
			name: "Temporal namespace not registered",
			old:  "  ORDERSAGA_TEMPORAL_NAMESPACE: default\n",
			new:  "  ORDERSAGA_TEMPORAL_NAMESPACE: shop\n",
			want: []string{`uses Temporal namespace "shop", but temporal registers "default"`},
		},
		{
			name: "Temporal database not created",
			old:  "      VISIBILITY_DBNAME: temporal_visibility\n",
			new:  "      VISIBILITY_DBNAME: temporal_vis\n",
			want: []string{"service temporal", `VISIBILITY_DBNAME "temporal_vis"`},
		},
		{
			name: "waiting for health without a health check",
			old:  "    otel-collector:\n      condition: service_started\n\nx-choreographed-service",
			new:  "    otel-collector:\n      condition: service_healthy\n\nx-choreographed-service",
			want: []string{"waits for otel-collector to be healthy, but otel-collector has no health check"},
		},
		{
			name: "waiting for a long-running service to complete",
			old:  "  migrate-orchestrated:\n    <<: *ordersaga-image\n    restart: \"no\"",
			new:  "  migrate-orchestrated:\n    <<: *ordersaga-image\n    restart: unless-stopped",
			want: []string{"waits for migrate-orchestrated to complete, but migrate-orchestrated restarts unless-stopped"},
		},
		{
			name: "dependency cycle",
			old:  "  postgres:\n    image: postgres:15\n",
			new:  "  postgres:\n    image: postgres:15\n    depends_on: [temporal]\n",
			want: []string{"depends_on cycle"},
		},
		{
			name: "misspelt service key",
			old:  "    entrypoint: [\"/bin/bash\", \"-ec\"]",
			new:  "    entrypont: [\"/bin/bash\", \"-ec\"]",
			want: []string{`service kafka-topics: unknown key "entrypont"`},
		},
		{
			name: "mounted file missing",
			old:  "./compose/postgres-init.sql:",
			new:  "./compose/postgres-init-missing.sql:",
			want: []string{"service postgres mounts ./compose/postgres-init-missing.sql, which does not exist"},
		},
		{
			name: "undeclared volume",
			old:  "      - kafka-data:/var/lib/kafka/data",
			new:  "      - kafka-log:/var/lib/kafka/data",
			want: []string{"service kafka uses volume kafka-log, which the top-level volumes do not declare"},
		},
		{
			name: "collector not a service",
			old:  "  OTEL_EXPORTER_OTLP_ENDPOINT: http://otel-collector:4317\n\n# Settings of every process of the choreographed",
			new:  "  OTEL_EXPORTER_OTLP_ENDPOINT: http://collector:4317\n\n# Settings of every process of the choreographed",
			want: []string{"service orchestrated-orders", `the trace collector at host "collector"`},
		},
		{
			name: "command as a string, split as Compose splits it",
			old:  `command: ["orchestrated", "payment"]`,
			new:  `command: orchestrated paymnt`,
			want: []string{"service orchestrated-payment", "would not start", "paymnt"},
		},
		{
			name: "health check runs another command",
			old:  `"/ordersaga", "healthcheck", "-url", "http://127.0.0.1:8080/readyz", "-timeout", "3s"]`,
			new:  `"/ordersaga", "version"]`,
			want: []string{"service orchestrated-orders", "the health check runs `ordersaga version`, not `ordersaga healthcheck`"},
		},
		{
			name: "health check through a shell",
			old:  `test: ["CMD", "/ordersaga", "healthcheck", "-url", "http://127.0.0.1:8080/readyz", "-timeout", "3s"]`,
			new:  `test: ["CMD-SHELL", "curl -fsS http://127.0.0.1:8080/readyz"]`,
			want: []string{"service choreographed-payment", "the health check must be [\"CMD\", \"/ordersaga\", \"healthcheck\", …]"},
		},
		{
			name: "health check on another port",
			old:  `"http://127.0.0.1:8080/readyz"`,
			new:  `"http://127.0.0.1:9090/readyz"`,
			want: []string{"service orchestrated-shipping", "the health check's port is port 9090, but the process serves HTTP on :8080"},
		},
		{
			name: "health check on another host",
			old:  `"http://127.0.0.1:8080/readyz"`,
			new:  `"http://orchestrated-orders:8080/readyz"`,
			want: []string{"service choreographed-inventory", "it runs inside the container"},
		},
		{
			name: "health check on an unknown path",
			old:  `"http://127.0.0.1:8080/readyz"`,
			new:  `"http://127.0.0.1:8080/ready"`,
			want: []string{"service choreographed-orders", "/ready, which is not /healthz or /readyz"},
		},
		{
			name: "health check with a bad flag",
			old:  `"-timeout", "3s"]`,
			new:  `"-timout", "3s"]`,
			want: []string{"service orchestrated-payment", "`ordersaga healthcheck -url http://127.0.0.1:8080/readyz -timout 3s` would fail"},
		},
		{
			name: "health check timeout shorter than the request's",
			old:  "  timeout: 5s\n  retries: 3\n",
			new:  "  timeout: 2s\n  retries: 3\n",
			want: []string{"service orchestrated-inventory", "the health check's timeout 2s is not above the command's -timeout 3s"},
		},
		{
			name: "service without a health check",
			old:  "  healthcheck: *ordersaga-healthcheck\n  depends_on:\n    migrate-choreographed:",
			new:  "  depends_on:\n    migrate-choreographed:",
			want: []string{"service choreographed-shipping runs a process of the choreographed variant without a health check"},
		},

		// Credentials come from secrets, never from the file.
		{
			name: "password in a database address",
			old:  "ORDERSAGA_ORDERS_DB: postgres://postgres@postgres:5432/orchestrated_orders?sslmode=disable\n      OTEL_SERVICE_NAME",
			new:  "ORDERSAGA_ORDERS_DB: postgres://postgres:hunter2@postgres:5432/orchestrated_orders?sslmode=disable\n      OTEL_SERVICE_NAME",
			want: []string{"service orchestrated-orders: ORDERSAGA_ORDERS_DB holds an address with its password (postgres://postgres:xxxxx@postgres:5432/orchestrated_orders"},
		},
		{
			name: "password in a query parameter",
			old:  "ORDERSAGA_SHIPPING_DB: postgres://postgres@postgres:5432/choreographed_shipping?sslmode=disable\n      OTEL_SERVICE_NAME",
			new:  "ORDERSAGA_SHIPPING_DB: postgres://postgres@postgres:5432/choreographed_shipping?sslmode=disable&password=hunter2\n      OTEL_SERVICE_NAME",
			want: []string{"service choreographed-shipping: ORDERSAGA_SHIPPING_DB holds an address with its password", "password=xxxxx"},
		},
		{
			name: "database password written in the file",
			old:  "POSTGRES_PASSWORD_FILE: /run/secrets/postgres-password",
			new:  "POSTGRES_PASSWORD: hunter2",
			want: []string{"service postgres: POSTGRES_PASSWORD holds a credential"},
		},
		{
			name: "signing secret written in the file",
			old:  "  ORDERSAGA_AUTH_SECRET_FILE: /run/secrets/auth-secret\n  # Tracing: spans go",
			new:  "  ORDERSAGA_AUTH_SECRET: a-secret-of-the-api-written-into-the-compose-file\n  # Tracing: spans go",
			want: []string{"service orchestrated-payment: ORDERSAGA_AUTH_SECRET holds a credential"},
		},
		{
			name: "secret file the service does not mount",
			old:  "    secrets: [pgpass]\n    environment:\n      PGPASSFILE: /run/secrets/pgpass\n      ORDERSAGA_ORDERS_DB: postgres://postgres@postgres:5432/orchestrated_orders",
			new:  "    environment:\n      PGPASSFILE: /run/secrets/pgpass\n      ORDERSAGA_ORDERS_DB: postgres://postgres@postgres:5432/orchestrated_orders",
			want: []string{"service migrate-orchestrated: PGPASSFILE names /run/secrets/pgpass, but the service mounts no secret pgpass"},
		},
		{
			name: "credential file outside the secrets",
			old:  "    environment:\n      PGPASSFILE: /run/secrets/pgpass\n      ORDERSAGA_ORDERS_DB: postgres://postgres@postgres:5432/choreographed_orders",
			new:  "    environment:\n      PGPASSFILE: /etc/pgpass\n      ORDERSAGA_ORDERS_DB: postgres://postgres@postgres:5432/choreographed_orders",
			want: []string{"service migrate-choreographed: PGPASSFILE names /etc/pgpass, which is not a Compose secret"},
		},
		{
			name: "database address without a password file",
			old:  "    environment:\n      PGPASSFILE: /run/secrets/pgpass\n      ORDERSAGA_ORDERS_DB: postgres://postgres@postgres:5432/choreographed_orders",
			new:  "    environment:\n      ORDERSAGA_ORDERS_DB: postgres://postgres@postgres:5432/choreographed_orders",
			want: []string{"service migrate-choreographed: ORDERSAGA_ORDERS_DB has no password and no PGPASSFILE"},
		},
		{
			name: "password file without the database's user",
			old:  "ORDERSAGA_PAYMENT_DB: postgres://postgres@postgres:5432/choreographed_payment?sslmode=disable\n      OTEL_SERVICE_NAME",
			new:  "ORDERSAGA_PAYMENT_DB: postgres://ordersaga@postgres:5432/choreographed_payment?sslmode=disable\n      OTEL_SERVICE_NAME",
			want: []string{"service choreographed-payment: ORDERSAGA_PAYMENT_DB has no password, and the password file deploy/compose/secrets/dev/pgpass", "gives none for postgres:5432, database choreographed_payment, user ordersaga"},
		},
		{
			name: "password file not the server's password",
			old:  "      POSTGRES_PASSWORD_FILE: /run/secrets/postgres-password\n    secrets: [postgres-password]\n",
			new:  "      POSTGRES_PASSWORD_FILE: /run/secrets/auth-secret\n    secrets: [auth-secret]\n",
			want: []string{"service orchestrated-inventory: the password deploy/compose/secrets/dev/pgpass (PGPASSFILE) gives for ORDERSAGA_INVENTORY_DB is not the one service postgres starts with"},
		},
		{
			name: "secret file missing",
			old:  "/compose/secrets/dev}/pgpass\n",
			new:  "/compose/secrets/dev}/pgpas\n",
			want: []string{"secret pgpass is read from ./compose/secrets/dev/pgpas, which does not exist"},
		},
		{
			name: "secret the file does not define",
			old:  "  secrets: [pgpass, auth-secret]\n  healthcheck: *ordersaga-healthcheck\n  depends_on:\n    migrate-orchestrated:",
			new:  "  secrets: [pgpass, auth]\n  healthcheck: *ordersaga-healthcheck\n  depends_on:\n    migrate-orchestrated:",
			want: []string{"service orchestrated-shipping uses secret auth, which the top-level secrets do not define"},
		},
		{
			name: "fault injection on by default",
			old:  "  ORDERSAGA_TOPIC_PREFIX: ordersaga\n  ORDERSAGA_FAULT_INJECTION: ${ORDERSAGA_FAULT_INJECTION:-false}",
			new:  "  ORDERSAGA_TOPIC_PREFIX: ordersaga\n  ORDERSAGA_FAULT_INJECTION: \"true\"",
			want: []string{"service choreographed-inventory serves fault injection (/v1/admin/faults) unless asked"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			broken := replaceOnce(t, doc, tc.old, tc.new)
			wantProblem(t, CheckCompose(r, composePath, []byte(broken), bin), tc.want...)
		})
	}
}

// TestCheckCompose_BrokenDocument checks a small document written wrong
// in many ways at once, against a binary given in the test.
func TestCheckCompose_BrokenDocument(t *testing.T) {
	r := testRepo(t)
	bin := Binary{
		Commands: []Command{{Name: "migrate"}, {Name: "orchestrated"}, {Name: "choreographed"}},
		Env: map[string]bool{
			"ORDERSAGA_ORDERS_DB": true, "ORDERSAGA_HTTP_ADDR": true, "ORDERSAGA_TEMPORAL_ADDRESS": true,
			"ORDERSAGA_TEMPORAL_NAMESPACE": true, "ORDERSAGA_KAFKA_BROKERS": true, "ORDERSAGA_AUTH_SECRET_FILE": true,
		},
	}
	doc := `
services:
  db:
    image: postgres:15
  app:
    build: {context: .., dockerfile: deploy/Dockerfile}
    image: ordersaga:test
    command: ["orchestrate", "orders"]
    depends_on: [cache]
    environment:
      ORDERSAGA_ORDERS_DB: postgres://db/orders
      ORDERSAGA_COLOUR: blue
  worker:
    image: ordersaga:test
    command: ["orchestrated", "orders"]
    depends_on:
      db: {condition: service_healthy}
    environment:
      - ORDERSAGA_ORDERS_DB=postgres://db/orders
      - ORDERSAGA_HTTP_ADDR=:8080
      - ORDERSAGA_TEMPORAL_ADDRESS=temporal:7233
      - ORDERSAGA_AUTH_SECRET_FILE=/run/secrets/api
    ports: ["8081:9090"]
    healthcheck: {test: ["CMD", "/ordersaga", "healthcheck"]}
  sidecar:
    image: busybox
    helthcheck: {test: ["CMD", "true"]}
bogus: 1
`
	got := CheckCompose(r, composePath, []byte(doc), bin)
	for _, want := range [][]string{
		{"unknown top-level key \"bogus\""},
		{"service app depends on cache, which is not a service"},
		{"service app", "ordersaga orchestrate: no such command"},
		{"service app", "sets ORDERSAGA_COLOUR, which no command of the binary reads"},
		{"service worker waits for db to be healthy, but db has no health check"},
		{"service worker", "published port 8081:9090 is port 9090"},
		{"service worker", `Temporal at host "temporal"`},
		{"service worker", `database "orders" on db, which its init scripts do not create`},
		{"service worker does not wait for a migrate service"},
		{`service sidecar: unknown key "helthcheck"`},
		{"service worker", "health check: ordersaga healthcheck: no such command"},
		{"service worker: ORDERSAGA_AUTH_SECRET_FILE names /run/secrets/api, but the service mounts no secret api"},
		{"service worker: ORDERSAGA_ORDERS_DB has no password and no PGPASSFILE"},
	} {
		wantProblem(t, got, want...)
	}
}

func TestReadBinary_KnowsTheHealthcheckCommand(t *testing.T) {
	r := testRepo(t)
	cmd, err := testBinary(t, r).Resolve([]string{cmdHealthcheck, "-url", "http://127.0.0.1:8080/readyz"})
	if err != nil || len(cmd) != 1 || cmd[0] != cmdHealthcheck {
		t.Errorf("Resolve(healthcheck) = %v, %v; want the command of the binary", cmd, err)
	}
}

func TestCheckCompose_UnparsableDocument(t *testing.T) {
	r := testRepo(t)
	got := CheckCompose(r, composePath, []byte("services:\n  a: [unclosed\n"), Binary{})
	wantProblem(t, got, "does not parse")
}

func TestCheckCollectorConfig_ReportsUndefinedComponents(t *testing.T) {
	ps := &problems{file: "otel.yaml"}
	checkCollectorConfig(ps, []byte(`
receivers: {otlp: {protocols: {grpc: {}}}}
exporters: {otlp/jaeger: {endpoint: "tracing:4317"}}
service:
  extensions: [health_check]
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [otlp/jaeger]}
`), func(host string) bool { return host == "jaeger" })
	for _, want := range []string{
		`pipeline traces uses processor "batch", which is not defined`,
		`service.extensions names "health_check", which is not defined`,
		"exporter otlp/jaeger sends to tracing:4317, whose host is not a service",
	} {
		wantProblem(t, ps.list, want)
	}
}
