// Package rig starts, in one process, what the bench measures: the
// embedded Temporal server and Kafka-protocol broker on free 127.0.0.1
// ports, and the two variants' stacks, each on service databases of its
// own (SQLite files in a folder, or PostgreSQL databases created afresh),
// serving the REST API on a free port. With PostgreSQL, the Temporal
// server persists to PostgreSQL too.
package rig

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	chstack "github.com/ordersaga/ordersaga/choreographed/stack"
	"github.com/ordersaga/ordersaga/deploy/bench"
	"github.com/ordersaga/ordersaga/deploy/internal/readiness"
	"github.com/ordersaga/ordersaga/deploy/kafkadev"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
	orstack "github.com/ordersaga/ordersaga/orchestrated/stack"
	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// The variants the rig can start, by the name the bench reports.
const (
	Orchestrated  = orstack.Variant
	Choreographed = chstack.Variant
)

// Timeouts of the rig.
const (
	healthyTimeout = 60 * time.Second
	stopTimeout    = 30 * time.Second
	listenAddress  = "127.0.0.1:0"
)

// DefaultDBPrefix starts the names of the PostgreSQL databases.
const DefaultDBPrefix = "bench"

// Config says what to start. Zero values mean "not that".
type Config struct {
	// Dir holds the SQLite databases of the services and of Temporal
	// (required).
	Dir string
	// PostgresURL, when set, puts every service database on that server:
	// databases <PostgresDBPrefix>_<variant>_<role>, dropped and created
	// afresh at the start; and the embedded Temporal server's persistence
	// too: databases <PostgresDBPrefix>_temporal and
	// <PostgresDBPrefix>_temporal_visibility, also created afresh.
	PostgresURL string
	// PostgresDBPrefix starts those databases' names (DefaultDBPrefix): a
	// lower-case identifier.
	PostgresDBPrefix string
	// DropDatabasesOnClose drops those databases when the stacks stop; by
	// default they are left for inspection until the next run.
	DropDatabasesOnClose bool
	// Orchestrated and Choreographed start those stacks.
	Orchestrated  bool
	Choreographed bool
	// Temporal and Kafka start the embedded server and broker even when no
	// stack needs them (for the ceiling runs).
	Temporal bool
	Kafka    bool
	// TemporalStore are the embedded Temporal server's persistence
	// settings (history shards, PostgreSQL pools); its databases are new,
	// so a zero HistoryShards is temporaldev.DefaultHistoryShards.
	TemporalStore temporaldev.StoreSettings
	// Keys verify the stacks' bearer tokens (the bench signs its own with
	// them); nil runs the stacks without authentication.
	Keys *auth.Keys
	// Limits bounds the stacks' requests (httpapi.DefaultLimits when
	// zero): the bench keeps as many orders waiting as its open loop has
	// in flight. Its MaxInFlight, 0 by default, leaves each stack the
	// variant's own bound of orders in flight (admission control), which
	// the open loop then measures.
	Limits httpapi.Limits
	// FaultInjection serves /v1/admin/faults on the stacks (for the
	// scenario suite); off by default.
	FaultInjection bool
	// Policy is the failure model the stacks' sagas run under (its zero
	// fields the defaults, see saga.Policy).
	Policy saga.Policy
	// Logger receives the logs of everything started (slog.Default() when
	// nil).
	Logger *slog.Logger
}

// Rig is what Start started.
type Rig struct {
	cfg      Config
	log      *slog.Logger
	temporal *temporaldev.Server
	broker   *kafkadev.Broker
	stacks   []*stack
}

// stack is one running variant.
type stack struct {
	name   string
	url    string
	s      interface{ Close() error }
	cancel context.CancelFunc
	done   chan error
}

// Start starts what cfg asks for and returns once every API answers.
// ctx bounds the start only; Close stops everything.
func Start(ctx context.Context, cfg Config) (_ *Rig, err error) {
	if cfg.Dir == "" {
		return nil, errors.New("rig: no folder for the databases")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PostgresDBPrefix == "" {
		cfg.PostgresDBPrefix = DefaultDBPrefix
	}
	r := &Rig{cfg: cfg, log: cfg.Logger}
	defer func() {
		if err != nil {
			err = errors.Join(err, r.Close())
		}
	}()
	if cfg.Temporal || cfg.Orchestrated {
		tc := temporaldev.Config{
			FrontendAddress: listenAddress,
			NoUI:            true,
			DatabaseFile:    filepath.Join(cfg.Dir, "temporal", "temporal.db"),
			Store:           cfg.TemporalStore,
			Logger:          cfg.Logger,
		}
		if cfg.PostgresURL != "" {
			tc.DatabaseFile = ""
			tc.PostgresURL = cfg.PostgresURL
			tc.PostgresDatabase, tc.PostgresVisibilityDatabase = r.temporalDatabases()
			if err := dropNamed(ctx, cfg.PostgresURL, tc.PostgresDatabase, tc.PostgresVisibilityDatabase); err != nil {
				return nil, err
			}
		}
		r.temporal, err = temporaldev.Start(ctx, tc)
		if err != nil {
			return nil, fmt.Errorf("embedded temporal: %w", err)
		}
	}
	if cfg.Kafka || cfg.Choreographed {
		r.broker, err = kafkadev.Start(kafkadev.Config{Address: listenAddress, Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("embedded kafka: %w", err)
		}
	}
	if cfg.Orchestrated {
		if err := r.startOrchestrated(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.Choreographed {
		if err := r.startChoreographed(ctx); err != nil {
			return nil, err
		}
	}
	for _, s := range r.stacks {
		if err := readiness.WaitHealthy(ctx, s.url+"/healthz", healthyTimeout); err != nil {
			return nil, fmt.Errorf("%s API: %w", s.name, err)
		}
	}
	return r, nil
}

func (r *Rig) startOrchestrated(ctx context.Context) error {
	dbs, err := r.databases(ctx, Orchestrated)
	if err != nil {
		return err
	}
	s, err := orstack.New(ctx, orstack.Config{
		Hosted:           hosted.Config{Databases: dbs, Migrate: true, Policy: r.cfg.Policy}, // the rig's own databases
		TemporalHostPort: r.temporal.FrontendAddress(),
		FaultInjection:   r.cfg.FaultInjection,
		Namespace:        r.temporal.Namespace(),
		HTTPAddr:         listenAddress,
		Auth:             r.cfg.Keys,
		Limits:           r.cfg.Limits,
		Logger:           r.log,
	})
	if err != nil {
		return fmt.Errorf("orchestrated stack: %w", err)
	}
	r.run(Orchestrated, "http://"+s.Addr(), s, s.Run)
	return nil
}

func (r *Rig) startChoreographed(ctx context.Context) error {
	dbs, err := r.databases(ctx, Choreographed)
	if err != nil {
		return err
	}
	s, err := chstack.New(ctx, chstack.Config{
		Hosted:         hosted.Config{Databases: dbs, Migrate: true, Policy: r.cfg.Policy}, // the rig's own databases
		Brokers:        r.broker.Addrs(),
		FaultInjection: r.cfg.FaultInjection,
		HTTPAddr:       listenAddress,
		Auth:           r.cfg.Keys,
		Limits:         r.cfg.Limits,
		Logger:         r.log,
	})
	if err != nil {
		return fmt.Errorf("choreographed stack: %w", err)
	}
	r.run(Choreographed, "http://"+s.Addr(), s, s.Run)
	return nil
}

// run runs a stack until Close.
func (r *Rig) run(name, baseURL string, s interface{ Close() error }, runFn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	st := &stack{name: name, url: baseURL, s: s, cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := runFn(ctx)
		if err != nil {
			r.log.Error("a stack stopped", "variant", name, "error", err)
		}
		st.done <- err
	}()
	r.stacks = append(r.stacks, st)
}

// databases returns the addresses of a variant's service databases:
// SQLite files in a folder of Dir, or fresh PostgreSQL databases.
func (r *Rig) databases(ctx context.Context, variant string) (map[hosted.Role]string, error) {
	if r.cfg.PostgresURL == "" {
		dir := filepath.Join(r.cfg.Dir, variant)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("%s databases: %w", variant, err)
		}
		return hosted.SQLiteDatabases(dir), nil
	}
	prefix := r.cfg.PostgresDBPrefix + "_" + variant
	if err := dropDatabases(ctx, r.cfg.PostgresURL, prefix); err != nil {
		return nil, err
	}
	dbs, err := hosted.PostgresDatabases(ctx, r.cfg.PostgresURL, prefix)
	if err != nil {
		return nil, fmt.Errorf("%s databases: %w", variant, err)
	}
	return dbs, nil
}

// dropDatabases drops the databases prefix_<role> a previous run left,
// so that every run starts on empty tables.
func dropDatabases(ctx context.Context, baseURL, prefix string) error {
	names := make([]string, 0, len(hosted.AllRoles()))
	for _, role := range hosted.AllRoles() {
		names = append(names, prefix+"_"+string(role))
	}
	return dropNamed(ctx, baseURL, names...)
}

// temporalDatabases names the embedded Temporal server's databases.
func (r *Rig) temporalDatabases() (main, visibility string) {
	return r.cfg.PostgresDBPrefix + "_temporal", r.cfg.PostgresDBPrefix + "_temporal_visibility"
}

// dropNamed drops the named databases where they exist.
func dropNamed(ctx context.Context, baseURL string, names ...string) error {
	admin, err := sqldb.Open(ctx, baseURL)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer admin.Close()
	for _, name := range names {
		// The name is made of the prefix and constants: a lower-case
		// identifier.
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("dropping database %s: %w", name, err)
		}
	}
	return nil
}

// URL returns the base URL of a started variant's API, "" for one not
// started.
func (r *Rig) URL(variant string) string {
	for _, s := range r.stacks {
		if s.name == variant {
			return s.url
		}
	}
	return ""
}

// TemporalAddress returns the embedded Temporal frontend's host:port and
// namespace, "" when not started.
func (r *Rig) TemporalAddress() (hostPort, namespace string) {
	if r.temporal == nil {
		return "", ""
	}
	return r.temporal.FrontendAddress(), r.temporal.Namespace()
}

// TemporalCommits returns a reader of the transactions the embedded
// Temporal server's PostgreSQL databases committed so far (the default
// store's and the visibility store's pg_stat_database.xact_commit), nil
// when the server is not started or not on PostgreSQL (or r is nil).
func (r *Rig) TemporalCommits() func(ctx context.Context) (main, visibility int64, err error) {
	if r == nil || r.temporal == nil || r.cfg.PostgresURL == "" {
		return nil
	}
	mainDB, visibilityDB := r.temporalDatabases()
	baseURL := r.cfg.PostgresURL
	return func(ctx context.Context) (main, visibility int64, err error) {
		db, err := sqldb.Open(ctx, baseURL)
		if err != nil {
			return 0, 0, fmt.Errorf("connecting to PostgreSQL: %w", err)
		}
		defer db.Close()
		err = db.QueryRowContext(ctx, `SELECT
			coalesce(sum(xact_commit) FILTER (WHERE datname = $1), 0),
			coalesce(sum(xact_commit) FILTER (WHERE datname = $2), 0)
			FROM pg_stat_database`, mainDB, visibilityDB).Scan(&main, &visibility)
		if err != nil {
			return 0, 0, fmt.Errorf("reading the commits of %s and %s: %w", mainDB, visibilityDB, err)
		}
		return main, visibility, nil
	}
}

// KafkaBrokers returns the embedded broker's addresses, nil when not
// started.
func (r *Rig) KafkaBrokers() []string {
	if r.broker == nil {
		return nil
	}
	return r.broker.Addrs()
}

// Describe fills in what the rig runs, for the report.
func (r *Rig) Describe(s *bench.Setup) {
	if len(r.stacks) > 0 {
		if r.cfg.PostgresURL != "" {
			s.Databases = "services on PostgreSQL at " + hostOf(r.cfg.PostgresURL) + " (a database per service and variant)"
		} else {
			s.Databases = "services on SQLite files (WAL, a file per service and variant)"
		}
	}
	if r.temporal != nil {
		persistence := "SQLite file"
		if r.cfg.PostgresURL != "" {
			persistence = "PostgreSQL at " + hostOf(r.cfg.PostgresURL)
		}
		s.Temporal = "embedded Temporal server (Temporal persistence: " + persistence + ", " + r.temporalStore() + ", single-node tuning)"
	}
	if r.broker != nil {
		s.Broker = fmt.Sprintf("embedded Kafka-protocol broker (kfake, in memory, %d partitions per topic)", kafkadev.DefaultPartitions)
	}
	names := make([]string, 0, len(r.stacks))
	for _, st := range r.stacks {
		names = append(names, st.name)
	}
	if len(names) > 0 {
		slices.Sort(names)
		s.Notes = append(s.Notes, "in one process with the driver: "+strings.Join(names, " and ")+
			" stacks, Temporal server and broker; the stacks are stopped before the ceiling runs")
		bounds := make([]string, len(names))
		for i, n := range names {
			bounds[i] = fmt.Sprintf("%s %d", n, r.cfg.Limits.InFlightBound(n))
		}
		s.Notes = append(s.Notes, "admission control: at most "+strings.Join(bounds, ", ")+
			" orders in flight per stack; past it POST /v1/orders answers 503 with Retry-After (a refusal)")
	}
}

// temporalStore describes the embedded Temporal server's persistence
// settings: the history shards it runs with, and on PostgreSQL its pools.
func (r *Rig) temporalStore() string {
	st := r.temporal.Store()
	desc := fmt.Sprintf("%d history shard%s, %d persistence operation%s in flight per shard",
		st.HistoryShards, plural(st.HistoryShards), st.ShardIOConcurrency, plural(st.ShardIOConcurrency))
	if r.cfg.PostgresURL != "" {
		desc += fmt.Sprintf(", pools of %d (idle %d) and visibility %d (idle %d) connections per Temporal service",
			st.MaxConns, st.MaxIdleConns, st.VisibilityMaxConns, st.VisibilityMaxIdleConns)
	}
	return desc
}

// plural returns "s" unless n is 1.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// hostOf returns the host:port of a URL, without its credentials.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Host
}

// StopStacks stops the stacks and leaves Temporal and the broker running
// (for the ceiling runs, which then have the machine to themselves). It is
// safe to call more than once.
func (r *Rig) StopStacks() error {
	var errList []error
	for _, s := range slices.Backward(r.stacks) {
		s.cancel()
		select {
		case <-s.done:
		case <-time.After(stopTimeout):
			errList = append(errList, fmt.Errorf("%s stack still running after %v", s.name, stopTimeout))
		}
		if err := s.s.Close(); err != nil {
			errList = append(errList, fmt.Errorf("closing the %s stack: %w", s.name, err))
		}
	}
	if r.cfg.PostgresURL != "" && r.cfg.DropDatabasesOnClose {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		for _, st := range r.stacks {
			if err := dropDatabases(ctx, r.cfg.PostgresURL, r.cfg.PostgresDBPrefix+"_"+st.name); err != nil {
				errList = append(errList, err)
			}
		}
		cancel()
	}
	r.stacks = nil
	return errors.Join(errList...)
}

// Close stops the stacks, then the broker and Temporal. It is safe to call
// more than once.
func (r *Rig) Close() error {
	errList := []error{r.StopStacks()}
	if r.broker != nil {
		if err := r.broker.Close(); err != nil {
			errList = append(errList, err)
		}
		r.broker = nil
	}
	if r.temporal != nil {
		r.temporal.Stop()
		r.temporal = nil
		if r.cfg.PostgresURL != "" && r.cfg.DropDatabasesOnClose {
			ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
			main, visibility := r.temporalDatabases()
			if err := dropNamed(ctx, r.cfg.PostgresURL, main, visibility); err != nil {
				errList = append(errList, err)
			}
			cancel()
		}
	}
	return errors.Join(errList...)
}
