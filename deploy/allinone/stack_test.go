package allinone_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/ordersaga/ordersaga/deploy/allinone"
	"github.com/ordersaga/ordersaga/deploy/internal/demodata"
	"github.com/ordersaga/ordersaga/deploy/kafkadev"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
	"github.com/ordersaga/ordersaga/shared/telemetry"
	"github.com/ordersaga/ordersaga/shared/telemetry/telemetrytest"
)

func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

// testConfig is the all-embedded run on free ports in dir.
func testConfig(dir string) allinone.Config {
	cfg := allinone.DefaultConfig()
	cfg.DataDir = dir
	cfg.OrchestratedAddr = "127.0.0.1:0"
	cfg.ChoreographedAddr = "127.0.0.1:0"
	cfg.TemporalListen = "127.0.0.1:0"
	cfg.TemporalUIListen = "127.0.0.1:0"
	cfg.KafkaListen = "127.0.0.1:0"
	cfg.KafkaPartitions = 2
	return cfg
}

func logger(tb testing.TB) *slog.Logger {
	tb.Helper()
	return slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// startStack starts a stack and closes it when the test ends.
func startStack(tb testing.TB, cfg allinone.Config) *allinone.Stack {
	tb.Helper()
	s, err := allinone.Start(testContext(tb), cfg, allinone.Options{KafkaTopics: []string{"orders.events"}, Logger: logger(tb)})
	if err != nil {
		tb.Fatalf("starting stack: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// call sends a request with token as its bearer token (none when empty)
// and decodes a JSON answer into out (when not nil).
func call(tb testing.TB, token, method, url, body string, out any) int {
	tb.Helper()
	req, err := http.NewRequestWithContext(testContext(tb), method, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			tb.Fatalf("%s %s: decoding %q: %v", method, url, data, err)
		}
	}
	return resp.StatusCode
}

type product struct {
	SKU        string `json:"sku"`
	PriceCents int64  `json:"price_cents"`
	Available  int64  `json:"available"`
}

func products(tb testing.TB, base string) map[string]product {
	tb.Helper()
	var body struct {
		Products []product `json:"products"`
	}
	if code := call(tb, "", http.MethodGet, base+"/v1/products", "", &body); code != http.StatusOK {
		tb.Fatalf("GET %s/v1/products: status %d", base, code)
	}
	m := map[string]product{}
	for _, p := range body.Products {
		m[p.SKU] = p
	}
	return m
}

func checkDemoProducts(tb testing.TB, base string) {
	tb.Helper()
	got := products(tb, base)
	for _, want := range demodata.Products() {
		p, ok := got[want.SKU]
		if !ok {
			tb.Errorf("%s lists no demo product %s (lists %v)", base, want.SKU, got)
			continue
		}
		if p.PriceCents != int64(want.PriceCents) {
			tb.Errorf("%s: %s costs %d, want %d", base, want.SKU, p.PriceCents, want.PriceCents)
		}
	}
}

func TestStack_AllEmbedded_ServesBothAPIsAndRestartKeepsDataWithoutReseeding(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	traces := telemetrytest.StartCollector(t)
	cfg.OtelExporter, cfg.OtelEndpoint = telemetry.ExporterOTLP, traces.Addr()
	s := startStack(t, cfg)
	orch, chor := s.APIURL(allinone.Orchestrated), s.APIURL(allinone.Choreographed)
	if orch == "" || chor == "" || orch == chor {
		t.Fatalf("API URLs %q and %q", orch, chor)
	}

	cr := s.Credentials()
	for _, base := range []string{orch, chor} {
		if code := call(t, "", http.MethodGet, base+"/healthz", "", nil); code != http.StatusOK {
			t.Errorf("GET %s/healthz: %d, want 200", base, code)
		}
		if code := call(t, "", http.MethodGet, base+"/readyz", "", nil); code != http.StatusOK {
			t.Errorf("GET %s/readyz: %d, want 200", base, code)
		}
		if code := call(t, cr.Operator, http.MethodGet, base+"/v1/admin/faults", "", nil); code != http.StatusOK {
			t.Errorf("GET %s/v1/admin/faults with faults on, as the operator: %d, want 200", base, code)
		}
		// Fault injection is the operator's alone.
		if code := call(t, cr.Customer, http.MethodGet, base+"/v1/admin/faults", "", nil); code != http.StatusForbidden {
			t.Errorf("GET %s/v1/admin/faults as a customer: %d, want 403", base, code)
		}
		if code := call(t, "", http.MethodGet, base+"/v1/admin/faults", "", nil); code != http.StatusUnauthorized {
			t.Errorf("GET %s/v1/admin/faults without a token: %d, want 401", base, code)
		}
		checkDemoProducts(t, base)
		var ada struct {
			CreditCents int64 `json:"credit_cents"`
		}
		if code := call(t, cr.Customer, http.MethodGet, base+"/v1/customers/ada", "", &ada); code != http.StatusOK || ada.CreditCents <= 0 {
			t.Errorf("GET %s/v1/customers/ada: %d, credit %d", base, code, ada.CreditCents)
		}
	}

	// The Temporal UI answers.
	if code := call(t, "", http.MethodGet, s.TemporalUIURL()+"/", "", nil); code != http.StatusOK {
		t.Errorf("Temporal UI: %d, want 200", code)
	}
	// The broker accepts a Kafka client and holds the requested topic.
	conn, err := kafka.Dial("tcp", s.KafkaBrokers()[0])
	if err != nil {
		t.Fatalf("dialing the broker: %v", err)
	}
	parts, err := conn.ReadPartitions("orders.events")
	conn.Close()
	if err != nil || len(parts) != cfg.KafkaPartitions {
		t.Errorf("topic orders.events: %d partitions, err %v; want %d", len(parts), err, cfg.KafkaPartitions)
	}
	// The banner tells where everything is.
	banner := s.Banner()
	for _, want := range []string{orch, chor, s.TemporalUIURL(), s.KafkaBrokers()[0], dir, "curl", "?wait=5s", `"country":"DE"`,
		cr.Operator, cr.Customer, "Authorization: Bearer " + cr.Customer, "ordersaga token -auth-secret-file " + dir + "/auth-secret"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}

	// Change the orchestrated stack's stock, then restart on the same dir.
	if code := call(t, cr.Operator, http.MethodPut, orch+"/v1/products/mug", `{"name":"Mug","price_cents":1250,"stock":7}`, nil); code != http.StatusOK {
		t.Fatalf("PUT mug: %d", code)
	}
	addrs := []string{strings.TrimPrefix(orch, "http://"), strings.TrimPrefix(chor, "http://"), s.KafkaBrokers()[0], strings.TrimPrefix(s.TemporalUIURL(), "http://"), s.TemporalAddress()}
	if err := s.Close(); err != nil {
		t.Fatalf("closing: %v", err)
	}
	for _, a := range addrs {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Close", a)
		}
	}
	// Each variant traced its requests as a service of its own, and Close
	// sent the spans.
	sent := map[string]bool{}
	for _, sp := range traces.Spans() {
		name, _ := sp.Resource.Set().Value(semconv.ServiceNameKey)
		sent[name.AsString()+" "+sp.Name] = true
	}
	for _, want := range []string{"ordersaga-orchestrated PUT /v1/products/:sku", "ordersaga-choreographed GET /v1/customers/:id"} {
		if !sent[want] {
			t.Errorf("the collector received no span %q; received %v", want, sent)
		}
	}

	again := startStack(t, testConfig(dir))
	// The development secret was made once, readable by its owner alone,
	// and kept: the tokens printed before the restart still work.
	if info, err := os.Stat(dir + "/" + allinone.DevSecretFile); err != nil {
		t.Errorf("development secret file: %v", err)
	} else if info.Mode().Perm() != 0o600 {
		t.Errorf("development secret file of mode %v, want 0600", info.Mode().Perm())
	}
	if again.Credentials().Created {
		t.Error("the restart made a new development secret")
	}
	if p, err := again.Credentials().Keys.Verify(cr.Operator, time.Now()); err != nil || !p.Operator() {
		t.Errorf("the operator token printed before the restart: %+v, %v", p, err)
	}
	if code := call(t, cr.Operator, http.MethodGet, again.APIURL(allinone.Orchestrated)+"/v1/admin/faults", "", nil); code != http.StatusOK {
		t.Errorf("GET /v1/admin/faults after the restart with the operator token printed before it: %d, want 200", code)
	}
	if got := products(t, again.APIURL(allinone.Orchestrated))["mug"].Available; got != 7 {
		t.Errorf("orchestrated mug stock after restart %d, want the 7 set before (no re-seeding)", got)
	}
	wantMug := demodata.Products()[0]
	if got := products(t, again.APIURL(allinone.Choreographed))["mug"].Available; got != wantMug.Stock {
		t.Errorf("choreographed mug stock after restart %d, want the seeded %d", got, wantMug.Stock)
	}
	for _, f := range []string{"orchestrated/orders.db", "orchestrated/inventory.db", "choreographed/payment.db", "orchestrated/notifications.db",
		"choreographed/notifications.db", "temporal/temporal.db"} {
		if _, err := os.Stat(dir + "/" + f); err != nil {
			t.Errorf("data file %s: %v", f, err)
		}
	}
}

func TestStack_ExternalInfrastructureAndPostgres_UsesThemAndEmbedsNothing(t *testing.T) {
	base := sqltest.Server(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "lstest_" + hex.EncodeToString(b[:]) + "_"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := sqldb.Open(ctx, base)
		if err != nil {
			t.Errorf("dropping test databases: %v", err)
			return
		}
		defer admin.Close()
		for _, v := range []string{allinone.Orchestrated, allinone.Choreographed} {
			for _, r := range hosted.AllRoles() {
				if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+prefix+v+"_"+string(r)+" WITH (FORCE)"); err != nil {
					t.Errorf("dropping test database: %v", err)
				}
			}
		}
	})

	ctx := testContext(t)
	temporal, err := temporaldev.Start(ctx, temporaldev.Config{FrontendAddress: "127.0.0.1:0", NoUI: true, Logger: logger(t)})
	if err != nil {
		t.Fatalf("starting temporal: %v", err)
	}
	t.Cleanup(temporal.Stop)
	broker, err := kafkadev.Start(kafkadev.Config{Address: "127.0.0.1:0", Logger: logger(t)})
	if err != nil {
		t.Fatalf("starting broker: %v", err)
	}
	t.Cleanup(func() { _ = broker.Close() })

	cfg := testConfig(t.TempDir())
	cfg.TemporalAddress = temporal.FrontendAddress()
	cfg.KafkaBrokers = broker.Addrs()
	cfg.PostgresURL = base
	cfg.PostgresDBPrefix = prefix
	cfg.Faults = false
	s := startStack(t, cfg)

	if s.TemporalAddress() != temporal.FrontendAddress() || s.TemporalUIURL() != "" {
		t.Errorf("temporal %q, UI %q: want the external frontend and no UI", s.TemporalAddress(), s.TemporalUIURL())
	}
	if !slices.Equal(s.KafkaBrokers(), broker.Addrs()) {
		t.Errorf("kafka brokers %v, want the external %v", s.KafkaBrokers(), broker.Addrs())
	}
	for _, v := range []string{allinone.Orchestrated, allinone.Choreographed} {
		url := s.APIURL(v)
		if code := call(t, "", http.MethodGet, url+"/readyz", "", nil); code != http.StatusOK {
			t.Errorf("%s /readyz: %d, want 200", v, code)
		}
		if code := call(t, s.Credentials().Operator, http.MethodGet, url+"/v1/admin/faults", "", nil); code != http.StatusNotFound {
			t.Errorf("%s /v1/admin/faults with faults off: %d, want 404", v, code)
		}
		checkDemoProducts(t, url)
	}
	// The services' databases are PostgreSQL databases named after the prefix.
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + prefix + "orchestrated_inventory"
	db, err := sqldb.Open(ctx, u.String())
	if err != nil {
		t.Fatalf("opening the orchestrated inventory database: %v", err)
	}
	defer db.Close()
	if db.Dialect() != sqldb.Postgres {
		t.Fatalf("dialect %s", db.Dialect())
	}
	// The notification service's too, migrated by the run.
	for _, v := range []string{allinone.Orchestrated, allinone.Choreographed} {
		u.Path = "/" + prefix + v + "_notifications"
		ndb, err := sqldb.Open(ctx, u.String())
		if err != nil {
			t.Fatalf("opening the %s notifications database: %v", v, err)
		}
		var table *string
		err = ndb.QueryRowContext(ctx, `SELECT to_regclass('notifications')::text`).Scan(&table)
		ndb.Close()
		if err != nil || table == nil {
			t.Errorf("the %s notifications database has no notifications table (%v)", v, err)
		}
	}
	if entries, _ := os.ReadDir(cfg.DataDir + "/" + allinone.Orchestrated); len(entries) != 0 {
		t.Errorf("SQLite files written with PostgreSQL configured: %v", entries)
	}

	// Run returns once its context ends, having stopped the stack.
	runCtx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Run(runCtx); err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.APIURL(allinone.Orchestrated), "http://"), time.Second); err == nil {
		c.Close()
		t.Errorf("API still accepts connections after Run returned")
	}
}

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }
