// Package temporaldev runs a real, single-node Temporal server inside the
// process, with the Temporal UI beside it, for the all-in-one local run and
// for tests. It persists to one SQLite file (or to memory), or to two
// PostgreSQL databases it creates and keeps at the current schema, creates
// its namespace with the project's custom search attributes, and is tuned
// for a single node (see the dynamic config in tuning).
package temporaldev

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"

	"github.com/ordersaga/ordersaga/deploy/internal/freeport"
)

// Defaults of Config.
const (
	DefaultFrontendAddress = "127.0.0.1:7233"
	DefaultUIAddress       = "127.0.0.1:8233"
	DefaultNamespace       = "default"
	DefaultStartTimeout    = 60 * time.Second
)

// The custom search attributes the namespace is created with by default:
// the orchestrated variant tags each order's workflow with them so the
// Temporal UI can list orders by customer and status.
const (
	SearchAttributeCustomerID  = "CustomerId"
	SearchAttributeOrderStatus = "OrderStatus"
)

// DefaultSearchAttributes returns the custom search attributes the
// namespace is created with when Config.SearchAttributes is nil.
func DefaultSearchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		SearchAttributeCustomerID:  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttributeOrderStatus: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
}

// clusterName and clusterID identify the single-node cluster. They are
// constants so that a server restarted on the same file is the same cluster.
const (
	clusterName = "active"
	clusterID   = "0c5f7e0e-5d8e-4d59-9a3b-8d3c2f6a1e47"
)

// Config says how to run the server. The zero value of a field means its
// default.
type Config struct {
	// FrontendAddress is where the frontend gRPC service listens
	// (DefaultFrontendAddress). Port 0 picks a free port.
	FrontendAddress string
	// UIAddress is where the Temporal UI listens (DefaultUIAddress). Port 0
	// picks a free port.
	UIAddress string
	// NoUI runs the server without the UI.
	NoUI bool
	// DatabaseFile is the SQLite file the server keeps its state in; it is
	// created with its schema when missing, with the visibility records
	// (what the UI lists and searches) in a second file beside it
	// (VisibilityFile). Empty (and no PostgresURL) keeps the state in
	// memory, lost when the server stops.
	DatabaseFile string
	// PostgresURL, when set, keeps the server's state on that PostgreSQL
	// server (postgres://user:password@host:port/db?sslmode=…, the database
	// in the URL being the one to connect to for creating the others)
	// instead of SQLite: in the databases PostgresDatabase and
	// PostgresVisibilityDatabase, created when missing, their schema set up
	// or updated at every start. It excludes DatabaseFile.
	PostgresURL string
	// PostgresDatabase and PostgresVisibilityDatabase name the server's two
	// PostgreSQL databases (DefaultPostgresDatabase and
	// DefaultPostgresVisibilityDatabase): lower-case identifiers.
	PostgresDatabase           string
	PostgresVisibilityDatabase string
	// Store are the persistence settings that bear on throughput: the
	// number of history shards (fixed when a database is created), the
	// PostgreSQL connection pools of the default and the visibility
	// store, and the persistence operations in flight per shard.
	Store StoreSettings
	// Namespace is created when missing (DefaultNamespace).
	Namespace string
	// SearchAttributes are the namespace's custom search attributes
	// (DefaultSearchAttributes when nil). Missing ones are added to an
	// existing namespace at start.
	SearchAttributes map[string]enumspb.IndexedValueType
	// DynamicConfig overrides dynamic config values, by key, over the
	// single-node tuning.
	DynamicConfig map[string]any
	// Logger receives the server's logs (slog.Default() when nil).
	Logger *slog.Logger
	// LogLevel is the lowest level of the server's logs that is passed on
	// (slog.LevelWarn when nil): the server is chatty at info.
	LogLevel slog.Leveler
	// StartTimeout bounds the start (DefaultStartTimeout).
	StartTimeout time.Duration
}

// withDefaults returns cfg with its zero fields set to their defaults.
func (cfg Config) withDefaults() Config {
	if cfg.FrontendAddress == "" {
		cfg.FrontendAddress = DefaultFrontendAddress
	}
	if cfg.UIAddress == "" {
		cfg.UIAddress = DefaultUIAddress
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.SearchAttributes == nil {
		cfg.SearchAttributes = DefaultSearchAttributes()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.LogLevel == nil {
		cfg.LogLevel = slog.LevelWarn
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.PostgresDatabase == "" {
		cfg.PostgresDatabase = DefaultPostgresDatabase
	}
	if cfg.PostgresVisibilityDatabase == "" {
		cfg.PostgresVisibilityDatabase = DefaultPostgresVisibilityDatabase
	}
	cfg.Store = cfg.Store.withDefaults()
	return cfg
}

// tuning is the dynamic config of a single-node server with the given
// store settings: each history shard has store.ShardIOConcurrency
// persistence operations in flight, the history queues
// poll their one shard far more often than the default 20 reads/s (which
// adds up to 50 ms to every workflow task), task queues have one partition
// (so no task waits on a partition without a poller), and long polls
// expire sooner (a missed close notification then costs seconds, not 20 s).
//
// system.forceSearchAttributesCacheRefreshOnRead stays off (a testing
// setting, "not for production"): it reads the namespace and the cluster's
// search attributes from the database, under a lock, at every use of a
// search attribute (every start, every upsert, every visibility record),
// which cost several milliseconds per workflow. A search attribute added
// to an existing namespace is seen at the next namespace cache refresh
// (system.namespaceCacheRefreshInterval, 2 s), which ensureSearchAttributes
// waits for.
func tuning(store StoreSettings) map[dynamicconfig.Key]any {
	const pollRPS = 10000
	return map[dynamicconfig.Key]any{
		dynamicconfig.ShardIOConcurrency.Key():                           store.ShardIOConcurrency,
		dynamicconfig.TransferProcessorMaxPollRPS.Key():                  pollRPS,
		dynamicconfig.TimerProcessorMaxPollRPS.Key():                     pollRPS,
		dynamicconfig.VisibilityProcessorMaxPollRPS.Key():                pollRPS,
		dynamicconfig.OutboundProcessorMaxPollRPS.Key():                  pollRPS,
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():           1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key():          1,
		dynamicconfig.HistoryLongPollExpirationInterval.Key():            5 * time.Second,
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8192,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		dynamicconfig.FrontendPersistenceMaxQPS.Key():                    10000,
		dynamicconfig.HistoryPersistenceMaxQPS.Key():                     45000,
	}
}

// Server is a running Temporal server and its UI.
type Server struct {
	server      temporal.Server
	ui          *uiserver.Server
	uiDone      chan error
	frontend    string
	uiAddress   string
	namespace   string
	persistence string
	// store are the store settings the server runs with, HistoryShards
	// as its frontend reports it.
	store    StoreSettings
	log      *slog.Logger
	logLevel *slog.LevelVar
}

// Start starts the server and, unless cfg.NoUI, the UI, and returns once
// the frontend answers and the namespace has its search attributes. ctx
// bounds the start only.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	if problems := cfg.Store.Problems(); len(problems) > 0 {
		return nil, fmt.Errorf("temporal persistence settings: %w", errors.Join(problems...))
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()

	frontend, err := listenAddress(cfg.FrontendAddress)
	if err != nil {
		return nil, fmt.Errorf("temporal frontend: %w", err)
	}
	uiAddress := ""
	if !cfg.NoUI {
		if uiAddress, err = listenAddress(cfg.UIAddress); err != nil {
			return nil, fmt.Errorf("temporal UI: %w", err)
		}
	}

	s := &Server{frontend: frontend, uiAddress: uiAddress, namespace: cfg.Namespace, log: cfg.Logger, logLevel: new(slog.LevelVar)}
	s.logLevel.Set(cfg.LogLevel.Level())
	var st stores
	if cfg.PostgresURL != "" {
		st, err = postgresStores(ctx, cfg, newLogger(cfg.Logger, s.logLevel))
	} else {
		st, err = sqliteStores(cfg)
	}
	if err != nil {
		return nil, err
	}
	s.persistence = st.describe
	main := st.dataStores[st.defaultStore].SQL
	shards, err := historyShards(ctx, cfg.Store.HistoryShards, main, st.database, st.fresh, newLogger(cfg.Logger, s.logLevel))
	if err != nil {
		return nil, err
	}
	if s.server, err = newServer(cfg, frontend, st, shards, s.logLevel); err != nil {
		return nil, err
	}
	if err := s.server.Start(); err != nil {
		return nil, fmt.Errorf("starting temporal server: %w", err)
	}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if cfg.PostgresURL != "" {
		err = ensurePostgresNamespace(ctx, frontend, cfg.Namespace, cfg.SearchAttributes)
	} else {
		err = ensureSearchAttributes(ctx, frontend, cfg.Namespace, cfg.SearchAttributes)
	}
	if err != nil {
		return nil, err
	}
	s.store = cfg.Store
	running, err := runningHistoryShards(ctx, frontend)
	if err != nil {
		return nil, err
	}
	s.store.HistoryShards = int(running)
	if !cfg.NoUI {
		if err := s.startUI(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// FrontendAddress returns the host:port of the frontend gRPC service, for
// Temporal clients.
func (s *Server) FrontendAddress() string { return s.frontend }

// UIAddress returns the host:port of the Temporal UI, "" without a UI.
func (s *Server) UIAddress() string { return s.uiAddress }

// Namespace returns the namespace the server was started with.
func (s *Server) Namespace() string { return s.namespace }

// Persistence says where the server keeps its state, without secrets:
// "SQLite (file)", "SQLite (in memory)" or "PostgreSQL at host:port
// (databases …)".
func (s *Server) Persistence() string { return s.persistence }

// HistoryShards returns the number of history shards the server runs
// with, as its frontend reports it.
func (s *Server) HistoryShards() int { return s.store.HistoryShards }

// Store returns the store settings the server runs with, every default
// filled in: HistoryShards is the count it runs with, and the pool sizes
// are those of its PostgreSQL pools (unused on SQLite).
func (s *Server) Store() StoreSettings { return s.store }

// Stop stops the UI and the server. It is safe to call more than once.
func (s *Server) Stop() {
	// While it shuts down, the server logs warnings and errors about the
	// calls its own stop cancels; they are noise.
	s.logLevel.Set(slog.LevelError + 1)
	if s.ui != nil {
		s.ui.Stop()
		<-s.uiDone
		s.ui = nil
	}
	if s.server != nil {
		if err := s.server.Stop(); err != nil {
			s.log.Error("stopping temporal server", "error", err)
		}
		s.server = nil
	}
}

// listenAddress checks that address can be listened on and returns it with
// a free port in place of port 0. A free port another process takes
// between its pick and the check is picked again (port 0 only: a port
// asked for by number is the caller's).
func listenAddress(address string) (string, error) {
	const picks = 5
	for pick := 1; ; pick++ {
		resolved, err := freeport.Resolve(address)
		if err != nil {
			return "", err
		}
		err = freeport.Check(resolved)
		if err == nil {
			return resolved, nil
		}
		if resolved == address || pick == picks {
			return "", fmt.Errorf("cannot listen on %s: %w", resolved, err)
		}
	}
}

// persistence returns the SQLite stores of the server, the main one and
// the visibility one, creating the files with their schema when missing,
// and creates the namespace when missing.
//
// Each store has a connection of its own (the SQLite plugin keeps one per
// database), so the visibility records, written after each change of a
// workflow, do not hold up the next change of a workflow. A file created
// before the visibility store had its own keeps its records in the main
// file (visibility is then main).
func persistence(cfg Config) (main, visibility *config.SQL, err error) {
	main = &config.SQL{PluginName: sqliteplugin.PluginName}
	visibility = &config.SQL{PluginName: sqliteplugin.PluginName}
	if cfg.DatabaseFile == "" {
		// Shared-cache in-memory databases, named uniquely so that several
		// servers in one process do not share them. The plugin creates
		// their schema.
		name := "temporaldev-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		main.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		main.DatabaseName = name
		visibility.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		visibility.DatabaseName = name + "-visibility"
	} else {
		main.ConnectAttributes = sqliteFileAttributes()
		main.DatabaseName = cfg.DatabaseFile
		visibility.ConnectAttributes = sqliteFileAttributes()
		visibility.DatabaseName = VisibilityFile(cfg.DatabaseFile)
		if visibility, err = createFiles(main, visibility); err != nil {
			return nil, nil, err
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, cfg.Namespace, false, cfg.SearchAttributes)
	if err != nil {
		return nil, nil, fmt.Errorf("preparing namespace %s: %w", cfg.Namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(main, ns); err != nil {
		return nil, nil, fmt.Errorf("creating namespace %s: %w", cfg.Namespace, err)
	}
	return main, visibility, nil
}

// VisibilityFile returns the SQLite file of the visibility records of the
// server whose state is in databaseFile: temporal.db keeps them in
// temporal-visibility.db.
func VisibilityFile(databaseFile string) string {
	ext := filepath.Ext(databaseFile)
	return strings.TrimSuffix(databaseFile, ext) + "-visibility" + ext
}

// createFiles creates the main and the visibility file with their schema
// when the main file is missing (a visibility file left without its main
// file is replaced), and returns the visibility store to use: main for a
// main file that has no visibility file beside it.
func createFiles(main, visibility *config.SQL) (*config.SQL, error) {
	_, err := os.Stat(main.DatabaseName)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(main.DatabaseName), 0o755); err != nil {
			return nil, fmt.Errorf("creating the folder of %s: %w", main.DatabaseName, err)
		}
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(visibility.DatabaseName + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("removing the visibility records of a former database: %w", err)
			}
		}
		for _, c := range []*config.SQL{main, visibility} {
			if err := sqliteschema.SetupSchema(c); err != nil {
				return nil, fmt.Errorf("creating temporal schema in %s: %w", c.DatabaseName, err)
			}
		}
		return visibility, nil
	case err != nil:
		return nil, fmt.Errorf("temporal database %s: %w", main.DatabaseName, err)
	}
	if _, err := os.Stat(visibility.DatabaseName); errors.Is(err, os.ErrNotExist) {
		return main, nil
	} else if err != nil {
		return nil, fmt.Errorf("temporal visibility database %s: %w", visibility.DatabaseName, err)
	}
	return visibility, nil
}

// sqliteFileAttributes are the connection settings of a SQLite file. The
// server reaches the file through one connection shared by all its
// services (the SQLite plugin pools connections by DSN, for the life of
// the process, also across a stop and start), so:
//   - journal_mode=wal, synchronous=NORMAL: a commit appends to the
//     write-ahead log without an fsync; the log is synced at checkpoints.
//     A crash of the process loses nothing committed.
//   - locking_mode=EXCLUSIVE: that connection takes the file's lock once
//     and keeps it, instead of taking and releasing it (two fcntl calls
//     and more) around every statement; a second process opening the same
//     file is refused ("database is locked") instead of sharing it.
//   - wal_autocheckpoint=10000 pages (40 MB): the server rewrites the same
//     few hundred pages all the time; checkpointing every 1,000 pages (the
//     default, every two or three workflows) wrote them back and synced
//     both files far more often than needed.
func sqliteFileAttributes() map[string]string {
	return map[string]string{
		"mode":               "rwc",
		"journal_mode":       "wal",
		"synchronous":        "1",
		"locking_mode":       "exclusive",
		"wal_autocheckpoint": "10000",
	}
}

// newServer builds the server: every service in this process, the frontend
// on the given address and the others on free ports of the same host, with
// shards history shards.
func newServer(cfg Config, frontend string, st stores, shards int32, level *slog.LevelVar) (temporal.Server, error) {
	host, portText, _ := net.SplitHostPort(frontend)
	frontendPort, _ := strconv.Atoi(portText)
	// The frontend also serves Temporal's HTTP API (and Nexus).
	httpPort, err := freeport.Get(host)
	if err != nil {
		return nil, fmt.Errorf("temporal HTTP API: %w", err)
	}
	httpAddress := net.JoinHostPort(host, strconv.Itoa(httpPort))
	conf := &config.Config{}
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = host
	conf.Persistence.DefaultStore = st.defaultStore
	conf.Persistence.VisibilityStore = st.visibilityStore
	conf.Persistence.NumHistoryShards = shards
	conf.Persistence.DataStores = st.dataStores
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend, HTTPAddress: httpAddress, ClusterID: clusterID},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontend

	conf.Services = map[string]config.Service{}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for _, svc := range []primitives.ServiceName{primitives.FrontendService, primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		rpc := config.RPC{GRPCPort: frontendPort, BindOnIP: host}
		if svc == primitives.FrontendService {
			rpc.HTTPPort = httpPort
		} else {
			p, err := freeport.Get(host)
			if err != nil {
				return nil, fmt.Errorf("temporal %s service: %w", svc, err)
			}
			rpc.GRPCPort = p
		}
		port := rpc.GRPCPort
		conf.Services[string(svc)] = config.Service{RPC: rpc}
		hosts[svc] = static.SingleLocalHost(net.JoinHostPort(host, strconv.Itoa(port)))
	}

	dc := dynamicconfig.StaticClient{}
	maps.Copy(dc, tuning(cfg.Store))
	for k, v := range cfg.DynamicConfig {
		dc[dynamicconfig.MakeKey(k)] = v
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(newLogger(cfg.Logger, level)),
		temporal.WithAuthorizer(authorization.NewNoopAuthorizer()),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return authorization.NewNoopClaimMapper() }),
		temporal.WithDynamicConfigClient(dc),
	)
	if err != nil {
		return nil, fmt.Errorf("building temporal server: %w", err)
	}
	return srv, nil
}

// ensureSearchAttributes waits until the frontend answers and adds the
// search attributes the namespace lacks (one created before they were
// declared), then waits until the frontend accepts them in a query: the
// services see a namespace's new search attributes at their next namespace
// cache refresh, within a few seconds (see tuning).
func ensureSearchAttributes(ctx context.Context, frontend, namespace string, want map[string]enumspb.IndexedValueType) error {
	c, err := client.DialContext(ctx, client.Options{HostPort: frontend, Namespace: namespace, Logger: quietSDKLogger{}})
	if err != nil {
		return fmt.Errorf("connecting to temporal at %s: %w", frontend, err)
	}
	defer c.Close()
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("listing search attributes of %s: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range want {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	}); err != nil {
		return fmt.Errorf("adding search attributes %v to %s: %w", slices.Sorted(maps.Keys(missing)), namespace, err)
	}
	return waitSearchAttributes(ctx, c, namespace, slices.Sorted(maps.Keys(missing)))
}

// waitSearchAttributes waits until a query naming the search attributes
// is accepted, or ctx ends.
func waitSearchAttributes(ctx context.Context, c client.Client, namespace string, names []string) error {
	terms := make([]string, len(names))
	for i, n := range names {
		terms[i] = "`" + n + "` IS NULL"
	}
	query := strings.Join(terms, " AND ")
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: namespace, Query: query})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("search attributes %v of %s are not usable: %w", names, namespace, errors.Join(err, ctx.Err()))
		case <-tick.C:
		}
	}
}

// startUI starts the UI and waits until it answers. The UI server ends the
// process when it cannot listen; Start checked the address just before.
func (s *Server) startUI(ctx context.Context) error {
	host, portText, _ := net.SplitHostPort(s.uiAddress)
	port, _ := strconv.Atoi(portText)
	s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
		Host:                host,
		Port:                port,
		TemporalGRPCAddress: s.frontend,
		EnableUI:            true,
		DefaultNamespace:    s.namespace,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		DisableNewsFetch:    true,
	}))
	s.uiDone = make(chan error, 1)
	ui := s.ui
	go func() { s.uiDone <- ui.Start() }()

	url := "http://" + s.uiAddress + "/healthz"
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the temporal UI at %s: %w", s.uiAddress, ctx.Err())
		case err := <-s.uiDone:
			s.uiDone <- err
			return fmt.Errorf("temporal UI at %s stopped: %v", s.uiAddress, err)
		case <-tick.C:
		}
	}
}
