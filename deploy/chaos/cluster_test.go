package chaos_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/deploy/internal/proctest"
	"github.com/ordersaga/ordersaga/deploy/kafkadev"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// topicPrefix starts the choreographed variant's topic and group names on
// the test's own broker.
const topicPrefix = "chaos"

// cluster is one variant split into a process per role, the
// infrastructure they share, and a router that gives the scenario suite
// one base URL: products to the inventory process, customers to the
// payment process, everything else to the orders process.
type cluster struct {
	variant process.Variant
	owner   testing.TB // the variant's test: it owns every process
	dataDir string
	// paymentDB is the payment service's database: on PostgreSQL, so that
	// a test can take it away (dbOutage); the others are SQLite files in
	// dataDir.
	paymentDB string
	infra     infra
	procs     map[hosted.Role]*proctest.Proc
	api       string // the router's base URL
	// args are given to every process on top of its own.
	args []string
}

// infra is the broker or the Temporal server the processes share, run in
// the test process and able to stop and start again on the same address
// and data.
type infra interface {
	// name says what it is ("broker", "temporal").
	name() string
	// address is where the processes reach it.
	address() string
	// start starts it; stop stops it cleanly.
	start(tb testing.TB)
	stop()
	// outageBound bounds how long an order placed around its outage may
	// take to become final.
	outageBound() time.Duration
	// callTimeout is how long a process waits for it in one call before
	// giving up; 0 when nothing waits for it (the outbox holds the events
	// while the broker is away).
	callTimeout() time.Duration
}

// startCluster migrates the databases of variant v with `ordersaga
// migrate`, starts the infrastructure and a process of the variant for
// each role, and waits until every process is ready. Everything stops when
// tb's test ends.
func startCluster(tb testing.TB, v process.Variant, in infra) *cluster {
	tb.Helper()
	return startClusterOf(tb, v, in, hosted.AllRoles())
}

// startClusterOf is startCluster with a process for each of roles only
// (orders, inventory and payment among them), each on its own HTTP port
// and with args on top of its own arguments.
func startClusterOf(tb testing.TB, v process.Variant, in infra, roles []hosted.Role, args ...string) *cluster {
	tb.Helper()
	bin := ordersaga.Path(tb)
	in.start(tb)
	tb.Cleanup(in.stop)
	c := &cluster{variant: v, owner: tb, dataDir: tb.TempDir(), paymentDB: sqltest.DSN(tb, sqldb.Postgres),
		infra: in, procs: map[hosted.Role]*proctest.Proc{}, args: args}
	proctest.Run(tb, bin, nil, "migrate", "-variant", string(v), "-data-dir", c.dataDir)
	proctest.Run(tb, bin, nil, "migrate", "-variant", string(v), "-payment-db", c.paymentDB)
	var specs []proctest.Spec
	for _, r := range roles {
		specs = append(specs, c.spec(bin, r))
	}
	for i, p := range proctest.StartAll(tb, specs...) {
		c.procs[roles[i]] = p
	}
	c.api = startRouter(tb, map[string]string{
		"/v1/products":  c.procs[hosted.RoleInventory].URL,
		"/v1/customers": c.procs[hosted.RolePayment].URL,
	}, c.procs[hosted.RoleOrders].URL)
	return c
}

// spec says how to start the process of role r: the variant's command, the
// role, the shared data folder (each role its own SQLite file in it), the
// infrastructure's address, a free HTTP port and the cluster's args.
func (c *cluster) spec(bin string, r hosted.Role) proctest.Spec {
	addr := proctest.FreeAddr(c.owner)
	args := []string{string(c.variant), string(r), "-data-dir", c.dataDir, "-http-addr", addr}
	if r == hosted.RolePayment {
		args = append(args, "-payment-db", c.paymentDB)
	}
	switch c.variant {
	case process.Orchestrated:
		args = append(args, "-temporal-address", c.infra.address())
	case process.Choreographed:
		args = append(args, "-kafka-brokers", c.infra.address(), "-topic-prefix", topicPrefix)
	}
	args = append(args, c.args...)
	return proctest.Spec{Name: string(c.variant) + " " + string(r), Binary: bin, Args: args, Addr: addr}
}

// dbOutage takes the payment database away for d: no new connection is
// allowed and every open one is ended, as when its server goes down; then
// it lets connections in again.
func (c *cluster) dbOutage(tb testing.TB, d time.Duration) {
	tb.Helper()
	u, err := url.Parse(c.paymentDB)
	if err != nil {
		tb.Fatalf("parsing the payment database address: %v", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	ctx := context.Background()
	admin, err := sqldb.Open(ctx, sqltest.PostgresURL())
	if err != nil {
		tb.Fatalf("connecting to PostgreSQL: %v", err)
	}
	defer admin.Close()
	sqltest.MustExec(tb, admin,
		"ALTER DATABASE "+name+" ALLOW_CONNECTIONS false",
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+name+"'")
	time.Sleep(d) // the outage itself
	sqltest.MustExec(tb, admin, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true")
}

// kill kills the process of role r with SIGKILL, as a crash would.
func (c *cluster) kill(r hosted.Role) { c.procs[r].Kill() }

// restart starts the killed process of role r again, as it was started
// (same address, same data), and waits until it is ready. A failure to
// start fails tb, the subtest that asked; the new process belongs to the
// variant's test, so it outlives the subtest.
func (c *cluster) restart(tb testing.TB, r hosted.Role) {
	tb.Helper()
	c.procs[r] = c.procs[r].Restart(ownedBy{TB: tb, owner: c.owner})
}

// ownedBy reports failures through the subtest it wraps but hands the
// clean-ups registered through it (kill a process when the test ends, show
// its output when the test failed) to owner.
type ownedBy struct {
	testing.TB
	owner testing.TB
}

func (o ownedBy) Cleanup(f func())                { o.owner.Cleanup(f) }
func (o ownedBy) Failed() bool                    { return o.owner.Failed() }
func (o ownedBy) Logf(format string, args ...any) { o.owner.Logf(format, args...) }

// startRouter serves a reverse proxy that sends a request whose path
// starts with one of routes' prefixes to that route's base URL and every
// other request to fallback. A backend that does not answer (a process
// being restarted) is answered with 503, which the scenario suite retries.
func startRouter(tb testing.TB, routes map[string]string, fallback string) string {
	tb.Helper()
	parse := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			tb.Fatalf("backend URL %q: %v", s, err)
		}
		return u
	}
	targets := map[string]*url.URL{}
	for prefix, base := range routes {
		targets[prefix] = parse(base)
	}
	other := parse(fallback)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			target := other
			for prefix, u := range targets {
				if strings.HasPrefix(pr.In.URL.Path, prefix) {
					target = u
				}
			}
			pr.SetURL(target)
		},
		Transport: tr,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"type":"about:blank","title":"backend unavailable","status":503,"detail":"the process behind the router does not answer"}`)
		},
		ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError),
	}
	srv := httptest.NewServer(proxy)
	tb.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return srv.URL
}

// broker is the choreographed variant's embedded broker, keeping its
// topics, messages and committed offsets in a folder across restarts.
type broker struct {
	addr string // "127.0.0.1:0" until the first start
	dir  string
	logs *logBuffer
	b    *kafkadev.Broker
}

func newBroker(tb testing.TB) *broker {
	tb.Helper()
	return &broker{addr: "127.0.0.1:0", dir: tb.TempDir(), logs: newLogBuffer(tb)}
}

func (k *broker) name() string    { return "broker" }
func (k *broker) address() string { return k.addr }

// outageBound is the bound of every order: an order is placed in the
// orders database with its first event in the outbox, whatever the broker
// does, and the relay publishes it once the broker is back.
func (k *broker) outageBound() time.Duration { return finalBound }

// callTimeout is 0: placing an order never waits for the broker.
func (k *broker) callTimeout() time.Duration { return 0 }

func (k *broker) start(tb testing.TB) {
	tb.Helper()
	b, err := kafkadev.Start(kafkadev.Config{Address: k.addr, DataDir: k.dir, Logger: k.logs.logger()})
	if err != nil {
		tb.Fatalf("starting the broker on %s: %v", k.addr, err)
	}
	k.b, k.addr = b, b.Addrs()[0]
}

func (k *broker) stop() {
	if k.b != nil {
		_ = k.b.Close() // never fails
		k.b = nil
	}
}

// temporal is the orchestrated variant's embedded Temporal server, keeping
// its state in a SQLite file across restarts.
type temporal struct {
	addr string // "127.0.0.1:0" until the first start
	file string
	logs *logBuffer
	s    *temporaldev.Server
}

func newTemporal(tb testing.TB) *temporal {
	tb.Helper()
	return &temporal{addr: "127.0.0.1:0", file: filepath.Join(tb.TempDir(), "temporal.db"), logs: newLogBuffer(tb)}
}

func (s *temporal) name() string    { return "temporal" }
func (s *temporal) address() string { return s.addr }

// outageBound is the bound of every order: when Temporal is not back in
// time for the start of an order's saga (see callTimeout), the order is
// stored without a saga, and the orders process's reconciler starts it
// within seconds of Temporal's return (see reconciledWithin).
func (s *temporal) outageBound() time.Duration { return finalBound }

// callTimeout is the Temporal client's: it gives up on a call, the start
// of an order's saga among them, after 10 s.
func (s *temporal) callTimeout() time.Duration { return 10 * time.Second }

func (s *temporal) start(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := temporaldev.Start(ctx, temporaldev.Config{FrontendAddress: s.addr, NoUI: true, DatabaseFile: s.file, Logger: s.logs.logger()})
	if err != nil {
		tb.Fatalf("starting the Temporal server on %s: %v", s.addr, err)
	}
	s.s, s.addr = srv, srv.FrontendAddress()
}

func (s *temporal) stop() {
	if s.s != nil {
		s.s.Stop()
		s.s = nil
	}
}

// logBuffer keeps what an embedded server logs (warnings and up) and shows
// it when the test failed. Writes after the test ended are kept, never
// logged, so a server goroutine that logs late cannot upset the test.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func newLogBuffer(tb testing.TB) *logBuffer {
	b := &logBuffer{}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("embedded server log:\n%s", b.String())
		}
	})
	return b
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
