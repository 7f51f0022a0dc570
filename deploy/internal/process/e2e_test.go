package process_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/deploy/internal/proctest"
	"github.com/ordersaga/ordersaga/deploy/kafkadev"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
	"github.com/ordersaga/ordersaga/shared/telemetry"
	"github.com/ordersaga/ordersaga/shared/telemetry/telemetrytest"
)

// The end-to-end tests run the real binary, built once, as one process
// per service, against a broker and a Temporal server started once in the
// test process.
var (
	ordersaga = &proctest.Binary{Package: "github.com/ordersaga/ordersaga/deploy/cmd/ordersaga"}
	infra     = &infrastructure{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	infra.stop()
	ordersaga.Remove()
	os.Exit(code)
}

// infrastructure is the broker and the Temporal server the processes
// share, each started on first use.
type infrastructure struct {
	kafkaOnce    sync.Once
	kafka        *kafkadev.Broker
	kafkaErr     error
	temporalOnce sync.Once
	temporal     *temporaldev.Server
	temporalErr  error
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// kafkaBrokers returns the broker's bootstrap address, starting it first.
func (i *infrastructure) kafkaBrokers(tb testing.TB) string {
	tb.Helper()
	i.kafkaOnce.Do(func() {
		i.kafka, i.kafkaErr = kafkadev.Start(kafkadev.Config{Address: "127.0.0.1:0", Logger: quietLogger()})
	})
	if i.kafkaErr != nil {
		tb.Fatalf("starting the broker: %v", i.kafkaErr)
	}
	return strings.Join(i.kafka.Addrs(), ",")
}

// temporalAddress returns the Temporal frontend's address, starting the
// server first.
func (i *infrastructure) temporalAddress(tb testing.TB) string {
	tb.Helper()
	i.temporalOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		i.temporal, i.temporalErr = temporaldev.Start(ctx, temporaldev.Config{FrontendAddress: "127.0.0.1:0", NoUI: true, Logger: quietLogger()})
	})
	if i.temporalErr != nil {
		tb.Fatalf("starting temporal: %v", i.temporalErr)
	}
	return i.temporal.FrontendAddress()
}

func (i *infrastructure) stop() {
	if i.kafka != nil {
		_ = i.kafka.Close()
	}
	if i.temporal != nil {
		i.temporal.Stop()
	}
}

func unique(tb testing.TB) string {
	tb.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// roleDatabases returns a fresh PostgreSQL database for each role, or,
// when PostgreSQL does not answer (and CI is not set), a SQLite file each.
func roleDatabases(tb testing.TB) map[hosted.Role]string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dbs := map[hosted.Role]string{}
	if db, err := sqldb.Open(ctx, sqltest.PostgresURL()); err == nil || os.Getenv("CI") != "" {
		if db != nil {
			db.Close()
		}
		for _, r := range hosted.AllRoles() {
			dbs[r] = sqltest.DSN(tb, sqldb.Postgres)
		}
		return dbs
	}
	tb.Logf("PostgreSQL does not answer: the services use SQLite files")
	dir := tb.TempDir()
	for _, r := range hosted.AllRoles() {
		dbs[r] = "sqlite:" + dir + "/" + string(r) + ".db"
	}
	return dbs
}

func TestChoreographed_EachServiceItsOwnProcess_OrdersEndRightAndEveryProcessStopsCleanly(t *testing.T) {
	t.Parallel()
	bin := ordersaga.Path(t)
	brokers := infra.kafkaBrokers(t)
	prefix := "e2e-" + unique(t)
	dbs := roleDatabases(t)
	traces := telemetrytest.StartCollector(t)
	var dbEnv []string
	for _, r := range hosted.AllRoles() {
		dbEnv = append(dbEnv, "ORDERSAGA_"+strings.ToUpper(string(r))+"_DB="+dbs[r])
	}
	proctest.Run(t, bin, dbEnv, "migrate", "-variant", "choreographed")
	var specs []proctest.Spec
	ops, addrs := map[hosted.Role]string{}, freeAddrs(t)
	for _, r := range hosted.AllRoles() {
		addr := addrs[r]
		ops[r] = proctest.FreeAddr(t)
		spec := proctest.Spec{
			Name:   "choreographed " + string(r),
			Binary: bin,
			// The database, tracing and the operations listener by
			// environment, the rest by flags.
			Args: []string{"choreographed", string(r), "-kafka-brokers", brokers, "-topic-prefix", prefix, "-http-addr", addr},
			Env: []string{"ORDERSAGA_" + strings.ToUpper(string(r)) + "_DB=" + dbs[r],
				"ORDERSAGA_OTEL_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_ENDPOINT=http://" + traces.Addr(), "ORDERSAGA_OPS_ADDR=" + ops[r]},
			Addr: addr,
		}
		if r == hosted.RoleOrders { // forwards the notification service's endpoint (by environment)
			spec.Env = append(spec.Env, "ORDERSAGA_NOTIFICATIONS_URL=http://"+addrs[hosted.RoleNotifications])
		}
		specs = append(specs, spec)
	}
	procs := proctest.StartAll(t, specs...)
	checkOpsListeners(t, ops)
	checkTrace(t, traces, exercise(t, byRole(procs)), process.Choreographed)
}

func TestOrchestrated_EachServiceItsOwnProcess_OrdersEndRightAndEveryProcessStopsCleanly(t *testing.T) {
	t.Parallel()
	bin := ordersaga.Path(t)
	temporal := infra.temporalAddress(t)
	dataDir := t.TempDir()
	traces := telemetrytest.StartCollector(t)
	proctest.Run(t, bin, nil, "migrate", "-variant", "orchestrated", "-data-dir", dataDir)
	var specs []proctest.Spec
	ops, addrs := map[hosted.Role]string{}, freeAddrs(t)
	for _, r := range hosted.AllRoles() {
		addr := addrs[r]
		ops[r] = proctest.FreeAddr(t)
		spec := proctest.Spec{
			Name:   "orchestrated " + string(r),
			Binary: bin,
			// The settings by flags, the HTTP address by environment.
			Args: []string{"orchestrated", string(r), "-temporal-address", temporal, "-data-dir", dataDir,
				"-otel-exporter", "otlp", "-otel-endpoint", traces.Addr(), "-ops-addr", ops[r]},
			Env:  []string{"ORDERSAGA_HTTP_ADDR=" + addr},
			Addr: addr,
		}
		if r == hosted.RoleOrders { // forwards the notification service's endpoint (by flag)
			spec.Args = append(spec.Args, "-notifications-url", "http://"+addrs[hosted.RoleNotifications])
		}
		specs = append(specs, spec)
	}
	procs := proctest.StartAll(t, specs...)
	checkOpsListeners(t, ops)
	checkTrace(t, traces, exercise(t, byRole(procs)), process.Orchestrated)
}

// freeAddrs returns a free local address for each role's process.
func freeAddrs(t *testing.T) map[hosted.Role]string {
	t.Helper()
	addrs := map[hosted.Role]string{}
	for _, r := range hosted.AllRoles() {
		addrs[r] = proctest.FreeAddr(t)
	}
	return addrs
}

// checkOpsListeners checks that each process's operations listener
// (-ops-addr) answers /healthz, /readyz and /metrics without a token, and
// nothing of the API.
func checkOpsListeners(t *testing.T, ops map[hosted.Role]string) {
	t.Helper()
	for r, addr := range ops {
		for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
			if status, body := call(t, "", http.MethodGet, "http://"+addr+path, nil); status != http.StatusOK {
				t.Errorf("%s operations listener GET %s: %d %s", r, path, status, body)
			}
		}
		if status, _ := call(t, proctest.Token(t, auth.RoleOperator, "e2e"), http.MethodGet, "http://"+addr+"/v1/products", nil); status != http.StatusNotFound {
			t.Errorf("%s operations listener GET /v1/products: %d, want 404 (the API is not served there)", r, status)
		}
	}
}

func byRole(procs []*proctest.Proc) map[hosted.Role]*proctest.Proc {
	out := map[hosted.Role]*proctest.Proc{}
	for i, r := range hosted.AllRoles() {
		out[r] = procs[i]
	}
	return out
}

// exercise checks one variant split into a process per role, every one
// started with proctest.Secret: every process answers the operations
// endpoints without a token; a product and customers are set up through
// the processes owning them with an operator token (without one 401, with
// a customer's 403); each customer places its order with its own token on
// the orders process, and reads it, while another customer's read is
// answered 404; an order completes and one is declined, with stock and
// credit right in the owning services; and every process stops cleanly on
// SIGTERM. It returns the completed order's id.
func exercise(t *testing.T, procs map[hosted.Role]*proctest.Proc) (completed string) {
	for r, p := range procs {
		for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
			status, body := call(t, "", http.MethodGet, p.URL+path, nil)
			if status != http.StatusOK {
				t.Errorf("%s GET %s: %d %s", r, path, status, body)
			}
		}
		if _, body := call(t, "", http.MethodGet, p.URL+"/metrics", nil); !strings.Contains(body, "go_goroutines") {
			t.Errorf("%s /metrics lacks the Go collector", r)
		}
	}

	inventory, payment, orders := procs[hosted.RoleInventory].URL, procs[hosted.RolePayment].URL, procs[hosted.RoleOrders].URL
	sku, rich, poor := "mug-"+unique(t), "ada-"+unique(t), "bob-"+unique(t)
	operator := proctest.Token(t, auth.RoleOperator, "e2e")
	tokens := map[string]string{rich: proctest.Token(t, auth.RoleCustomer, rich), poor: proctest.Token(t, auth.RoleCustomer, poor)}
	product := `{"name": "Mug", "price_cents": 1250, "stock": 10}`
	if status, body := call(t, "", http.MethodPut, inventory+"/v1/products/"+sku, []byte(product)); status != http.StatusUnauthorized {
		t.Errorf("PUT a product on the inventory process without a token: %d %s, want 401", status, body)
	}
	if status, body := call(t, tokens[rich], http.MethodPut, payment+"/v1/customers/"+rich, []byte(`{"name": "Ada", "credit_cents": 1}`)); status != http.StatusForbidden {
		t.Errorf("PUT a customer on the payment process as a customer: %d %s, want 403", status, body)
	}
	mustCall(t, operator, http.MethodPut, inventory+"/v1/products/"+sku, product, http.StatusOK)
	mustCall(t, operator, http.MethodPut, payment+"/v1/customers/"+rich, `{"name": "Ada", "credit_cents": 100000}`, http.StatusOK)
	mustCall(t, operator, http.MethodPut, payment+"/v1/customers/"+poor, `{"name": "Bob", "credit_cents": 100}`, http.StatusOK)

	place := func(customer string, qty int) string {
		body := fmt.Sprintf(`{"customer_id": %q, "items": [{"sku": %q, "quantity": %d}],
			"ship_to": {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}}`, customer, sku, qty)
		status, resp := call(t, tokens[customer], http.MethodPost, orders+"/v1/orders", []byte(body))
		if status != http.StatusAccepted {
			t.Fatalf("POST /v1/orders: %d %s", status, resp)
		}
		var o order
		if err := json.Unmarshal([]byte(resp), &o); err != nil || o.OrderID == "" {
			t.Fatalf("POST /v1/orders answered %s (%v)", resp, err)
		}
		return o.OrderID
	}
	okID, declinedID := place(rich, 2), place(poor, 1)
	if status, body := call(t, tokens[poor], http.MethodGet, orders+"/v1/orders/"+okID, nil); status != http.StatusNotFound {
		t.Errorf("GET another customer's order: %d %s, want 404", status, body)
	}

	ok := waitFinal(t, tokens[rich], orders, okID)
	if ok.Status != "completed" || ok.TotalCents == nil || *ok.TotalCents != 2500 || ok.TrackingNumber == "" {
		t.Errorf("order %s ended %+v, want completed with a total of 2500 and a tracking number", okID, ok)
	}
	for _, s := range ok.Steps {
		if s.Status != "done" {
			t.Errorf("completed order's step %s is %s", s.Step, s.Status)
		}
	}
	declined := waitFinal(t, tokens[poor], orders, declinedID)
	if declined.Status != "failed" || declined.FailureReason != "payment_declined" {
		t.Errorf("order %s ended %s (%s), want failed (payment_declined)", declinedID, declined.Status, declined.FailureReason)
	}

	checkNotificationsEndpoint(t, procs, rich, tokens[rich], tokens[poor])

	// The services that own the data agree: the completed order's units
	// left, the declined order's came back; only the completed order was
	// charged.
	waitFor(t, "stock of "+sku+" at 8 available and 0 reserved", func() (bool, string) {
		_, body := call(t, "", http.MethodGet, inventory+"/v1/products/"+sku, nil)
		var p struct{ Available, Reserved int }
		_ = json.Unmarshal([]byte(body), &p)
		return p.Available == 8 && p.Reserved == 0, body
	})
	for customer, want := range map[string]int64{rich: 100000 - 2500, poor: 100} {
		_, body := call(t, tokens[customer], http.MethodGet, payment+"/v1/customers/"+customer, nil)
		var c struct {
			CreditCents int64 `json:"credit_cents"`
		}
		if err := json.Unmarshal([]byte(body), &c); err != nil || c.CreditCents != want {
			t.Errorf("customer %s: %s, want credit_cents %d", customer, body, want)
		}
	}

	// SIGTERM stops each process cleanly: exit status 0 after a clean
	// shutdown. The orders process goes first, as a rolling restart would
	// take it down while the others still run.
	for _, r := range hosted.AllRoles() {
		p := procs[r]
		if err := p.Stop(); err != nil {
			t.Errorf("%s did not stop cleanly: %v", r, err)
		}
		if !strings.Contains(p.Output(), "stopped cleanly") {
			t.Errorf("%s did not log its clean stop", r)
		}
	}
	return okID
}

// checkNotificationsEndpoint checks GET /v1/customers/{id}/notifications
// on the notification service's process and, forwarded there, on the
// orders process: the customer's own list answers 200 with a
// "notifications" array, another customer's token 404, no token 401.
func checkNotificationsEndpoint(t *testing.T, procs map[hosted.Role]*proctest.Proc, customer, own, other string) {
	t.Helper()
	path := "/v1/customers/" + customer + "/notifications"
	for _, r := range []hosted.Role{hosted.RoleNotifications, hosted.RoleOrders} {
		base := procs[r].URL
		status, body := call(t, own, http.MethodGet, base+path, nil)
		var page struct {
			Notifications []json.RawMessage `json:"notifications"`
		}
		if status != http.StatusOK || json.Unmarshal([]byte(body), &page) != nil || page.Notifications == nil {
			t.Errorf("GET %s on the %s process: %d %s, want 200 with a notifications array", path, r, status, body)
		}
		if status, body := call(t, other, http.MethodGet, base+path, nil); status != http.StatusNotFound {
			t.Errorf("GET %s on the %s process as another customer: %d %s, want 404", path, r, status, body)
		}
		if status, body := call(t, "", http.MethodGet, base+path, nil); status != http.StatusUnauthorized {
			t.Errorf("GET %s on the %s process without a token: %d %s, want 401", path, r, status, body)
		}
	}
}

// checkTrace checks the spans the processes sent to the collector by the
// time they stopped: the completed order is one connected trace, from the
// POST that placed it through every service, each span sent by the process
// of its service (named ordersaga-<variant>-<role>).
func checkTrace(t *testing.T, c *telemetrytest.Collector, orderID string, v process.Variant) {
	t.Helper()
	var spans tracetest.SpanStubs
	for _, s := range c.Spans() {
		// The order was polled with GETs, each a trace of its own.
		if !strings.HasPrefix(s.Name, "GET ") {
			spans = append(spans, s)
		}
	}
	want := telemetrytest.Want{Root: "POST /v1/orders", Services: []string{"orders", "inventory", "payment", "shipping"}}
	if err := telemetrytest.CheckOrderTrace(spans, orderID, want); err != nil {
		t.Error(err)
	}
	for _, s := range spans {
		attrs := attribute.NewSet(s.Attributes...)
		order, _ := attrs.Value(telemetry.AttrOrderID)
		service, _ := attrs.Value(telemetry.AttrService)
		sender, _ := s.Resource.Set().Value(semconv.ServiceNameKey)
		if want := "ordersaga-" + string(v) + "-" + service.AsString(); order.AsString() == orderID && sender.AsString() != want {
			t.Errorf("span %q of service %s sent by %q, want %s", s.Name, service.AsString(), sender.AsString(), want)
		}
	}
}

// order is the part of an order of the REST API the tests read.
type order struct {
	OrderID        string `json:"order_id"`
	Status         string `json:"status"`
	FailureReason  string `json:"failure_reason"`
	TotalCents     *int64 `json:"total_cents"`
	TrackingNumber string `json:"tracking_number"`
	Steps          []struct {
		Step   string `json:"step"`
		Status string `json:"status"`
	} `json:"steps"`
}

// waitFinal polls the order, with token, until it is final.
func waitFinal(t *testing.T, token, base, id string) order {
	t.Helper()
	var o order
	waitFor(t, "order "+id+" final", func() (bool, string) {
		status, body := call(t, token, http.MethodGet, base+"/v1/orders/"+id, nil)
		if status != http.StatusOK {
			return false, body
		}
		o = order{}
		_ = json.Unmarshal([]byte(body), &o)
		return o.Status != "" && o.Status != "pending", body
	})
	return o
}

// waitFor polls cond until it holds, failing t after a minute with cond's
// last note.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ok, note := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after a minute; last: %s", what, note)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// call sends a request with token as its bearer token (none when empty)
// and returns the answer's status and body.
func call(t *testing.T, token, method, url string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 40 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, url, err)
	}
	return resp.StatusCode, string(b)
}

func mustCall(t *testing.T, token, method, url, body string, want int) {
	t.Helper()
	if status, resp := call(t, token, method, url, []byte(body)); status != want {
		t.Fatalf("%s %s: %d %s, want %d", method, url, status, resp, want)
	}
}
