package temporaldev

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	persistenceutil "go.temporal.io/server/common/persistence"
	"go.temporal.io/server/common/persistence/serialization"
	sqlstore "go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/resolver"
)

// Defaults of StoreSettings.
const (
	// DefaultHistoryShards is the number of history shards of a new
	// database. A shard writes its workflows' changes at most
	// ShardIOConcurrency at a time, so one shard made every change on
	// PostgreSQL wait for the commits of the one before it; 4 shards did
	// 2.7 times as many orders/s at 10 clients on PostgreSQL and as many
	// or more on SQLite, 8 and 16 no more on two cores (README.md,
	// "Temporal's persistence").
	DefaultHistoryShards = 4
	// DefaultPostgresMaxConns bounds each PostgreSQL connection pool of the
	// default store: enough for the shards' writes in flight and the
	// queues' reads, and with the visibility pools at most 40 connections
	// for the four services, within PostgreSQL's default max_connections
	// of 100 beside the services' own pools.
	DefaultPostgresMaxConns = 8
	// DefaultPostgresVisibilityMaxConns bounds each PostgreSQL connection
	// pool of the visibility store.
	DefaultPostgresVisibilityMaxConns = 2
	// DefaultShardIOConcurrency is StoreSettings.ShardIOConcurrency's
	// default: 2 did 1.6 times as many orders/s as 1 with 4 shards at 10
	// clients on PostgreSQL, 4 no more (README.md, "Temporal's
	// persistence").
	DefaultShardIOConcurrency = 2
	// MaxHistoryShards is the most history shards a server may be given:
	// each shard has its own queues and timers, which poll the database.
	MaxHistoryShards = 1024
	// MaxPoolConns is the most connections a pool may be given.
	MaxPoolConns = 1000
	// MaxShardIOConcurrency is the most persistence operations in flight
	// a shard may be given.
	MaxShardIOConcurrency = 256
)

// StoreSettings are the persistence settings of the server that bear on its
// throughput. The zero value of a field means its default.
type StoreSettings struct {
	// HistoryShards is the number of history shards. Temporal fixes it
	// when a database is created (it is kept in the cluster metadata, and
	// every workflow's shard is its id's hash modulo the count), so 0 means
	// the count of an existing database, DefaultHistoryShards for a new
	// one; another count than an existing database's is refused
	// (ShardCountError).
	HistoryShards int
	// MaxConns and MaxIdleConns bound each PostgreSQL connection pool of
	// the default store (DefaultPostgresMaxConns, and MaxConns). Each of
	// the server's four services has its own pool, and the history
	// service, which does most of the writes, needs a connection per shard
	// to write to every shard at once.
	MaxConns     int
	MaxIdleConns int
	// VisibilityMaxConns and VisibilityMaxIdleConns bound each PostgreSQL
	// connection pool of the visibility store, a database of its own
	// (DefaultPostgresVisibilityMaxConns, and VisibilityMaxConns).
	VisibilityMaxConns     int
	VisibilityMaxIdleConns int
	// ShardIOConcurrency is how many persistence operations each history
	// shard may have in flight (dynamic config history.shardIOConcurrency,
	// DefaultShardIOConcurrency; Temporal's own default is 1): the
	// writes of different workflows of one shard then overlap, which
	// raises a shard's throughput on a database that commits several
	// transactions at once (PostgreSQL), whatever the count of shards an
	// existing database was created with. DynamicConfig wins over it.
	ShardIOConcurrency int
}

// DefaultStoreSettings returns the defaults of StoreSettings as values
// (for a command's flags): HistoryShards stays 0 (an existing database's
// count, DefaultHistoryShards for a new one), and so do the idle pool
// sizes (as many as the pools' sizes).
func DefaultStoreSettings() StoreSettings {
	return StoreSettings{
		MaxConns:           DefaultPostgresMaxConns,
		VisibilityMaxConns: DefaultPostgresVisibilityMaxConns,
		ShardIOConcurrency: DefaultShardIOConcurrency,
	}
}

// withDefaults returns s with its zero pool sizes set to their defaults;
// HistoryShards stays 0 until the database is known (see historyShards).
func (s StoreSettings) withDefaults() StoreSettings {
	if s.MaxConns <= 0 {
		s.MaxConns = DefaultPostgresMaxConns
	}
	if s.MaxIdleConns <= 0 {
		s.MaxIdleConns = s.MaxConns
	}
	if s.VisibilityMaxConns <= 0 {
		s.VisibilityMaxConns = DefaultPostgresVisibilityMaxConns
	}
	if s.VisibilityMaxIdleConns <= 0 {
		s.VisibilityMaxIdleConns = s.VisibilityMaxConns
	}
	if s.ShardIOConcurrency <= 0 {
		s.ShardIOConcurrency = DefaultShardIOConcurrency
	}
	return s
}

// Problems reports every setting of s that cannot work, naming each by its
// field.
func (s StoreSettings) Problems() []error {
	var errList []error
	if s.HistoryShards < 0 || s.HistoryShards > MaxHistoryShards {
		errList = append(errList, fmt.Errorf("history shards %d is not from 1 to %d (or 0 for the default)", s.HistoryShards, MaxHistoryShards))
	}
	pool := func(name string, n int) {
		if n < 0 || n > MaxPoolConns {
			errList = append(errList, fmt.Errorf("%s %d is not from 1 to %d (or 0 for the default)", name, n, MaxPoolConns))
		}
	}
	pool("max conns", s.MaxConns)
	pool("max idle conns", s.MaxIdleConns)
	pool("visibility max conns", s.VisibilityMaxConns)
	pool("visibility max idle conns", s.VisibilityMaxIdleConns)
	if s.ShardIOConcurrency < 0 || s.ShardIOConcurrency > MaxShardIOConcurrency {
		errList = append(errList, fmt.Errorf("shard IO concurrency %d is not from 1 to %d (or 0 for the default)", s.ShardIOConcurrency, MaxShardIOConcurrency))
	}
	if s.MaxConns > 0 && s.MaxIdleConns > s.MaxConns {
		errList = append(errList, fmt.Errorf("max idle conns %d is above max conns %d", s.MaxIdleConns, s.MaxConns))
	}
	if s.VisibilityMaxConns > 0 && s.VisibilityMaxIdleConns > s.VisibilityMaxConns {
		errList = append(errList, fmt.Errorf("visibility max idle conns %d is above visibility max conns %d", s.VisibilityMaxIdleConns, s.VisibilityMaxConns))
	}
	return errList
}

// ShardCountError is the error of a start asking for another number of
// history shards than its existing database was created with.
type ShardCountError struct {
	// Database names the database (a file or a PostgreSQL database).
	Database string
	// Created is the count the database was created with, Requested the
	// one asked for.
	Created, Requested int
}

func (e *ShardCountError) Error() string {
	return fmt.Sprintf("temporal persistence: %s was created with %d history shards, not %d: Temporal fixes the count when a database is created; "+
		"ask for %d (or 0, the database's own count), or start on a new database to have %d",
		e.Database, e.Created, e.Requested, e.Created, e.Requested)
}

// historyShards returns the number of history shards the server runs
// with: the count the database at main was created with, or for a new
// database the one requested (DefaultHistoryShards when 0). A count
// requested against a database created with another one is a
// ShardCountError. fresh says the database was just created (an
// in-memory one), so there is nothing to read.
func historyShards(ctx context.Context, requested int, main *config.SQL, describe string, fresh bool, logger log.Logger) (int32, error) {
	created := 0
	if !fresh {
		n, err := persistedHistoryShards(ctx, main, logger)
		if err != nil {
			return 0, err
		}
		created = int(n)
	}
	switch {
	case created == 0 && requested == 0:
		return DefaultHistoryShards, nil
	case created == 0:
		return int32(requested), nil
	case requested == 0 || requested == created:
		return int32(created), nil
	default:
		return 0, &ShardCountError{Database: describe, Created: created, Requested: requested}
	}
}

// persistedHistoryShards reads the count of history shards the cluster
// metadata of the database at main records: 0 for a database no server
// has started on yet.
func persistedHistoryShards(ctx context.Context, main *config.SQL, logger log.Logger) (int32, error) {
	serializer := serialization.NewSerializer()
	factory := sqlstore.NewFactory(*main, resolver.NewNoopResolver(), clusterName, logger, metrics.NoopMetricsHandler, serializer)
	defer factory.Close()
	store, err := factory.NewClusterMetadataStore()
	if err != nil {
		return 0, fmt.Errorf("temporal persistence: opening the cluster metadata of %s: %w", main.DatabaseName, err)
	}
	manager := persistenceutil.NewClusterMetadataManagerImpl(store, serializer, clusterName, logger)
	defer manager.Close()
	md, err := manager.GetCurrentClusterMetadata(ctx)
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("temporal persistence: reading the cluster metadata of %s: %w", main.DatabaseName, err)
	}
	return md.GetHistoryShardCount(), nil
}

// runningHistoryShards asks the frontend how many history shards the
// cluster runs with.
func runningHistoryShards(ctx context.Context, frontend string) (int32, error) {
	c, err := client.DialContext(ctx, client.Options{HostPort: frontend, Logger: quietSDKLogger{}})
	if err != nil {
		return 0, fmt.Errorf("connecting to temporal at %s: %w", frontend, err)
	}
	defer c.Close()
	info, err := c.WorkflowService().GetClusterInfo(ctx, &workflowservice.GetClusterInfoRequest{})
	if err != nil {
		return 0, fmt.Errorf("temporal cluster info: %w", err)
	}
	return info.GetHistoryShardCount(), nil
}
