// Package stack runs the orchestrated variant in one process: the roles of
// its hosted services (orders, inventory, payment, shipping, or any subset), their
// Temporal workers, and, for the orders role, the REST API, the flow that
// starts and cancels sagas, and the reconciler that starts the saga of any
// stored order that has none. The all-in-one run hosts every role in one
// process; each role can also run as a process of its own against the same
// Temporal namespace.
package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/orchestrated/history"
	"github.com/ordersaga/ordersaga/orchestrated/intake"
	"github.com/ordersaga/ordersaga/orchestrated/tracing"
	"github.com/ordersaga/ordersaga/orchestrated/worker"
	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/sagametrics"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/telemetry"
)

// Variant is the variant's name in the API and its metrics.
const Variant = "orchestrated"

// Defaults of Config.
const (
	DefaultTemporalHostPort  = "127.0.0.1:7233"
	DefaultNamespace         = "default"
	DefaultReconcileInterval = 2 * time.Second
	DefaultReconcileMinAge   = 5 * time.Second
	DefaultShutdownTimeout   = 10 * time.Second
)

// Config is what a process of the orchestrated stack runs. Zero values
// mean the defaults.
type Config struct {
	// Node says which roles the process hosts and where their databases
	// are (New opens it; NewOnHosted takes open hosted services instead).
	Hosted hosted.Config
	// TemporalHostPort and Namespace locate Temporal.
	TemporalHostPort string
	Namespace        string
	// HTTPAddr is where the REST API listens ("" serves no HTTP; port 0
	// picks a free port). Only a process hosting the orders role serves it.
	HTTPAddr string
	// FaultInjection serves /v1/admin/faults over the hosted services'
	// fault injectors, to operators.
	FaultInjection bool
	// Auth verifies the API's bearer tokens (see shared/auth); nil turns
	// authentication off, for tests of the stack alone.
	Auth *auth.Keys
	// Limits bounds the API's requests and their timeouts
	// (httpapi.DefaultLimits when zero).
	Limits httpapi.Limits
	// OpsAddr, when set, serves /healthz, /readyz and /metrics on a
	// listener of their own as well (port 0 picks a free port, see
	// OpsAddr).
	OpsAddr string
	// Upstreams are the processes hosting the services this one does not,
	// for a process hosting the orders role in a split deployment: the API
	// forwards their endpoints there (see httpapi.Upstreams).
	Upstreams httpapi.Upstreams
	// Logger receives the stack's and the Temporal SDK's logs
	// (slog.Default() when nil). Lines logged in a traced context get
	// trace_id and span_id (telemetry.LogHandler).
	Logger *slog.Logger
	// TracerProvider traces the REST API's requests and each order's saga
	// through Temporal (see package tracing); nil traces nothing.
	TracerProvider trace.TracerProvider
	// Interceptors are added to the Temporal client's, after the tracing
	// one; one that is also an interceptor.WorkerInterceptor intercepts the
	// process's workflows and activities too (for instrumentation, or for
	// tests that lose activity replies).
	Interceptors []interceptor.ClientInterceptor
	// Registry collects the stack's metrics, the API's and the saga's (a
	// new registry with the Go and process collectors when nil).
	Registry *prometheus.Registry
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Pollers and WorkerStopTimeout tune the workers (see worker.Options).
	Pollers           int
	WorkerStopTimeout time.Duration
	// ReconcileInterval is how often pending orders are checked for a
	// missing saga (DefaultReconcileInterval); they are also checked at
	// start.
	ReconcileInterval time.Duration
	// ReconcileMinAge is how old a pending order must be before the
	// reconciler looks for its saga (DefaultReconcileMinAge): younger
	// orders are still being placed. An order whose saga could not be
	// started (Temporal down) has it started at most ReconcileMinAge plus
	// ReconcileInterval after it was placed, or ReconcileInterval after
	// Temporal is back.
	ReconcileMinAge time.Duration
	// Ready are the readiness checks of /readyz; nil means the stack's
	// own: its databases and Temporal's health.
	Ready []httpapi.Check
	// ShutdownTimeout bounds the HTTP server's shutdown.
	ShutdownTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.TemporalHostPort == "" {
		c.TemporalHostPort = DefaultTemporalHostPort
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Logger = telemetry.Logger(c.Logger)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ReconcileInterval <= 0 {
		c.ReconcileInterval = DefaultReconcileInterval
	}
	if c.ReconcileMinAge <= 0 {
		c.ReconcileMinAge = DefaultReconcileMinAge
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
		c.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return c
}

// Migrations returns every set of migrations the database of role r needs
// in the orchestrated variant: the service's own tables
// (hosted.Migrations), nothing more, since Temporal keeps the sagas'
// state; none for a role without a built-in service. `ordersaga migrate`
// applies them; New migrates or checks them (hosted.Config.Migrate). It
// takes the database's dialect as the choreographed variant's Migrations
// does, so the migrate command treats both variants alike.
func Migrations(r hosted.Role, _ sqldb.Dialect) []sqldb.Migrations {
	if m, ok := hosted.Migrations(r); ok {
		return []sqldb.Migrations{m}
	}
	return nil
}

// Stack is one process of the orchestrated variant.
type Stack struct {
	cfg        Config
	log        *slog.Logger
	node       *hosted.Services
	ownsHosted bool
	client     client.Client
	workers    *worker.Workers
	intake     *intake.Service // nil without the orders role
	reconcile  *intake.Reconciler
	handler    http.Handler
	listener   net.Listener
	opsLn      net.Listener // the operations listener, when Config.OpsAddr is set
	deps       httpapi.Deps
	fatal      chan error

	runOnce   sync.Once
	closeOnce sync.Once
	closeErr  error
}

// New opens the hosted services of cfg.Hosted (migrating its databases, or
// checking their schema version: see hosted.Config.Migrate), connects to
// Temporal and builds the workers and, with the orders role, the REST API.
// Nothing runs until Run.
func New(ctx context.Context, cfg Config) (*Stack, error) {
	n, err := hosted.Open(ctx, cfg.Hosted, cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("opening the orchestrated node: %w", err)
	}
	s, err := build(ctx, cfg, n, true)
	if err != nil {
		return nil, errors.Join(err, n.Close())
	}
	return s, nil
}

// NewOnHosted is New on hosted services the caller opened (and closes after Close);
// cfg.Hosted is not used.
func NewOnHosted(ctx context.Context, cfg Config, n *hosted.Services) (*Stack, error) {
	return build(ctx, cfg, n, false)
}

func build(ctx context.Context, cfg Config, n *hosted.Services, ownsHosted bool) (_ *Stack, err error) {
	cfg = cfg.withDefaults()
	s := &Stack{cfg: cfg, log: cfg.Logger.With("variant", Variant), node: n, ownsHosted: ownsHosted, fatal: make(chan error, 8)}
	if cfg.HTTPAddr != "" && n.Orders == nil {
		return nil, errors.New("building the orchestrated stack: only a process hosting the orders role serves HTTP")
	}
	sagaMetrics, err := sagametrics.New(cfg.Registry, Variant, cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("building the orchestrated stack: %w", err)
	}
	n.Instrument(sagaMetrics)
	if err := n.RegisterMetrics(cfg.Registry); err != nil {
		return nil, fmt.Errorf("building the orchestrated stack: %w", err)
	}
	var interceptors []interceptor.ClientInterceptor
	if cfg.TracerProvider != nil {
		ti, terr := tracing.NewInterceptor(cfg.TracerProvider, n.Saga)
		if terr != nil {
			return nil, fmt.Errorf("building the orchestrated stack: %w", terr)
		}
		interceptors = append(interceptors, ti)
	}
	interceptors = append(interceptors, cfg.Interceptors...)
	s.client, err = client.DialContext(ctx, client.Options{
		HostPort:     cfg.TemporalHostPort,
		Namespace:    cfg.Namespace,
		Interceptors: interceptors,
		Logger:       sdklog.NewStructuredLogger(s.log.With("component", "temporal-sdk")),
		// The saga's payloads are small: gzip (the SDK's default) would
		// cost CPU on both ends of every call and save next to nothing.
		ConnectionOptions: client.ConnectionOptions{
			GrpcCompression: &client.GrpcCompressionNone{},
			DialOptions:     []grpc.DialOption{reconnectSoon()},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to temporal at %s: %w", cfg.TemporalHostPort, err)
	}
	defer func() {
		if err != nil {
			s.client.Close()
		}
	}()
	s.workers, err = worker.New(s.client, n, worker.Options{
		Pollers:      cfg.Pollers,
		StopTimeout:  cfg.WorkerStopTimeout,
		OnFatalError: s.onFatal,
		Now:          cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	if n.Orders == nil {
		return s, nil
	}
	if err := EnsureSearchAttributes(ctx, s.client, cfg.Namespace); err != nil {
		return nil, err
	}
	s.intake = intake.New(s.client, n.Orders, s.log)
	s.reconcile = intake.NewReconciler(s.intake, cfg.Now)
	if err := sagametrics.RegisterRetrying(cfg.Registry, Variant, s.reconcile.Retrying); err != nil {
		return nil, fmt.Errorf("building the orchestrated stack: %w", err)
	}
	s.deps = s.apiDeps()
	s.handler = httpapi.New(s.deps)
	if cfg.HTTPAddr != "" {
		if s.listener, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return nil, fmt.Errorf("orchestrated API: %w", err)
		}
	}
	if cfg.OpsAddr != "" {
		if s.opsLn, err = net.Listen("tcp", cfg.OpsAddr); err != nil {
			if s.listener != nil {
				_ = s.listener.Close()
			}
			return nil, fmt.Errorf("orchestrated operations endpoints: %w", err)
		}
	}
	return s, nil
}

// reconnectMaxDelay bounds the wait between two attempts to reconnect to
// Temporal once the connection is lost.
const reconnectMaxDelay = time.Second

// reconnectSoon makes the Temporal client try to reconnect at least every
// reconnectMaxDelay while Temporal is unreachable (the SDK's gRPC back-off
// grows to 10 s), so that its calls (starting sagas, completing
// activities, the reconciler's look-ups) go through within about a second
// of Temporal's return rather than up to 10 s after it. The other settings
// are the SDK's.
func reconnectSoon() grpc.DialOption {
	b := backoff.DefaultConfig
	b.BaseDelay = 200 * time.Millisecond
	b.MaxDelay = reconnectMaxDelay
	return grpc.WithConnectParams(grpc.ConnectParams{Backoff: b, MinConnectTimeout: 20 * time.Second})
}

// apiDeps returns what the REST API serves from: the hosted services and
// the flow.
func (s *Stack) apiDeps() httpapi.Deps {
	d := httpapi.Deps{
		Variant:  Variant,
		Steps:    s.node.Saga.Names(),
		Orders:   s.node.Orders,
		Intake:   s.intake,
		Retries:  intake.NewRetries(s.client, s.node.Saga),
		Timeline: history.New(s.client, s.node.Orders, s.node.Saga),
		Ready:    s.cfg.Ready,
		Registry: s.cfg.Registry,
		Logger:   s.log,
		Auth:     s.cfg.Auth,
		Limits:   s.cfg.Limits,
		Now:      s.cfg.Now,
	}
	d.TracerProvider = s.cfg.TracerProvider
	d.Upstreams = s.cfg.Upstreams
	// Leave an interface nil, not holding a nil pointer, for a service the
	// process does not host: the API then answers 503 for it.
	if d.Ready == nil {
		d.Ready = s.readyChecks()
	}
	if s.node.Inventory != nil {
		d.Catalog = s.node.Inventory
	}
	if s.node.Payment != nil {
		d.Accounts = s.node.Payment
	}
	if s.node.Notifications != nil {
		d.Notifications = s.node.Notifications
	}
	if s.cfg.FaultInjection {
		d.Faults = s.node.Faults
	}
	return d
}

// readyChecks are the checks of /readyz: the databases and Temporal.
func (s *Stack) readyChecks() []httpapi.Check {
	return []httpapi.Check{
		{Name: "database", Check: s.node.Ping},
		{Name: "temporal", Check: func(ctx context.Context) error {
			_, err := s.client.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}},
	}
}

// EnsureSearchAttributes declares the saga's search attributes in the
// namespace unless it has them.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	want := map[string]enumspb.IndexedValueType{
		workflow.SearchAttributeCustomerID:  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		workflow.SearchAttributeOrderStatus: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("listing the search attributes of namespace %s: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range want {
		got, ok := have.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = typ
		case got != typ:
			return fmt.Errorf("namespace %s declares search attribute %s as %s, want %s", namespace, name, got, typ)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	if err != nil {
		return fmt.Errorf("declaring search attributes in namespace %s: %w", namespace, err)
	}
	return nil
}

func (s *Stack) onFatal(err error) {
	select {
	case s.fatal <- err:
	default:
	}
}

// Handler returns the REST API, or nil when the process does not host the
// orders role.
func (s *Stack) Handler() http.Handler { return s.handler }

// Flow returns the flow that places and cancels orders, or nil when the
// process does not host the orders role.
func (s *Stack) Intake() *intake.Service { return s.intake }

// Client returns the stack's Temporal client.
func (s *Stack) Client() client.Client { return s.client }

// Hosted returns the stack's hosted services.
func (s *Stack) Hosted() *hosted.Services { return s.node }

// Addr returns the address the REST API listens on, or "" when it serves
// no HTTP.
func (s *Stack) Addr() string {
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// Run runs the workers, the reconciler and the HTTP server until ctx ends
// (then it returns nil) or one of them fails. It stops them before it
// returns. A stack runs once.
func (s *Stack) Run(ctx context.Context) error {
	err := errors.New("the orchestrated stack runs only once")
	s.runOnce.Do(func() { err = s.run(ctx) })
	return err
}

func (s *Stack) run(ctx context.Context) error {
	if err := s.workers.Start(); err != nil {
		return err
	}
	s.log.Info("temporal workers started", "task_queues", s.workers.Queues(), "namespace", s.cfg.Namespace)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if s.reconcile != nil {
		wg.Go(func() { s.reconcile.Run(ctx, s.cfg.ReconcileInterval, s.cfg.ReconcileMinAge) })
	}
	var server, opsServer *http.Server
	serveErr := make(chan error, 2)
	if s.listener != nil {
		server = httpapi.NewServer(s.handler, s.cfg.Limits, slog.NewLogLogger(s.log.Handler(), slog.LevelWarn))
		go func() { serveErr <- server.Serve(s.listener) }()
		s.log.Info("API listening", "url", "http://"+s.listener.Addr().String())
	}
	if s.opsLn != nil {
		opsServer = httpapi.NewServer(httpapi.NewOps(s.deps), s.cfg.Limits, slog.NewLogLogger(s.log.Handler(), slog.LevelWarn))
		go func() { serveErr <- opsServer.Serve(s.opsLn) }()
		s.log.Info("operations endpoints listening", "url", "http://"+s.opsLn.Addr().String())
	}

	var failure error
	select {
	case <-ctx.Done():
	case err := <-s.fatal:
		failure = fmt.Errorf("a temporal worker stopped: %w", err)
	case err := <-serveErr:
		failure = fmt.Errorf("serving the orchestrated API: %w", err)
	}
	cancel()
	var errList []error
	for _, srv := range []*http.Server{server, opsServer} {
		if srv == nil {
			continue
		}
		sctx, scancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		if err := srv.Shutdown(sctx); err != nil {
			errList = append(errList, fmt.Errorf("stopping the orchestrated API: %w", err))
		}
		scancel()
	}
	s.workers.Stop()
	wg.Wait()
	return errors.Join(append([]error{failure}, errList...)...)
}

// OpsAddr returns the address the operations endpoints listen on, or ""
// without Config.OpsAddr.
func (s *Stack) OpsAddr() string {
	if s.opsLn == nil {
		return ""
	}
	return s.opsLn.Addr().String()
}

// Close releases the Temporal connection, the listener when Run never
// served it, and the hosted services when New opened it. Call it after Run returned.
// It is safe to call more than once.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		var errList []error
		// Closing a listener that Run already shut down reports an error
		// worth ignoring.
		if s.listener != nil {
			_ = s.listener.Close()
		}
		if s.opsLn != nil {
			_ = s.opsLn.Close()
		}
		s.client.Close()
		if s.ownsHosted {
			if err := s.node.Close(); err != nil {
				errList = append(errList, err)
			}
		}
		s.closeErr = errors.Join(errList...)
	})
	return s.closeErr
}
