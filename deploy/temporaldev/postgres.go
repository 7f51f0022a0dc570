package temporaldev

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	persistenceutil "go.temporal.io/server/common/persistence"
	sqlstore "go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/common/resolver"
	dbschema "go.temporal.io/server/schema"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Defaults of the PostgreSQL persistence (Config.PostgresURL).
const (
	DefaultPostgresDatabase           = "temporal"
	DefaultPostgresVisibilityDatabase = "temporal_visibility"
)

// The embedded schemas of the two PostgreSQL databases.
const (
	postgresSchema           = "postgresql/v12/temporal"
	postgresVisibilitySchema = "postgresql/v12/visibility"
)

// namespaceRetention is how long the namespace registered on PostgreSQL
// keeps closed workflows, as the one created in SQLite does.
const namespaceRetention = 24 * time.Hour

// searchAttributesWait bounds the wait for a new namespace or new search
// attributes to be usable: the frontend's namespace cache refreshes every
// few seconds.
const searchAttributesWait = 15 * time.Second

// postgresDatabaseName is what a database name may be: a lower-case
// identifier, so that it needs no quoting in any statement.
var postgresDatabaseName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// stores are the data stores of the server's persistence config.
type stores struct {
	dataStores      map[string]config.DataStore
	defaultStore    string
	visibilityStore string
	describe        string
	// database names the default store's database, for errors.
	database string
	// fresh says the default store was just created empty (in memory).
	fresh bool
}

// sqliteStores are the SQLite stores of persistence: the default store and
// the visibility store, a database of its own unless an older file keeps
// both (see persistence).
func sqliteStores(cfg Config) (stores, error) {
	conf, visibility, err := persistence(cfg)
	if err != nil {
		return stores{}, err
	}
	describe := "SQLite (in memory)"
	if cfg.DatabaseFile != "" {
		describe = "SQLite (file)"
	}
	st := stores{
		dataStores:   map[string]config.DataStore{"sqlite": {SQL: conf}},
		defaultStore: "sqlite", visibilityStore: "sqlite",
		describe: describe,
		database: "SQLite file " + cfg.DatabaseFile,
		fresh:    cfg.DatabaseFile == "",
	}
	if visibility != conf {
		st.dataStores["sqlite-visibility"] = config.DataStore{SQL: visibility}
		st.visibilityStore = "sqlite-visibility"
	}
	return st, nil
}

// postgresStores creates the two PostgreSQL databases when missing, sets up
// or updates their schemas, and returns them as the default and the
// visibility store (plugin postgres12_pgx).
func postgresStores(ctx context.Context, cfg Config, logger log.Logger) (stores, error) {
	main, visibility, err := postgresStoreConfigs(cfg)
	if err != nil {
		return stores{}, err
	}
	if err := createDatabases(ctx, cfg.PostgresURL, main.DatabaseName, visibility.DatabaseName); err != nil {
		return stores{}, err
	}
	if err := setupSchema(main, sqlplugin.DbKindMain, postgresSchema, logger); err != nil {
		return stores{}, err
	}
	if err := setupSchema(visibility, sqlplugin.DbKindVisibility, postgresVisibilitySchema, logger); err != nil {
		return stores{}, err
	}
	return stores{
		dataStores:   map[string]config.DataStore{"postgres": {SQL: main}, "postgres-visibility": {SQL: visibility}},
		defaultStore: "postgres", visibilityStore: "postgres-visibility",
		describe: fmt.Sprintf("PostgreSQL at %s (databases %s, %s)", main.ConnectAddr, main.DatabaseName, visibility.DatabaseName),
		database: "PostgreSQL database " + main.DatabaseName,
	}, nil
}

// postgresStoreConfigs returns the PostgreSQL stores of cfg: the default
// store with the pools of cfg.Store.MaxConns and MaxIdleConns, and the
// visibility store, a database of its own, with those of
// cfg.Store.VisibilityMaxConns and VisibilityMaxIdleConns.
func postgresStoreConfigs(cfg Config) (main, visibility *config.SQL, err error) {
	if cfg.DatabaseFile != "" {
		return nil, nil, errors.New("temporal persistence: both a SQLite file and a PostgreSQL URL are set")
	}
	main, err = postgresConfig(cfg.PostgresURL, cfg.PostgresDatabase, cfg.Store.MaxConns, cfg.Store.MaxIdleConns)
	if err != nil {
		return nil, nil, err
	}
	visibility, err = postgresConfig(cfg.PostgresURL, cfg.PostgresVisibilityDatabase, cfg.Store.VisibilityMaxConns, cfg.Store.VisibilityMaxIdleConns)
	if err != nil {
		return nil, nil, err
	}
	if main.DatabaseName == visibility.DatabaseName {
		return nil, nil, fmt.Errorf("temporal persistence: the main and the visibility database are both %s", main.DatabaseName)
	}
	return main, visibility, nil
}

// postgresConfig returns the PostgreSQL store of one database on the
// server at rawURL, each of its pools holding at most maxConns
// connections, maxIdle of them kept idle. Errors never quote the URL: it
// may hold a password.
//
// The store's plugin is postgres12_pgx, Temporal's PostgreSQL plugin on the
// pgx driver, not postgres12 (the same tables, on lib/pq): lib/pq sends a
// statement with parameters in two round trips, one to describe it and one
// to run it, and outside a transaction each of them is a transaction of its
// own, where pgx runs it in one (its statements prepared once per
// connection). A no-op workflow took 47 transactions instead of 84.
func postgresConfig(rawURL, database string, maxConns, maxIdle int) (*config.SQL, error) {
	if !postgresDatabaseName.MatchString(database) {
		return nil, fmt.Errorf("temporal persistence: database name %q is not a lower-case identifier", database)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Hostname() == "" {
		return nil, errors.New("temporal persistence: the PostgreSQL URL is not postgres://host[:port]/…")
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	conf := &config.SQL{
		PluginName:      postgresql.PluginNamePGX,
		DatabaseName:    database,
		ConnectAddr:     net.JoinHostPort(u.Hostname(), port),
		ConnectProtocol: "tcp",
		User:            u.User.Username(),
		MaxConns:        maxConns,
		// By default as many idle as open connections: a busy pool would
		// otherwise open and close connections all the time.
		MaxIdleConns:      maxIdle,
		MaxConnLifetime:   time.Hour,
		ConnectAttributes: map[string]string{},
	}
	conf.Password, _ = u.User.Password()
	for key, values := range u.Query() {
		// pool_* are settings of pgx's pool, not of the connection.
		if len(values) > 0 && !strings.HasPrefix(key, "pool_") {
			conf.ConnectAttributes[key] = values[0]
		}
	}
	return conf, nil
}

// createDatabases creates the named databases that are missing, connected
// to the database of rawURL. A concurrent creation is not an error.
func createDatabases(ctx context.Context, rawURL string, names ...string) error {
	admin, err := sqldb.Open(ctx, rawURL)
	if err != nil {
		return fmt.Errorf("temporal persistence: connecting to create the databases: %w", err)
	}
	defer admin.Close()
	for _, name := range names {
		var exists bool
		if err := admin.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
			return fmt.Errorf("temporal persistence: looking up database %s: %w", name, err)
		}
		if exists {
			continue
		}
		// The name is a checked lower-case identifier.
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			var pgErr *pgconn.PgError
			// duplicate_database, or unique_violation on pg_database when
			// two creations race past the lookup.
			if errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") {
				continue
			}
			return fmt.Errorf("temporal persistence: creating database %s: %w", name, err)
		}
	}
	return nil
}

// setupSchema brings the database of conf to the schema embedded in the
// server module, as the server's schema tool would: an empty database gets
// the whole schema at the server's version, one set up before gets the
// versioned updates it lacks (none when it is current). The whole schema
// goes in one multi-statement Exec, which PostgreSQL runs as one
// transaction; the updates go statement by statement, as some of them
// (CREATE INDEX CONCURRENTLY) cannot run in a transaction.
func setupSchema(conf *config.SQL, kind sqlplugin.DbKind, schemaName string, logger log.Logger) error {
	db, err := sqlstore.NewSQLAdminDB(kind, conf, resolver.NewNoopResolver(), logger, metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("temporal persistence: connecting to database %s: %w", conf.DatabaseName, err)
	}
	defer db.Close()
	name := conf.DatabaseName
	current, readErr := db.ReadSchemaVersion(name)
	if readErr != nil {
		tables, err := db.ListTables(name)
		if err != nil {
			return fmt.Errorf("temporal persistence: listing the tables of %s: %w", name, err)
		}
		if slices.ContainsFunc(tables, func(t string) bool { return t != "schema_version" && t != "schema_update_history" }) {
			return fmt.Errorf("temporal persistence: database %s has tables but no schema version (%v): drop it to start afresh", name, readErr)
		}
		return setupFullSchema(db, name, schemaName)
	}
	return updateSchema(db, name, schemaName, current)
}

// setupFullSchema creates the whole schema in an empty database and
// records its version.
func setupFullSchema(db sqlplugin.AdminDB, name, schemaName string) error {
	stmts, err := fs.ReadFile(dbschema.Assets(), path.Join(schemaName, "schema.sql"))
	if err != nil {
		return fmt.Errorf("temporal persistence: reading schema %s: %w", schemaName, err)
	}
	if err := db.Exec(string(stmts)); err != nil {
		return fmt.Errorf("temporal persistence: creating schema %s in %s: %w", schemaName, name, err)
	}
	version := db.ExpectedVersion()
	return recordVersion(db, name, "0", version, version, "initial version")
}

// manifest is what a versioned update of an embedded schema holds.
type manifest struct {
	CurrVersion          string
	MinCompatibleVersion string
	Description          string
	SchemaUpdateCqlFiles []string
}

// updateSchema applies, in order, the versioned updates of the schema
// after current, up to the server's version.
func updateSchema(db sqlplugin.AdminDB, name, schemaName, current string) error {
	target := db.ExpectedVersion()
	if compareVersions(current, target) >= 0 {
		return nil
	}
	dir := path.Join(schemaName, "versioned")
	entries, err := fs.ReadDir(dbschema.Assets(), dir)
	if err != nil {
		return fmt.Errorf("temporal persistence: reading the updates of %s: %w", schemaName, err)
	}
	var versions []string
	for _, e := range entries {
		v, ok := strings.CutPrefix(e.Name(), "v")
		if e.IsDir() && ok && compareVersions(v, current) > 0 && compareVersions(v, target) <= 0 {
			versions = append(versions, v)
		}
	}
	slices.SortFunc(versions, compareVersions)
	for _, v := range versions {
		raw, err := fs.ReadFile(dbschema.Assets(), path.Join(dir, "v"+v, "manifest.json"))
		if err != nil {
			return fmt.Errorf("temporal persistence: reading update %s of %s: %w", v, schemaName, err)
		}
		var m manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("temporal persistence: reading update %s of %s: %w", v, schemaName, err)
		}
		files := make([]io.Reader, 0, len(m.SchemaUpdateCqlFiles))
		for _, f := range m.SchemaUpdateCqlFiles {
			b, err := fs.ReadFile(dbschema.Assets(), path.Join(dir, "v"+v, f))
			if err != nil {
				return fmt.Errorf("temporal persistence: reading update %s of %s: %w", v, schemaName, err)
			}
			files = append(files, bytes.NewReader(b))
		}
		stmts, err := persistenceutil.LoadAndSplitQueryFromReaders(files)
		if err != nil {
			return fmt.Errorf("temporal persistence: reading update %s of %s: %w", v, schemaName, err)
		}
		for _, stmt := range stmts {
			if err := db.Exec(stmt); err != nil {
				return fmt.Errorf("temporal persistence: updating %s to %s: %w", name, v, err)
			}
		}
		if err := recordVersion(db, name, current, v, m.MinCompatibleVersion, m.Description); err != nil {
			return err
		}
		current = v
	}
	return nil
}

// recordVersion records that database name is at version to.
func recordVersion(db sqlplugin.AdminDB, name, from, to, minCompatible, description string) error {
	if err := db.CreateSchemaVersionTables(); err != nil {
		return fmt.Errorf("temporal persistence: creating the version tables of %s: %w", name, err)
	}
	if err := db.UpdateSchemaVersion(name, to, minCompatible); err != nil {
		return fmt.Errorf("temporal persistence: recording version %s of %s: %w", to, name, err)
	}
	if err := db.WriteSchemaUpdateLog(from, to, "", description); err != nil {
		return fmt.Errorf("temporal persistence: logging the update of %s to %s: %w", name, to, err)
	}
	return nil
}

// compareVersions compares two schema versions such as "1.9" and "1.19"
// part by part, as numbers; a part that is not a number counts as 0.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// ensurePostgresNamespace registers the namespace through the frontend
// when missing, adds the search attributes it lacks, and waits until the
// frontend accepts them in a query: its namespace cache, which a new
// namespace and new search attributes have to reach, refreshes every few
// seconds.
func ensurePostgresNamespace(ctx context.Context, frontend, namespace string, want map[string]enumspb.IndexedValueType) error {
	c, err := client.DialContext(ctx, client.Options{HostPort: frontend, Namespace: namespace, Logger: quietSDKLogger{}})
	if err != nil {
		return fmt.Errorf("connecting to temporal at %s: %w", frontend, err)
	}
	defer c.Close()
	if err := registerNamespace(ctx, c.WorkflowService(), namespace); err != nil {
		return err
	}
	if err := waitUsable(ctx, func(ctx context.Context) error {
		_, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
		return err
	}); err != nil {
		return fmt.Errorf("namespace %s: %w", namespace, err)
	}
	if err := ensureSearchAttributes(ctx, frontend, namespace, want); err != nil {
		return err
	}
	names := slices.Sorted(maps.Keys(want))
	if len(names) == 0 {
		return nil
	}
	terms := make([]string, len(names))
	for i, n := range names {
		terms[i] = "`" + n + "` IS NULL"
	}
	query := strings.Join(terms, " AND ")
	if err := waitUsable(ctx, func(ctx context.Context) error {
		_, err := c.WorkflowService().CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: namespace, Query: query})
		return err
	}); err != nil {
		return fmt.Errorf("search attributes %v of namespace %s: %w", names, namespace, err)
	}
	return nil
}

// registerNamespace registers the namespace unless it exists.
func registerNamespace(ctx context.Context, svc workflowservice.WorkflowServiceClient, namespace string) error {
	_, err := svc.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	var notFound *serviceerror.NamespaceNotFound
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &notFound):
		return fmt.Errorf("describing namespace %s: %w", namespace, err)
	}
	_, err = svc.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        namespace,
		WorkflowExecutionRetentionPeriod: durationpb.New(namespaceRetention),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("registering namespace %s: %w", namespace, err)
	}
	return nil
}

// waitUsable calls check until it succeeds, for at most
// searchAttributesWait.
func waitUsable(ctx context.Context, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, searchAttributesWait)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not usable within %v: %w", searchAttributesWait, err)
		case <-tick.C:
		}
	}
}
