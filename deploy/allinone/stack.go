// Package allinone composes the all-in-one local run: an embedded
// Temporal server with its UI, an embedded Kafka-protocol broker, and both
// saga variants, each on its own service databases (SQLite files in the
// data dir, or PostgreSQL) and serving the REST API on its own port. Any
// piece of infrastructure can be an external one instead (Config).
package allinone

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ordersaga/ordersaga/deploy/internal/dblayout"
	"github.com/ordersaga/ordersaga/deploy/internal/demodata"
	"github.com/ordersaga/ordersaga/deploy/internal/readiness"
	"github.com/ordersaga/ordersaga/deploy/kafkadev"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/telemetry"
)

// Options are the parts of the stack that code, not configuration,
// decides: how each variant is built and what the embedded broker holds.
type Options struct {
	// Orchestrated and Choreographed build the variants; nil builds
	// APIOnly.
	Orchestrated  Builder
	Choreographed Builder
	// KafkaTopics are created on the embedded broker.
	KafkaTopics []string
	// Logger is the stack's logger (slog.Default() when nil).
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Stack is a running all-in-one stack.
type Stack struct {
	cfg      Config
	log      *slog.Logger
	temporal *temporaldev.Server // nil with an external Temporal
	broker   *kafkadev.Broker    // nil with external brokers
	brokers  []string
	variants []*running
	creds    Credentials
	// tracers are the variants' tracer providers, shut down (sending
	// their last spans) after the variants stopped.
	tracers []*telemetry.Provider

	cancelRun context.CancelFunc // ends the variants' Run
	failed    chan error         // a component that stopped on its own
	closeOnce sync.Once
	closeErr  error
}

// running is one variant as the stack runs it.
type running struct {
	name        string
	placeholder bool // built by APIOnly
	node        *hosted.Services
	variant     Variant
	server      *http.Server
	url         string
	runDone     chan struct{}
}

// healthyTimeout bounds the wait for a variant's API to answer at start.
const healthyTimeout = 30 * time.Second

// Start starts the infrastructure and both variants, and returns once
// every API answers. ctx bounds the start only; Close stops the stack.
func Start(ctx context.Context, cfg Config, opts Options) (_ *Stack, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	runCtx, cancelRun := context.WithCancel(context.Background())
	s := &Stack{cfg: cfg, log: opts.Logger, cancelRun: cancelRun, failed: make(chan error, 8)}
	defer func() {
		if err != nil {
			if cerr := s.Close(); cerr != nil {
				s.log.Error("stopping what had started", "error", cerr)
			}
		}
	}()

	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	if s.creds, err = cfg.credentials(opts.Now()); err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	if s.creds.Created {
		s.log.Info("development signing secret created", "file", filepath.Join(cfg.DataDir, DevSecretFile))
	}
	if err := s.startTemporal(ctx); err != nil {
		return nil, err
	}
	if err := s.startKafka(opts.KafkaTopics); err != nil {
		return nil, err
	}
	builders := []struct {
		name  string
		build Builder
	}{{Orchestrated, opts.Orchestrated}, {Choreographed, opts.Choreographed}}
	for i, b := range builders {
		r, err := s.startVariant(ctx, runCtx, b.name, b.build, uint64(i+1), opts.Now)
		if err != nil {
			return nil, err
		}
		s.variants = append(s.variants, r)
	}
	for _, r := range s.variants {
		if err := readiness.WaitHealthy(ctx, r.url+"/healthz", healthyTimeout); err != nil {
			return nil, fmt.Errorf("%s API: %w", r.name, err)
		}
	}
	return s, nil
}

// startTemporal starts the embedded Temporal server unless the
// configuration names an external one.
func (s *Stack) startTemporal(ctx context.Context) error {
	if s.cfg.TemporalAddress != "" {
		s.log.Info("using external temporal", "address", s.cfg.TemporalAddress)
		return nil
	}
	started := time.Now()
	tc := s.cfg.EmbeddedTemporal()
	tc.Logger = s.log
	srv, err := temporaldev.Start(ctx, tc)
	if err != nil {
		return fmt.Errorf("embedded temporal: %w", err)
	}
	s.temporal = srv
	s.log.Info("temporal started", "frontend", srv.FrontendAddress(), "ui", srv.UIAddress(), "persistence", srv.Persistence(), "took", time.Since(started).Round(time.Millisecond))
	return nil
}

// startKafka starts the embedded broker unless the configuration names
// external brokers.
func (s *Stack) startKafka(topics []string) error {
	if len(s.cfg.KafkaBrokers) > 0 {
		s.brokers = s.cfg.KafkaBrokers
		s.log.Info("using external kafka", "brokers", strings.Join(s.brokers, ","))
		return nil
	}
	b, err := kafkadev.Start(kafkadev.Config{
		Address:    s.cfg.KafkaListen,
		Topics:     topics,
		Partitions: s.cfg.KafkaPartitions,
		DataDir:    filepath.Join(s.cfg.DataDir, "kafka"),
		Logger:     s.log,
	})
	if err != nil {
		return fmt.Errorf("embedded kafka: %w", err)
	}
	s.broker = b
	s.brokers = b.Addrs()
	s.log.Info("kafka broker started", "address", strings.Join(s.brokers, ","))
	return nil
}

// startVariant opens the variant's hosted services, seeds them, builds the variant and
// serves its API.
func (s *Stack) startVariant(ctx, runCtx context.Context, name string, build Builder, faultSeed uint64, now func() time.Time) (_ *running, err error) {
	log := s.log.With("variant", name)
	r := &running{name: name, placeholder: build == nil, runDone: make(chan struct{})}
	if build == nil {
		build = APIOnly
	}
	dbs, err := dblayout.Addresses(ctx, s.cfg.DataDir, s.cfg.PostgresURL, s.cfg.PostgresDBPrefix, name)
	if err != nil {
		return nil, err
	}
	// The all-in-one run owns its databases: it migrates them at start,
	// so `make run` needs no `ordersaga migrate` first.
	nodeCfg := hosted.Config{Databases: dbs, Countries: s.cfg.ShippingCountries, FaultSeed: faultSeed, Migrate: true,
		Policy: saga.Policy{StepDeadline: s.cfg.StepDeadline}}
	r.node, err = hosted.Open(ctx, nodeCfg, now)
	if err != nil {
		return nil, fmt.Errorf("%s services: %w", name, err)
	}
	defer func() {
		if err != nil {
			_ = r.node.Close()
		}
	}()
	if s.cfg.Seed {
		res, err := demodata.Seed(ctx, r.node)
		if err != nil {
			return nil, fmt.Errorf("%s demo data: %w", name, err)
		}
		if res.Products > 0 || res.Customers > 0 {
			log.Info("demo data created", "products", res.Products, "customers", res.Customers)
		}
	}

	env := Env{
		Name:              name,
		Hosted:            r.node,
		HostedConfig:      nodeCfg,
		TemporalAddress:   s.TemporalAddress(),
		TemporalNamespace: s.cfg.TemporalNamespace,
		KafkaBrokers:      s.brokers,
		Ready:             s.checks(name, r.node),
		Registry:          newRegistry(),
		Logger:            s.log,
		Now:               now,
		Auth:              s.creds.Keys,
		Limits:            s.cfg.Limits,
	}
	tp, err := telemetry.New(ctx, s.cfg.Tracing(name))
	if err != nil {
		return nil, fmt.Errorf("%s tracing: %w", name, err)
	}
	s.tracers = append(s.tracers, tp)
	if tp.Recording() {
		env.TracerProvider = tp
		log.Info("tracing", "exporter", s.cfg.OtelExporter, "service_name", s.cfg.Tracing(name).ServiceName)
	}
	if s.cfg.Faults {
		env.Faults = r.node.Faults
	}
	r.variant, err = build(ctx, env)
	if err != nil {
		return nil, fmt.Errorf("building %s: %w", name, err)
	}

	ln, err := net.Listen("tcp", s.cfg.apiAddr(name))
	if err != nil {
		_ = r.variant.Close()
		return nil, fmt.Errorf("%s API: %w", name, err)
	}
	r.url = "http://" + ln.Addr().String()
	r.server = httpapi.NewServer(r.variant.Handler(), s.cfg.Limits, slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	go func() {
		if err := r.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.failed <- fmt.Errorf("%s API: %w", name, err)
		}
	}()
	go func() {
		defer close(r.runDone)
		if err := r.variant.Run(runCtx); err != nil {
			s.failed <- fmt.Errorf("%s: %w", name, err)
		}
	}()
	log.Info("API listening", "url", r.url)
	return r, nil
}

// checks returns the readiness checks of a variant: its databases and the
// infrastructure it talks to.
func (s *Stack) checks(name string, n *hosted.Services) []httpapi.Check {
	checks := []httpapi.Check{{Name: "database", Check: n.Ping}}
	switch name {
	case Orchestrated:
		addr := s.TemporalAddress()
		checks = append(checks, httpapi.Check{Name: "temporal", Check: func(ctx context.Context) error { return readiness.TCP(ctx, addr) }})
	case Choreographed:
		brokers := s.brokers
		checks = append(checks, httpapi.Check{Name: "kafka", Check: func(ctx context.Context) error { return readiness.Kafka(ctx, brokers) }})
	}
	return checks
}

// newRegistry returns a metrics registry with the Go runtime and process
// collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Run waits until ctx ends or a part of the stack stops on its own, then
// stops the stack. It returns the failure, if any, joined with any error of
// the shutdown.
func (s *Stack) Run(ctx context.Context) error {
	var failure error
	select {
	case <-ctx.Done():
		s.log.Info("shutting down")
	case failure = <-s.failed:
		s.log.Error("a part of the stack stopped; shutting down", "error", failure)
	}
	return errors.Join(failure, s.Close())
}

// Close stops everything in the reverse order of its start: each variant
// (its API, its background work, its hosted services), then the broker, then
// Temporal, within the configured shutdown timeout. It is safe to call
// more than once.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Stack) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	var errList []error
	s.cancelRun()
	for _, r := range slices.Backward(s.variants) {
		if err := r.server.Shutdown(ctx); err != nil {
			_ = r.server.Close()
			errList = append(errList, fmt.Errorf("stopping %s API: %w", r.name, err))
		}
		select {
		case <-r.runDone:
		case <-ctx.Done():
			errList = append(errList, fmt.Errorf("stopping %s: background work still running after %v", r.name, s.cfg.ShutdownTimeout))
		}
		if err := r.variant.Close(); err != nil {
			errList = append(errList, fmt.Errorf("closing %s: %w", r.name, err))
		}
		if err := r.node.Close(); err != nil {
			errList = append(errList, fmt.Errorf("closing %s services: %w", r.name, err))
		}
	}
	for _, tp := range s.tracers {
		if err := tp.Shutdown(ctx); err != nil {
			errList = append(errList, err)
		}
	}
	if s.broker != nil {
		if err := s.broker.Close(); err != nil {
			errList = append(errList, fmt.Errorf("stopping kafka: %w", err))
		}
	}
	if s.temporal != nil {
		stopped := make(chan struct{})
		go func() { s.temporal.Stop(); close(stopped) }()
		select {
		case <-stopped:
		case <-ctx.Done():
			errList = append(errList, fmt.Errorf("stopping temporal: still running after %v", s.cfg.ShutdownTimeout))
		}
	}
	if len(errList) == 0 {
		s.log.Info("stopped cleanly")
	}
	return errors.Join(errList...)
}

// APIURL returns the base URL of a variant's REST API ("" for an unknown
// variant).
func (s *Stack) APIURL(variant string) string {
	for _, r := range s.variants {
		if r.name == variant {
			return r.url
		}
	}
	return ""
}

// TemporalAddress returns the Temporal frontend's host:port.
func (s *Stack) TemporalAddress() string {
	if s.temporal != nil {
		return s.temporal.FrontendAddress()
	}
	return s.cfg.TemporalAddress
}

// TemporalUIURL returns the embedded Temporal UI's URL, "" without one.
func (s *Stack) TemporalUIURL() string {
	if s.temporal == nil || s.temporal.UIAddress() == "" {
		return ""
	}
	return "http://" + s.temporal.UIAddress()
}

// Credentials returns the run's signing keys and the tokens its banner
// prints.
func (s *Stack) Credentials() Credentials { return s.creds }

// KafkaBrokers returns the bootstrap brokers.
func (s *Stack) KafkaBrokers() []string { return append([]string(nil), s.brokers...) }

// DataDir returns the data dir.
func (s *Stack) DataDir() string { return s.cfg.DataDir }
