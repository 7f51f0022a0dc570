package chaos

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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
)

// topicPrefix starts the choreographed variant's topic and group names on
// the cluster's own broker.
const topicPrefix = "chaos"

// Cluster is one variant split into a process per role, the
// infrastructure they share, and a router that gives the scenario suite
// one base URL: products to the inventory process, customers to the
// payment process, everything else to the orders process.
type Cluster struct {
	variant process.Variant
	owner   testing.TB // the run that owns every process
	binary  string
	dataDir string
	// paymentDB is the payment service's database: on PostgreSQL, a test
	// can take it away (dbOutage); the others are SQLite files in dataDir.
	// Empty: a SQLite file in dataDir too.
	paymentDB string
	infra     Infra
	procs     map[hosted.Role]*proctest.Proc
	api       string // the router's base URL
	// args are given to every process on top of its own.
	args []string
}

// Config says how to start a Cluster.
type Config struct {
	// Binary is the ordersaga binary the processes run.
	Binary string
	// Dir is the processes' data folder (a temporary folder of tb when
	// empty).
	Dir string
	// PaymentDB is the address of the payment service's database
	// (postgres://…, from PostgresDatabase or sqltest.DSN); empty puts it
	// in a SQLite file in Dir, as the other services'. The database outage
	// needs it on PostgreSQL.
	PaymentDB string
	// Roles are the roles that get a process (hosted.AllRoles() when nil);
	// orders, inventory and payment must be among them.
	Roles []hosted.Role
	// Args are given to every process on top of its own arguments.
	Args []string
}

// Infra is the broker or the Temporal server the processes share, run in
// the calling process and able to stop and start again on the same address
// and data: a *Broker or a *Temporal.
type Infra interface {
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

// StartCluster migrates the databases of variant v with `ordersaga
// migrate`, starts the infrastructure and a process of the variant for
// each role of cfg, each on its own HTTP port, and waits until every
// process is ready. Everything stops when tb's run ends.
func StartCluster(tb testing.TB, v process.Variant, in Infra, cfg Config) *Cluster {
	tb.Helper()
	if cfg.Binary == "" {
		tb.Fatalf("starting the %s cluster: no binary", v)
	}
	roles := cfg.Roles
	if roles == nil {
		roles = hosted.AllRoles()
	}
	dir := cfg.Dir
	if dir == "" {
		dir = tb.TempDir()
	}
	in.start(tb)
	tb.Cleanup(in.stop)
	c := &Cluster{variant: v, owner: tb, binary: cfg.Binary, dataDir: dir, paymentDB: cfg.PaymentDB,
		infra: in, procs: map[hosted.Role]*proctest.Proc{}, args: cfg.Args}
	proctest.Run(tb, c.binary, nil, "migrate", "-variant", string(v), "-data-dir", c.dataDir)
	if c.paymentDB != "" {
		proctest.Run(tb, c.binary, nil, "migrate", "-variant", string(v), "-payment-db", c.paymentDB)
	}
	var specs []proctest.Spec
	for _, r := range roles {
		specs = append(specs, c.spec(r))
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

// Variant returns the cluster's variant.
func (c *Cluster) Variant() process.Variant { return c.variant }

// API returns the base URL of the cluster's router.
func (c *Cluster) API() string { return c.api }

// InfraName says what the cluster's infrastructure is: "broker" or
// "temporal".
func (c *Cluster) InfraName() string { return c.infra.name() }

// spec says how to start the process of role r: the variant's command, the
// role, the shared data folder (each role its own SQLite file in it), the
// infrastructure's address, a free HTTP port and the cluster's args.
func (c *Cluster) spec(r hosted.Role) proctest.Spec {
	addr := proctest.FreeAddr(c.owner)
	args := []string{string(c.variant), string(r), "-data-dir", c.dataDir, "-http-addr", addr}
	if r == hosted.RolePayment && c.paymentDB != "" {
		args = append(args, "-payment-db", c.paymentDB)
	}
	switch c.variant {
	case process.Orchestrated:
		args = append(args, "-temporal-address", c.infra.address())
	case process.Choreographed:
		args = append(args, "-kafka-brokers", c.infra.address(), "-topic-prefix", topicPrefix)
	}
	args = append(args, c.args...)
	return proctest.Spec{Name: string(c.variant) + " " + string(r), Binary: c.binary, Args: args, Addr: addr}
}

// PaymentOnPostgres reports whether the payment database is on PostgreSQL,
// which the database outage needs.
func (c *Cluster) PaymentOnPostgres() bool {
	return strings.HasPrefix(c.paymentDB, "postgres://") || strings.HasPrefix(c.paymentDB, "postgresql://")
}

// dbOutage takes the payment database away for d: no new connection is
// allowed and every open one is ended, as when its server goes down; then
// it lets connections in again.
func (c *Cluster) dbOutage(tb testing.TB, d time.Duration) {
	tb.Helper()
	if !c.PaymentOnPostgres() {
		tb.Fatalf("the payment database outage needs the payment database on PostgreSQL, not %q", c.paymentDB)
	}
	u, err := url.Parse(c.paymentDB)
	if err != nil {
		tb.Fatalf("parsing the payment database address: %v", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres" // the server's own database, to run the statements from
	ctx := context.Background()
	admin, err := sqldb.Open(ctx, u.String())
	if err != nil {
		tb.Fatalf("connecting to PostgreSQL: %v", err)
	}
	defer admin.Close()
	mustExec(tb, admin,
		"ALTER DATABASE "+name+" ALLOW_CONNECTIONS false",
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+name+"'")
	time.Sleep(d) // the outage itself
	mustExec(tb, admin, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true")
}

// mustExec runs statements on db, failing tb on an error.
func mustExec(tb testing.TB, db *sqldb.DB, stmts ...string) {
	tb.Helper()
	for _, s := range stmts {
		if _, err := db.ExecContext(context.Background(), s); err != nil {
			tb.Fatalf("exec %q: %v", s, err)
		}
	}
}

// PostgresDatabase creates a fresh database on the PostgreSQL server at
// server (postgres://…) for a cluster's payment service, dropped when tb's
// run ends, and returns its address. It returns an error, and creates
// nothing, when the server does not answer within a few seconds.
func PostgresDatabase(tb testing.TB, server string) (string, error) {
	tb.Helper()
	u, err := url.Parse(server)
	if err != nil {
		return "", fmt.Errorf("parsing %s: %w", server, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, err := sqldb.Open(ctx, server)
	if err != nil {
		return "", fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		return "", fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("naming the database: %w", err)
	}
	name := "ordersaga_chaos_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("creating database %s: %w", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := sqldb.Open(ctx, server)
		if err == nil {
			_, err = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			admin.Close()
		}
		if err != nil {
			tb.Errorf("dropping database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String(), nil
}

// kill kills the process of role r with SIGKILL, as a crash would.
func (c *Cluster) kill(r hosted.Role) { c.procs[r].Kill() }

// restart starts the killed process of role r again, as it was started
// (same address, same data), and waits until it is ready. A failure to
// start fails tb, the run that asked; the new process belongs to the
// cluster's owner, so it outlives that run.
func (c *Cluster) restart(tb testing.TB, r hosted.Role) {
	tb.Helper()
	c.procs[r] = c.procs[r].Restart(ownedBy{TB: tb, owner: c.owner})
}

// ownedBy reports failures through the run it wraps but hands the
// clean-ups registered through it (kill a process when the run ends, show
// its output when the run failed) to owner.
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

// Broker is the choreographed variant's embedded broker, keeping its
// topics, messages and committed offsets in a folder across restarts.
type Broker struct {
	addr string // "127.0.0.1:0" until the first start
	dir  string
	logs *logBuffer
	b    *kafkadev.Broker
}

// NewBroker returns a broker keeping its data in dir (a temporary folder
// of tb when empty); StartCluster starts it.
func NewBroker(tb testing.TB, dir string) *Broker {
	tb.Helper()
	if dir == "" {
		dir = tb.TempDir()
	}
	return &Broker{addr: "127.0.0.1:0", dir: dir, logs: newLogBuffer(tb)}
}

func (k *Broker) name() string    { return "broker" }
func (k *Broker) address() string { return k.addr }

// outageBound is the bound of every order: an order is placed in the
// orders database with its first event in the outbox, whatever the broker
// does, and the relay publishes it once the broker is back.
func (k *Broker) outageBound() time.Duration { return finalBound }

// callTimeout is 0: placing an order never waits for the broker.
func (k *Broker) callTimeout() time.Duration { return 0 }

func (k *Broker) start(tb testing.TB) {
	tb.Helper()
	b, err := kafkadev.Start(kafkadev.Config{Address: k.addr, DataDir: k.dir, Logger: k.logs.logger()})
	if err != nil {
		tb.Fatalf("starting the broker on %s: %v", k.addr, err)
	}
	k.b, k.addr = b, b.Addrs()[0]
}

func (k *Broker) stop() {
	if k.b != nil {
		_ = k.b.Close() // never fails
		k.b = nil
	}
}

// Temporal is the orchestrated variant's embedded Temporal server, keeping
// its state in a SQLite file across restarts.
type Temporal struct {
	addr string // "127.0.0.1:0" until the first start
	file string
	logs *logBuffer
	s    *temporaldev.Server
}

// NewTemporal returns a Temporal server keeping its state in a file in dir
// (a temporary folder of tb when empty); StartCluster starts it.
func NewTemporal(tb testing.TB, dir string) *Temporal {
	tb.Helper()
	if dir == "" {
		dir = tb.TempDir()
	}
	return &Temporal{addr: "127.0.0.1:0", file: filepath.Join(dir, "temporal.db"), logs: newLogBuffer(tb)}
}

func (s *Temporal) name() string    { return "temporal" }
func (s *Temporal) address() string { return s.addr }

// outageBound is the bound of every order: when Temporal is not back in
// time for the start of an order's saga (see callTimeout), the order is
// stored without a saga, and the orders process's reconciler starts it
// within seconds of Temporal's return (see reconciledWithin).
func (s *Temporal) outageBound() time.Duration { return finalBound }

// callTimeout is the Temporal client's: it gives up on a call, the start
// of an order's saga among them, after 10 s.
func (s *Temporal) callTimeout() time.Duration { return 10 * time.Second }

func (s *Temporal) start(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := temporaldev.Start(ctx, temporaldev.Config{FrontendAddress: s.addr, NoUI: true, DatabaseFile: s.file, Logger: s.logs.logger()})
	if err != nil {
		tb.Fatalf("starting the Temporal server on %s: %v", s.addr, err)
	}
	s.s, s.addr = srv, srv.FrontendAddress()
}

func (s *Temporal) stop() {
	if s.s != nil {
		s.s.Stop()
		s.s = nil
	}
}

// logBuffer keeps what an embedded server logs (warnings and up) and shows
// it when the run failed. Writes after the run ended are kept, never
// logged, so a server goroutine that logs late cannot upset the run.
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
