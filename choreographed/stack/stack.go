// Package stack runs the choreographed variant: the services a process hosts
// (all of them, or one each in its own process), each with its database, its
// outbox relay and its consumer group, plus the REST API when the process
// hosts the order service.
//
// Per hosted service:
//
//	database ──outbox relay──▶ topic <prefix>.<service>
//	topics it follows ──consumer group <group prefix>.<service>──▶ reactions ──▶ database (+ outbox, + inbox)
//
// The notification service only observes (package notifier): its group
// <group prefix>.notifications reads the order service's topic and writes
// its database (+ inbox); it has no topic, outbox or relay, and no
// producer knows it.
//
// Run starts everything; Close releases it. New creates the topics that are
// missing and migrates each database (the service's tables, the outbox and
// the inbox, and the order timeline in the order service's: see
// Migrations) when hosted.Config.Migrate says so; otherwise it checks that
// each is at the version this binary needs and refuses to start on an older
// one (`ordersaga migrate` applies them).
package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/ordersaga/ordersaga/choreographed/broker"
	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/inbox"
	"github.com/ordersaga/ordersaga/choreographed/intake"
	"github.com/ordersaga/ordersaga/choreographed/notifier"
	chorders "github.com/ordersaga/ordersaga/choreographed/orders"
	"github.com/ordersaga/ordersaga/choreographed/outbox"
	"github.com/ordersaga/ordersaga/choreographed/reactions"
	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/sagametrics"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/telemetry"
)

// Variant is the name the stack reports in its API metrics.
const Variant = "choreographed"

// Config configures a Stack. Zero values mean the documented defaults.
type Config struct {
	// Node says which services the process hosts and where their databases
	// are.
	Hosted hosted.Config
	// Brokers are the Kafka bootstrap addresses (required).
	Brokers []string
	// TopicPrefix prefixes the topic names (events.DefaultTopicPrefix).
	TopicPrefix string
	// GroupPrefix prefixes the consumer group names (TopicPrefix).
	GroupPrefix string
	// Topics says how missing topics are created (4 partitions, 1 replica).
	Topics broker.TopicSpec
	// HTTPAddr is where Run serves the API ("" for nowhere; port 0 picks a
	// free port, see Addr). A process that hosts the order service serves
	// the whole REST API; another serves health, readiness, metrics and the
	// endpoints of the services it hosts.
	HTTPAddr string
	// FaultInjection enables /v1/admin/faults, for operators.
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
	// for a process hosting the order service in a split deployment: the
	// API forwards their endpoints there (see httpapi.Upstreams).
	Upstreams httpapi.Upstreams
	// MaxBatch bounds the events a consumer applies in one transaction
	// (consumer.DefaultMaxBatch).
	MaxBatch int
	// SessionTimeout is how long the broker waits for a heartbeat of one of
	// the stack's consumer group members before it gives that member's
	// partitions to the group's other members: how long the events of a
	// crashed process wait for another process of the same service
	// (broker.DefaultSessionTimeout when 0).
	SessionTimeout time.Duration
	// PollInterval is the relays' fallback poll (outbox.DefaultPollInterval).
	PollInterval time.Duration
	// Retry bounds the quick in-process retries of a failing event before
	// it is parked for redelivery.
	Retry consumer.RetryPolicy
	// RedeliveryDelays are the waits before the first, second and every
	// later redelivery of a parked event (events.RedeliveryDelays of the
	// step deadline: 1 s, 5 s, 30 s for 2 minutes). The step deadline after
	// which a step's action is given up is the saga's
	// (Hosted.Policy.StepDeadline).
	RedeliveryDelays []time.Duration
	// WriteVersions are the schema versions the hosted services write
	// their events in; a type it does not name is written at its newest
	// (see events.Versions). Holding a type at an older version lets its
	// producers be upgraded before every consumer reads the newest (see
	// the events package's doc, "Versions").
	WriteVersions events.Versions
	// ReadVersions are the newest schema versions the hosted services'
	// consumers read; a type it does not name is read up to its newest. A
	// consumer reads every older version too, and a newer one its
	// min_reader_version allows; it dead-letters the others (see
	// events.Reader). Set below the newest, it behaves as a consumer
	// built before that version.
	ReadVersions events.Versions
	// InboxRetention is how long consumers remember handled events (7 days).
	InboxRetention time.Duration
	Logger         *slog.Logger
	// Registry receives the stack's metrics (a new one with the Go and
	// process collectors when nil).
	Registry *prometheus.Registry
	// Now is the clock (time.Now).
	Now func() time.Time
	// Middleware, when set, returns extra middleware for a service's
	// consumer, outermost first, around the standard chain (for tracing, or
	// for tests that hold a step).
	Middleware func(events.Service) []consumer.Middleware
	// WrapPublisher, when set, wraps the publisher of a service's relay
	// (for instrumentation, or for tests that duplicate messages).
	WrapPublisher func(events.Service, outbox.Publisher) outbox.Publisher
	// TracerProvider traces the REST API's requests, each relay's publish
	// and each event a service applies, so one order is one trace (see
	// consumer.Trace and outbox.TracePublisher); nil traces nothing.
	TracerProvider trace.TracerProvider
}

// Migrations returns every set of migrations the database of role r needs
// in the choreographed variant, in the order they are applied: the
// service's own tables (hosted.Migrations), the outbox (not for the
// notification service, which emits nothing) and the inbox, and for the
// order service its timeline. `ordersaga migrate` applies them;
// New migrates or checks them.
func Migrations(r hosted.Role, d sqldb.Dialect) []sqldb.Migrations {
	var ms []sqldb.Migrations
	if m, ok := hosted.Migrations(r); ok {
		ms = append(ms, m)
	}
	return append(ms, variantMigrations(r, d)...)
}

// variantMigrations returns the sets of migrations the variant adds to the
// database of role r: the outbox and the inbox, and the order timeline for
// the order service. The notification service, which emits no event,
// has the inbox alone.
func variantMigrations(r hosted.Role, d sqldb.Dialect) []sqldb.Migrations {
	if r == hosted.RoleNotifications {
		return []sqldb.Migrations{inbox.Migrations()}
	}
	ms := []sqldb.Migrations{outbox.Migrations(d), inbox.Migrations()}
	if r == hosted.RoleOrders {
		ms = append(ms, chorders.Migrations(d))
	}
	return ms
}

// reactor is a service's part of the choreography.
type reactor interface {
	Subscriptions() []events.Service
	Routes() consumer.Routes
}

// hostedService is one service the process hosts: its database, outbox,
// relay and consumer. The notification service emits nothing: it has no
// outbox and no relay (nil), and no redeliverer (see newConsumer).
type hostedService struct {
	service  events.Service
	db       *sqldb.DB
	outbox   *outbox.Outbox
	relay    *outbox.Relay
	consumer *consumer.Consumer
	// redeliverer hands the service's parked events back when due.
	redeliverer *consumer.Redeliverer
}

// Stack is the choreographed variant in one process.
type Stack struct {
	cfg     Config
	log     *slog.Logger
	node    *hosted.Services
	topics  events.Topics
	writer  *broker.Writer
	hosted  []*hostedService
	intake  *intake.Service
	api     http.Handler // the full API; nil when orders is not hosted
	served  http.Handler // what HTTPAddr serves
	ops     http.Handler // what OpsAddr serves
	opsLn   net.Listener // the operations listener, when Config.OpsAddr is set
	ln      net.Listener
	closeMu sync.Mutex
	closed  bool
	// ownsHosted is true when the stack opened its hosted services and so closes it.
	ownsHosted bool
	// retries watches the redelivery topics for the steps being retried;
	// nil when orders is not hosted.
	retries *chorders.Retries
	// timeline is the order service's order timelines; nil when orders is
	// not hosted.
	timeline *chorders.Timeline
}

// New opens the hosted services' databases (migrated, or checked to be at
// the schema version this binary needs: see hosted.Config.Migrate),
// creates missing topics and prepares relays, consumers and the API.
// Nothing runs until Run.
func New(ctx context.Context, cfg Config) (*Stack, error) {
	return build(ctx, cfg, nil)
}

// NewOnHosted is New on hosted services the caller opened (and closes after Close);
// cfg.Hosted is not used: the sets of migrations the variant adds are
// migrated or checked as the Config.Migrate n was opened with says.
func NewOnHosted(ctx context.Context, cfg Config, n *hosted.Services) (*Stack, error) {
	if n == nil {
		return nil, errors.New("choreographed stack: nil node")
	}
	return build(ctx, cfg, n)
}

// build prepares the stack on n, or on hosted services of its own opened from
// cfg.Hosted when n is nil.
func build(ctx context.Context, cfg Config, n *hosted.Services) (_ *Stack, err error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("choreographed stack: no Kafka brokers configured")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = telemetry.Logger(cfg.Logger)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.InboxRetention <= 0 {
		cfg.InboxRetention = 7 * 24 * time.Hour
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
		cfg.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	topics := events.Topics{Prefix: cfg.TopicPrefix}
	if cfg.GroupPrefix == "" {
		cfg.GroupPrefix = cfg.TopicPrefix
	}
	if cfg.GroupPrefix == "" {
		cfg.GroupPrefix = events.DefaultTopicPrefix
	}
	s := &Stack{cfg: cfg, log: cfg.Logger.With("variant", Variant), topics: topics}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()

	if n != nil {
		s.node = n
	} else {
		if s.node, err = hosted.Open(ctx, cfg.Hosted, cfg.Now); err != nil {
			return nil, fmt.Errorf("choreographed stack: %w", err)
		}
		s.ownsHosted = true
	}
	deadline := s.node.Policy.StepDeadline
	if len(s.cfg.RedeliveryDelays) == 0 {
		s.cfg.RedeliveryDelays = events.RedeliveryDelays(deadline)
	}
	if len(s.cfg.RedeliveryDelays) != events.RedeliveryLevels {
		return nil, fmt.Errorf("choreographed stack: %d redelivery delays, want %d", len(s.cfg.RedeliveryDelays), events.RedeliveryLevels)
	}
	if s.cfg.Retry.MaxElapsed <= 0 {
		// Quick retries take at most a tenth of the step deadline.
		s.cfg.Retry.MaxElapsed = deadline / 10
	}
	// Every database's schema first, so a process on an old one stops
	// before it touches the broker.
	var schemaErrs []error
	for _, role := range s.node.Roles() {
		schemaErrs = append(schemaErrs, s.node.EnsureSchema(ctx, role, variantMigrations(role, s.node.DBs[role].Dialect())...))
	}
	if err := errors.Join(schemaErrs...); err != nil {
		return nil, fmt.Errorf("choreographed stack: %w", err)
	}
	sagaMetrics, err := sagametrics.New(cfg.Registry, Variant, cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("choreographed stack: %w", err)
	}
	s.node.Instrument(sagaMetrics)
	if err := s.node.RegisterMetrics(cfg.Registry); err != nil {
		return nil, fmt.Errorf("choreographed stack: %w", err)
	}
	table := events.NewTable(s.node.Saga)
	if err := errors.Join(cfg.WriteVersions.Check(table), cfg.ReadVersions.Check(table)); err != nil {
		return nil, fmt.Errorf("choreographed stack: %w", err)
	}
	if err := broker.EnsureTopics(ctx, cfg.Brokers, topics.AllOf(s.node.Saga), cfg.Topics); err != nil {
		return nil, fmt.Errorf("choreographed stack: %w", err)
	}
	s.writer = broker.NewWriter(cfg.Brokers, s.log)
	relayMetrics := outbox.NewMetrics(cfg.Registry)
	consumerMetrics := consumer.NewMetrics(cfg.Registry)

	for _, role := range s.node.Roles() {
		db := s.node.DBs[role]
		svc := events.Service(role)
		if role == hosted.RoleNotifications {
			// An observer: a consumer group of its own on the order
			// service's topic, no outbox and no relay (it emits nothing).
			p := &hostedService{service: svc, db: db}
			if p.consumer, p.redeliverer, err = s.newConsumer(p, notifier.New(s.node.Notifications), consumerMetrics); err != nil {
				return nil, fmt.Errorf("choreographed stack: %w", err)
			}
			s.hosted = append(s.hosted, p)
			continue
		}
		p := &hostedService{service: svc, db: db, outbox: outbox.New(cfg.Now)}
		emit := outbox.Emitter{Outbox: p.outbox, Topics: topics, Now: cfg.Now, Versions: cfg.WriteVersions}
		var r reactor
		if role == hosted.RoleOrders {
			s.timeline = chorders.NewTimeline(table, s.node.Orders, cfg.Now)
			emit = s.timeline.Recording(emit)
			r = chorders.New(table, s.node.Orders, emit, s.timeline)
			if s.retries, err = chorders.NewRetries(table, s.node.Orders, cfg.Brokers, topics, cfg.GroupPrefix+".orders.retries", cfg.SessionTimeout, s.log); err != nil {
				return nil, fmt.Errorf("choreographed stack: %w", err)
			}
			if err := sagametrics.RegisterRetrying(cfg.Registry, Variant, s.retries.Count); err != nil {
				return nil, fmt.Errorf("choreographed stack: %w", err)
			}
			s.intake = intake.New(s.node.Orders, emit, cfg.Now)
		} else if r, err = reactions.New(table, s.node.Participants[domain.StepName(role)], emit); err != nil {
			return nil, fmt.Errorf("choreographed stack: %w", err)
		}
		var pub outbox.Publisher = s.writer
		if cfg.WrapPublisher != nil {
			pub = cfg.WrapPublisher(svc, pub)
		}
		if cfg.TracerProvider != nil {
			pub = outbox.TracePublisher(cfg.TracerProvider, string(svc), pub)
		}
		p.relay = outbox.NewRelay(outbox.RelayConfig{
			Service: string(svc), DB: db, Outbox: p.outbox, Publisher: pub,
			PollInterval: cfg.PollInterval, Logger: s.log, Metrics: relayMetrics,
		})
		if p.consumer, p.redeliverer, err = s.newConsumer(p, r, consumerMetrics); err != nil {
			return nil, fmt.Errorf("choreographed stack: %w", err)
		}
		s.hosted = append(s.hosted, p)
	}
	s.buildHTTP()
	if cfg.HTTPAddr != "" {
		if s.ln, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return nil, fmt.Errorf("choreographed stack: listening on %s: %w", cfg.HTTPAddr, err)
		}
	}
	if cfg.OpsAddr != "" {
		if s.opsLn, err = net.Listen("tcp", cfg.OpsAddr); err != nil {
			if s.ln != nil {
				_ = s.ln.Close()
			}
			return nil, fmt.Errorf("choreographed stack: listening on %s: %w", cfg.OpsAddr, err)
		}
	}
	return s, nil
}

// newConsumer builds the consumer of a service and its redeliverer: its
// group reads the topics of the services it follows, and applies their
// events with the chain
//
//	[Config.Middleware] → DeadLetter → Park → Retry → Recover → Transactional([Trace →] ReadVersions → Dedup → log → reaction)
//
// The redeliverer reads the service's redelivery topics, where Park left
// what failed, and hands each event back to the same chain when it falls
// due.
//
// The notification service is no service of the saga and has no
// redelivery topics (it adds no topic to the deployment): its consumer
// has no Park and no redeliverer (nil), and retries an event that fails
// for a transient cause (its database unreachable) until it succeeds,
// holding its partition meanwhile; only what no retry can fix (an event it
// cannot decode, an order whose OrderPlaced it never saw) is
// dead-lettered. A late notification is better than one waiting in the
// dead-letter topic, and no other service waits for it.
func (s *Stack) newConsumer(p *hostedService, r reactor, m *consumer.Metrics) (*consumer.Consumer, *consumer.Redeliverer, error) {
	group := s.cfg.GroupPrefix + "." + string(p.service)
	var topics []string
	for _, from := range r.Subscriptions() {
		topics = append(topics, s.topics.Of(from))
	}
	observer := p.service == events.Service(hosted.RoleNotifications)
	var mws []consumer.Middleware
	if s.cfg.Middleware != nil {
		mws = append(mws, s.cfg.Middleware(p.service)...)
	}
	mws = append(mws, consumer.DeadLetter(consumer.DeadLetterConfig{
		Publisher: s.writer, Topic: s.topics.DeadLetter(), Group: group, Now: s.cfg.Now, Logger: s.log,
	}))
	retry := s.cfg.Retry
	if observer {
		retry = consumer.RetryPolicy{Attempts: math.MaxInt, MinBackoff: retry.MinBackoff, MaxBackoff: retry.MaxBackoff}
	} else {
		mws = append(mws, consumer.Park(consumer.RedeliveryConfig{
			Publisher: s.writer, Topics: s.topics, Service: p.service, Group: group,
			Delays: s.cfg.RedeliveryDelays, Now: s.cfg.Now, Logger: s.log,
		}))
	}
	mws = append(mws, consumer.Retry(retry, s.log.With("group", group)), consumer.Recover())
	txMws := []consumer.TxMiddleware{consumer.ReadVersions(events.Reader{Newest: s.cfg.ReadVersions}), consumer.Dedup(group, s.cfg.Now), s.logEvents(group)}
	if s.cfg.TracerProvider != nil {
		txMws = append([]consumer.TxMiddleware{consumer.Trace(s.cfg.TracerProvider, string(p.service))}, txMws...)
	}
	h := consumer.Chain(consumer.Transactional(p.db, r.Routes(), txMws...), mws...)
	c, err := consumer.New(consumer.Config{
		Brokers: s.cfg.Brokers, Group: group, Topics: topics,
		MaxBatch: s.cfg.MaxBatch, SessionTimeout: s.cfg.SessionTimeout, Logger: s.log, Metrics: m,
	}, h)
	if err != nil {
		return nil, nil, err
	}
	if observer {
		return c, nil, nil
	}
	var redelivery []string
	for level := 1; level <= events.RedeliveryLevels; level++ {
		redelivery = append(redelivery, s.topics.Redelivery(p.service, level))
	}
	rd, err := consumer.NewRedeliverer(consumer.RedelivererConfig{
		Brokers: s.cfg.Brokers, Group: group, Topics: redelivery,
		StepDeadline: s.node.Policy.StepDeadline, SessionTimeout: s.cfg.SessionTimeout, Now: s.cfg.Now, Logger: s.log, Metrics: m,
	}, h)
	if err != nil {
		return nil, nil, err
	}
	return c, rd, nil
}

// logEvents logs each event a service applies, at debug level.
func (s *Stack) logEvents(group string) consumer.TxMiddleware {
	return func(next consumer.TxHandler) consumer.TxHandler {
		return func(ctx context.Context, tx *sqldb.Tx, e *events.Envelope) error {
			// The log handler adds the trace_id and span_id of ctx.
			s.log.DebugContext(ctx, "applying event", "group", group, "event_type", e.Type, "schema_version", e.SchemaVersion, "event_id", e.EventID,
				"order_id", e.OrderID)
			return next(ctx, tx, e)
		}
	}
}

// buildHTTP builds the API the process serves.
func (s *Stack) buildHTTP() {
	d := httpapi.Deps{
		Variant:  Variant,
		Steps:    s.node.Saga.Names(),
		Ready:    s.readiness(),
		Registry: s.cfg.Registry,
		Logger:   s.log,
		Now:      s.cfg.Now,
		Auth:     s.cfg.Auth,
		Limits:   s.cfg.Limits,
	}
	d.TracerProvider = s.cfg.TracerProvider
	s.ops = httpapi.NewOps(d)
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
	if s.node.Orders != nil {
		d.Orders = s.node.Orders
		d.Intake = s.intake
		d.Timeline = s.timeline
		d.Retries = s.retries
		d.Upstreams = s.cfg.Upstreams
		s.api = httpapi.New(d)
		s.served = s.api
		return
	}
	s.served = httpapi.New(d)
}

// readiness returns the checks of GET /readyz: the databases and the broker
// with the stack's topics.
func (s *Stack) readiness() []httpapi.Check {
	return []httpapi.Check{
		{Name: "database", Check: s.node.Ping},
		{Name: "kafka", Check: func(ctx context.Context) error { return broker.Ping(ctx, s.cfg.Brokers, s.topics.AllOf(s.node.Saga)) }},
	}
}

// Handler returns the REST API, or nil when the process does not host the
// order service.
func (s *Stack) Handler() http.Handler { return s.api }

// Addr returns the address the API listens on, or "" without HTTPAddr.
func (s *Stack) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// OpsAddr returns the address the operations endpoints listen on, or ""
// without Config.OpsAddr.
func (s *Stack) OpsAddr() string {
	if s.opsLn == nil {
		return ""
	}
	return s.opsLn.Addr().String()
}

// Node returns what the process hosts: its services and databases.
func (s *Stack) Hosted() *hosted.Services { return s.node }

// Topics returns the stack's topic names.
func (s *Stack) Topics() events.Topics { return s.topics }

// Flow returns the order flow, or nil when the process does not host the
// order service.
func (s *Stack) Intake() *intake.Service { return s.intake }

// Run runs the relays, the consumers and the HTTP server until ctx ends,
// then stops them and returns nil; it returns an error when one of them
// fails to run. Run once per Stack.
func (s *Stack) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, p := range s.hosted {
		if p.relay != nil {
			g.Go(func() error { return p.relay.Run(ctx) })
		}
		g.Go(func() error { return p.consumer.Run(ctx) })
		if p.redeliverer != nil {
			g.Go(func() error { return p.redeliverer.Run(ctx) })
		}
		g.Go(func() error { s.pruneInbox(ctx, p); return nil })
	}
	if s.retries != nil {
		g.Go(func() error { return s.retries.Run(ctx) })
	}
	for _, l := range []struct {
		ln net.Listener
		h  http.Handler
	}{{s.ln, s.served}, {s.opsLn, s.ops}} {
		if l.ln == nil {
			continue
		}
		srv := httpapi.NewServer(l.h, s.cfg.Limits, slog.NewLogLogger(s.log.Handler(), slog.LevelWarn))
		g.Go(func() error {
			if err := srv.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serving the API on %s: %w", l.ln.Addr(), err)
			}
			return nil
		})
		g.Go(func() error {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		})
	}
	s.log.Info("choreographed stack running", "services", s.serviceNames(), "brokers", s.cfg.Brokers, "api", s.Addr())
	return g.Wait()
}

// pruneInbox forgets old handled events of p's database, hourly.
func (s *Stack) pruneInbox(ctx context.Context, p *hostedService) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := inbox.Prune(ctx, p.db, s.cfg.Now().Add(-s.cfg.InboxRetention)); err != nil {
				s.log.Warn("pruning the inbox failed", "service", p.service, "error", err)
			} else if n > 0 {
				s.log.Debug("pruned the inbox", "service", p.service, "events", n)
			}
		}
	}
}

func (s *Stack) serviceNames() []events.Service {
	out := make([]events.Service, len(s.hosted))
	for i, p := range s.hosted {
		out[i] = p.service
	}
	return out
}

// Close leaves the consumer groups and closes the broker connections and the
// databases. Call it after Run returned. It is safe to call more than once.
func (s *Stack) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errList []error
	for _, p := range s.hosted {
		if p.redeliverer != nil {
			if err := p.redeliverer.Close(); err != nil {
				errList = append(errList, err)
			}
		}
		if err := p.consumer.Close(); err != nil {
			errList = append(errList, err)
		}
	}
	if s.retries != nil {
		if err := s.retries.Close(); err != nil {
			errList = append(errList, err)
		}
	}
	if s.writer != nil {
		if err := s.writer.Close(); err != nil {
			errList = append(errList, fmt.Errorf("closing the kafka writer: %w", err))
		}
	}
	if s.ln != nil {
		_ = s.ln.Close() // already closed when Run served on it
	}
	if s.opsLn != nil {
		_ = s.opsLn.Close()
	}
	if s.node != nil && s.ownsHosted {
		if err := s.node.Close(); err != nil {
			errList = append(errList, err)
		}
	}
	return errors.Join(errList...)
}
