package stack_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/internal/kafkatest"
	"github.com/ordersaga/ordersaga/choreographed/outbox"
	"github.com/ordersaga/ordersaga/choreographed/stack"
	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// The test binary starts one broker and two stacks, once, and every test
// reuses them (a consumer group takes a while to settle): an all-in-one
// stack serving the REST API for the shared scenario suite, and a split
// environment with one Stack per service, as separate processes would run
// them, for the tests that restart or misbehave one service.
var (
	brokers  []string
	allInOne *running
	split    *splitEnv
	logger   *slog.Logger
)

// Topic prefixes of the environments, so their groups and topics never mix.
const (
	allInOnePrefix = "all"
	splitPrefix    = "split"
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	logger = testLogger()
	b, err := kafkatest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer b.Close()
	brokers = b.Addrs()
	dir, err := os.MkdirTemp("", "choreographed-stack-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, sub := range []string{"all", "split"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}

	keys, err := auth.ParseKeys(authtest.Secret)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	allInOne, err = start(ctx, stack.Config{
		Hosted:         hosted.Config{Databases: hosted.SQLiteDatabases(filepath.Join(dir, "all"))},
		Brokers:        brokers,
		TopicPrefix:    allInOnePrefix,
		HTTPAddr:       "127.0.0.1:0",
		FaultInjection: true,
		Auth:           keys,
		Logger:         logger.With("env", "all-in-one"),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer allInOne.stop()

	split, err = newSplitEnv(ctx, filepath.Join(dir, "split"), keys)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer split.close()
	return m.Run()
}

// testLogger logs to stderr at the level of $ORDERSAGA_TEST_LOG (debug,
// info, warn, error); nothing when it is unset.
func testLogger() *slog.Logger {
	var level slog.Level
	switch os.Getenv("ORDERSAGA_TEST_LOG") {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// running is a stack whose Run is in progress.
type running struct {
	*stack.Stack
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// start creates a stack, migrating its databases, and runs it.
func start(ctx context.Context, cfg stack.Config) (*running, error) {
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	cfg.Hosted.Migrate = true // the tests' databases are new
	s, err := stack.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	r := &running{Stack: s, reg: cfg.Registry, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(rctx) }()
	return r, nil
}

// startStack starts a stack of its own for one test, on the tests'
// broker and topics prefixed with name, serving its API on a free port
// with fault injection and verifying tokens with authtest.Keys unless cfg
// says otherwise; its logs are labelled with name. It stops with the test.
func startStack(t *testing.T, name string, cfg stack.Config) *running {
	t.Helper()
	cfg.Brokers = brokers
	cfg.TopicPrefix = name + kafkatest.Unique()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.FaultInjection = true
	if cfg.Auth == nil {
		cfg.Auth = authtest.Keys(t)
	}
	cfg.Logger = logger.With("env", name)
	r, err := start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("stopping the stack: %v", err)
		}
	})
	return r
}

// postgresDatabases returns a new PostgreSQL database for every role.
func postgresDatabases(tb testing.TB) map[hosted.Role]string {
	tb.Helper()
	dbs := map[hosted.Role]string{}
	for _, role := range hosted.AllRoles() {
		dbs[role] = sqltest.DSN(tb, sqldb.Postgres)
	}
	return dbs
}

// stop stops the stack's Run and closes it: what a process does on
// SIGTERM. It reports Run's error.
func (r *running) stop() error {
	var err error
	r.once.Do(func() {
		r.cancel()
		err = <-r.done
		if cerr := r.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

// splitEnv runs each service as a Stack of its own (its own consumer
// group, relay and database), on a topic prefix of its own, verifying
// tokens with keys.
type splitEnv struct {
	dbs   map[hosted.Role]string
	keys  *auth.Keys
	holds *holds
	dup   atomic.Bool // when set, relays publish every message twice
	api   *httptest.Server
	// spans records every span of the environment; each process traces
	// with a tracer provider of its own (tracers), as deployed.
	spans   *tracetest.InMemoryExporter
	tracers map[hosted.Role]*sdktrace.TracerProvider

	mu     sync.Mutex
	stacks map[hosted.Role]*running
}

func newSplitEnv(ctx context.Context, dir string, keys *auth.Keys) (*splitEnv, error) {
	e := &splitEnv{dbs: hosted.SQLiteDatabases(dir), keys: keys, holds: &holds{}, stacks: map[hosted.Role]*running{},
		spans: tracetest.NewInMemoryExporter(), tracers: map[hosted.Role]*sdktrace.TracerProvider{}}
	for _, role := range hosted.AllRoles() {
		e.tracers[role] = sdktrace.NewTracerProvider(sdktrace.WithSyncer(e.spans),
			sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("choreographed-"+string(role)))))
	}
	for _, role := range hosted.AllRoles() {
		if err := e.start(ctx, role); err != nil {
			e.close()
			return nil, err
		}
	}
	// The API of the order service's process, whichever Stack runs it now.
	e.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.stack(hosted.RoleOrders).Handler().ServeHTTP(w, r)
	}))
	return e, nil
}

// config returns the configuration of the process hosting role.
func (e *splitEnv) config(role hosted.Role) stack.Config {
	svc := events.Service(role)
	return stack.Config{
		Hosted:         hosted.Config{Roles: []hosted.Role{role}, Databases: e.dbs},
		Brokers:        brokers,
		TopicPrefix:    splitPrefix,
		FaultInjection: true,
		Auth:           e.keys,
		Logger:         logger.With("env", "split", "process", role),
		Middleware: func(events.Service) []consumer.Middleware {
			return []consumer.Middleware{e.holds.middleware(svc)}
		},
		WrapPublisher: func(_ events.Service, p outbox.Publisher) outbox.Publisher {
			return &duplicating{next: p, on: &e.dup}
		},
		TracerProvider: e.tracers[role],
	}
}

func (e *splitEnv) start(ctx context.Context, role hosted.Role) error {
	r, err := start(ctx, e.config(role))
	if err != nil {
		return fmt.Errorf("starting the %s process: %w", role, err)
	}
	e.mu.Lock()
	e.stacks[role] = r
	e.mu.Unlock()
	return nil
}

// stack returns the running process of role.
func (e *splitEnv) stack(role hosted.Role) *running {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stacks[role]
}

// stopProcess stops the process of role, as SIGTERM would.
func (e *splitEnv) stopProcess(t *testing.T, role hosted.Role) {
	t.Helper()
	if err := e.stack(role).stop(); err != nil {
		t.Fatalf("stopping the %s process: %v", role, err)
	}
}

// startProcess starts the process of role again on its database.
func (e *splitEnv) startProcess(t *testing.T, role hosted.Role) {
	t.Helper()
	if err := e.start(context.Background(), role); err != nil {
		t.Fatal(err)
	}
}

func (e *splitEnv) close() {
	if e.api != nil {
		e.api.Close()
	}
	for _, role := range hosted.AllRoles() {
		if r := e.stack(role); r != nil {
			_ = r.stop()
		}
	}
	for _, tp := range e.tracers {
		_ = tp.Shutdown(context.Background())
	}
}

// duplicating publishes every batch twice while on is set: each event
// reaches its consumers twice, the second copy after later events.
type duplicating struct {
	next outbox.Publisher
	on   *atomic.Bool
}

func (d *duplicating) Publish(ctx context.Context, msgs ...kafka.Message) error {
	if err := d.next.Publish(ctx, msgs...); err != nil {
		return err
	}
	if d.on.Load() {
		return d.next.Publish(ctx, msgs...)
	}
	return nil
}

// hold stops a service's consumer at the batch holding an event of an
// order: before it is handled, or after it was handled (committed) but
// before its offset is committed.
type hold struct {
	service events.Service
	typ     events.Type
	orderID string
	after   bool
	reached chan struct{}
	release chan struct{}
	reach   sync.Once
	free    sync.Once
}

// holds is the set of holds in force in the split environment.
type holds struct {
	mu   sync.Mutex
	list []*hold
}

// add puts a hold in force until the test ends.
func (hs *holds) add(t *testing.T, service events.Service, typ events.Type, orderID string, after bool) *hold {
	h := &hold{service: service, typ: typ, orderID: orderID, after: after,
		reached: make(chan struct{}), release: make(chan struct{})}
	hs.mu.Lock()
	hs.list = append(hs.list, h)
	hs.mu.Unlock()
	t.Cleanup(func() {
		h.unblock()
		hs.mu.Lock()
		defer hs.mu.Unlock()
		for i, x := range hs.list {
			if x == h {
				hs.list = append(hs.list[:i], hs.list[i+1:]...)
				break
			}
		}
	})
	return h
}

func (h *hold) unblock() { h.free.Do(func() { close(h.release) }) }

// waitReached fails the test unless the service reached the held event.
func (h *hold) waitReached(t *testing.T) {
	t.Helper()
	select {
	case <-h.reached:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s never reached %s of order %s", h.service, h.typ, h.orderID)
	}
}

// matching returns the holds of the service on a message of the batch.
func (hs *holds) matching(service events.Service, batch []*consumer.Message, after bool) []*hold {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	var out []*hold
	for _, h := range hs.list {
		if h.service != service || h.after != after {
			continue
		}
		for _, m := range batch {
			if m.Event != nil && m.Event.Type == h.typ && m.Event.OrderID == h.orderID {
				out = append(out, h)
				break
			}
		}
	}
	return out
}

// middleware holds the service's batches as the holds say.
func (hs *holds) middleware(service events.Service) consumer.Middleware {
	wait := func(ctx context.Context, list []*hold) error {
		for _, h := range list {
			h.reach.Do(func() { close(h.reached) })
			select {
			case <-h.release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	return func(next consumer.Handler) consumer.Handler {
		return func(ctx context.Context, batch []*consumer.Message) error {
			if err := wait(ctx, hs.matching(service, batch, false)); err != nil {
				return err
			}
			if err := next(ctx, batch); err != nil {
				return err
			}
			return wait(ctx, hs.matching(service, batch, true))
		}
	}
}
