package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"

	"github.com/ordersaga/ordersaga/choreographed/events"
	chstack "github.com/ordersaga/ordersaga/choreographed/stack"
	"github.com/ordersaga/ordersaga/deploy/internal/apiflag"
	"github.com/ordersaga/ordersaga/deploy/internal/dblayout"
	orstack "github.com/ordersaga/ordersaga/orchestrated/stack"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/telemetry"
)

// faultSeed seeds the fault injectors of a variant's processes, as the
// all-in-one run seeds them.
func faultSeed(v Variant) uint64 {
	if v == Orchestrated {
		return 1
	}
	return 2
}

// stack is what both variants' stacks have in common.
type stack interface {
	Run(ctx context.Context) error
	Close() error
	Addr() string
	Hosted() *hosted.Services
}

// Process is one process of a variant, built and ready to run.
type Process struct {
	cfg   Config
	log   *slog.Logger
	stack stack
	// ops serves health, readiness, metrics and the hosted services'
	// endpoints for a stack that serves no HTTP itself (an orchestrated
	// process without the orders role), on opsLn; probes serves health,
	// readiness and metrics alone on probesLn (Config.OpsAddr) for it.
	ops      *http.Server
	opsLn    net.Listener
	probes   *http.Server
	probesLn net.Listener
	// tracer receives the process's spans; Close shuts it down.
	tracer *telemetry.Provider
}

// tracingShutdownTimeout bounds sending the last spans when the process
// stops.
const tracingShutdownTimeout = 5 * time.Second

// New opens the databases of the hosted roles, connects to the variant's
// infrastructure and listens on cfg.HTTPAddr. Nothing runs until Run. ctx
// bounds the start only.
//
// New does not migrate: every set of migrations of each database (the
// variant stack's Migrations) must be at its latest version, which
// `ordersaga migrate` applies; on an older or dirty database it fails with
// an error that says so (a *sqldb.SchemaVersionError) and names the
// command to run.
func New(ctx context.Context, cfg Config, log *slog.Logger) (_ *Process, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.Auth == nil {
		if cfg.Auth, err = apiflag.ReadSecretFile(cfg.AuthSecretFile); err != nil {
			return nil, err
		}
	}
	log = telemetry.Logger(log)
	dbs, err := cfg.databases(ctx)
	if err != nil {
		return nil, err
	}
	tp, err := telemetry.New(ctx, cfg.Tracing())
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	defer func() {
		if err != nil {
			sctx, cancel := context.WithTimeout(context.Background(), tracingShutdownTimeout)
			defer cancel()
			_ = tp.Shutdown(sctx)
		}
	}()
	nodeCfg := hosted.Config{Roles: cfg.Roles, Databases: dbs, Countries: cfg.ShippingCountries, FaultSeed: faultSeed(cfg.Variant),
		Policy: saga.Policy{StepDeadline: cfg.StepDeadline}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	p := &Process{cfg: cfg, log: log, tracer: tp}
	if tp.Recording() {
		log.Info("tracing", "exporter", cfg.OtelExporter, "service_name", cfg.OtelServiceName)
	}
	if len(cfg.UpstreamURLs) > 0 {
		log.Info("forwarding the endpoints of the services hosted elsewhere", "upstreams", cfg.UpstreamURLs)
	}
	switch cfg.Variant {
	case Orchestrated:
		err = p.buildOrchestrated(ctx, nodeCfg, reg)
	case Choreographed:
		var versions events.Versions
		if versions, err = cfg.WriteVersions(); err != nil {
			return nil, err
		}
		p.stack, err = chstack.New(ctx, chstack.Config{
			Hosted:         nodeCfg,
			Brokers:        cfg.KafkaBrokers,
			TopicPrefix:    cfg.TopicPrefix,
			GroupPrefix:    cfg.GroupPrefix,
			WriteVersions:  versions,
			SessionTimeout: cfg.KafkaSessionTimeout,
			HTTPAddr:       cfg.HTTPAddr,
			FaultInjection: cfg.FaultInjection,
			Auth:           cfg.Auth,
			Limits:         cfg.Limits,
			OpsAddr:        cfg.OpsAddr,
			Upstreams:      cfg.Upstreams(),
			Logger:         log,
			Registry:       reg,
			TracerProvider: p.tracerProvider(),
		})
	}
	if _, ok := errors.AsType[*sqldb.SchemaVersionError](err); ok {
		err = fmt.Errorf("%w: run `ordersaga migrate -variant %s` on these databases first", err, cfg.Variant)
	}
	if err != nil {
		return nil, fmt.Errorf("starting the %s %v process: %w", cfg.Variant, cfg.Roles, err)
	}
	return p, nil
}

// databases returns the address of each hosted role's database: its own
// address when given, else its place in the PostgreSQL or data-dir layout.
func (c Config) databases(ctx context.Context) (map[hosted.Role]string, error) {
	dbs := make(map[hosted.Role]string, len(c.Roles))
	var laidOut map[hosted.Role]string
	for _, r := range c.Roles {
		if dsn := c.RoleDatabases[r]; dsn != "" {
			dbs[r] = dsn
			continue
		}
		if laidOut == nil {
			var err error
			laidOut, err = dblayout.Addresses(ctx, c.DataDir, c.PostgresURL, c.PostgresDBPrefix, string(c.Variant))
			if err != nil {
				return nil, err
			}
		}
		dbs[r] = laidOut[r]
	}
	return dbs, nil
}

// buildOrchestrated builds the orchestrated stack. With the orders role it
// serves the REST API itself; without it, it serves no HTTP, and the
// process serves health, readiness (databases and Temporal), metrics and
// the hosted services' endpoints beside it.
func (p *Process) buildOrchestrated(ctx context.Context, nodeCfg hosted.Config, reg *prometheus.Registry) error {
	withAPI := p.cfg.Hosts(hosted.RoleOrders)
	oc := orstack.Config{
		Hosted:           nodeCfg,
		TemporalHostPort: p.cfg.TemporalAddress,
		Namespace:        p.cfg.TemporalNamespace,
		ReconcileMinAge:  p.cfg.ReconcileMinAge,
		FaultInjection:   p.cfg.FaultInjection,
		Auth:             p.cfg.Auth,
		Limits:           p.cfg.Limits,
		Logger:           p.log,
		Registry:         reg,
		TracerProvider:   p.tracerProvider(),
	}
	if withAPI {
		oc.HTTPAddr = p.cfg.HTTPAddr
		oc.OpsAddr = p.cfg.OpsAddr
		oc.Upstreams = p.cfg.Upstreams()
	}
	s, err := orstack.New(ctx, oc)
	if err != nil {
		return err
	}
	p.stack = s
	if withAPI {
		return nil
	}
	if p.opsLn, err = net.Listen("tcp", p.cfg.HTTPAddr); err != nil {
		return errors.Join(fmt.Errorf("listening on %s: %w", p.cfg.HTTPAddr, err), s.Close())
	}
	n := s.Hosted()
	d := httpapi.Deps{
		Variant: orstack.Variant,
		Ready: []httpapi.Check{
			{Name: "database", Check: n.Ping},
			{Name: "temporal", Check: func(ctx context.Context) error {
				_, err := s.Client().CheckHealth(ctx, &client.CheckHealthRequest{})
				return err
			}},
		},
		Registry: reg,
		Logger:   p.log.With("variant", orstack.Variant),
	}
	d.TracerProvider = p.tracerProvider()
	// An interface holding a nil pointer would not read as absent.
	if n.Inventory != nil {
		d.Catalog = n.Inventory
	}
	if n.Payment != nil {
		d.Accounts = n.Payment
	}
	if n.Notifications != nil {
		d.Notifications = n.Notifications
	}
	if p.cfg.FaultInjection {
		d.Faults = n.Faults
	}
	d.Auth = p.cfg.Auth
	d.Limits = p.cfg.Limits
	errorLog := slog.NewLogLogger(p.log.Handler(), slog.LevelWarn)
	p.ops = httpapi.NewServer(httpapi.New(d), p.cfg.Limits, errorLog)
	if p.cfg.OpsAddr != "" {
		if p.probesLn, err = net.Listen("tcp", p.cfg.OpsAddr); err != nil {
			_ = p.opsLn.Close()
			return errors.Join(fmt.Errorf("listening on %s: %w", p.cfg.OpsAddr, err), s.Close())
		}
		p.probes = httpapi.NewServer(httpapi.NewOps(d), p.cfg.Limits, errorLog)
	}
	return nil
}

// tracerProvider returns what the stack traces into: nil when tracing is
// off, so the stack adds no tracing work at all.
func (p *Process) tracerProvider() trace.TracerProvider {
	if !p.tracer.Recording() {
		return nil
	}
	return p.tracer
}

// Addr returns the address the process serves HTTP on.
func (p *Process) Addr() string {
	if p.opsLn != nil {
		return p.opsLn.Addr().String()
	}
	return p.stack.Addr()
}

// Run runs the process until ctx ends, then stops it and returns nil; it
// returns an error when a part of it fails. Call Close afterwards.
func (p *Process) Run(ctx context.Context) error {
	dbs := map[string]string{}
	for r, db := range p.stack.Hosted().DBs {
		dbs[string(r)] = db.Name() // without a password
	}
	p.log.Info("process running", "variant", p.cfg.Variant, "roles", p.cfg.Roles, "http", "http://"+p.Addr(), "databases", dbs)
	if p.ops == nil {
		return p.stack.Run(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- p.stack.Run(ctx) }()
	type served struct {
		srv *http.Server
		ln  net.Listener
	}
	servers := []served{{p.ops, p.opsLn}}
	if p.probes != nil {
		servers = append(servers, served{p.probes, p.probesLn})
		p.log.Info("operations endpoints listening", "url", "http://"+p.probesLn.Addr().String())
	}
	serveDone := make(chan error, len(servers))
	for _, s := range servers {
		go func() {
			err := s.srv.Serve(s.ln)
			serveDone <- fmt.Errorf("serving HTTP on %s: %w", s.ln.Addr(), err)
		}()
	}

	var runErr, serveErr error
	select {
	case runErr = <-runDone:
	case serveErr = <-serveDone:
		cancel()
		runErr = <-runDone
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	for _, s := range servers {
		if err := s.srv.Shutdown(sctx); err != nil {
			serveErr = errors.Join(serveErr, fmt.Errorf("stopping the HTTP server on %s: %w", s.ln.Addr(), err))
		}
	}
	return errors.Join(runErr, serveErr)
}

// Close releases what the process holds: its connections and databases,
// then sends the spans not sent yet. It is safe to call more than once.
func (p *Process) Close() error {
	for _, ln := range []net.Listener{p.opsLn, p.probesLn} {
		if ln != nil {
			_ = ln.Close() // already closed when Run served on it
		}
	}
	err := p.stack.Close()
	ctx, cancel := context.WithTimeout(context.Background(), tracingShutdownTimeout)
	defer cancel()
	return errors.Join(err, p.tracer.Shutdown(ctx))
}
