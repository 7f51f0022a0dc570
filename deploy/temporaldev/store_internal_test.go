package temporaldev

import (
	"testing"

	"go.temporal.io/server/common/dynamicconfig"
)

// The pool settings reach the plugin's config of each store, the idle
// ones defaulting to the pools' sizes.
func TestPostgresStoreConfigs_TakeThePoolsOfTheSettings(t *testing.T) {
	cfg := Config{
		PostgresURL: "postgres://u@db.example/postgres",
		Store:       StoreSettings{MaxConns: 12, MaxIdleConns: 5, VisibilityMaxConns: 3},
	}.withDefaults()
	main, visibility, err := postgresStoreConfigs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if main.DatabaseName != DefaultPostgresDatabase || main.MaxConns != 12 || main.MaxIdleConns != 5 {
		t.Errorf("default store %s: %d conns, %d idle; want %s, 12, 5", main.DatabaseName, main.MaxConns, main.MaxIdleConns, DefaultPostgresDatabase)
	}
	if visibility.DatabaseName != DefaultPostgresVisibilityDatabase || visibility.MaxConns != 3 || visibility.MaxIdleConns != 3 {
		t.Errorf("visibility store %s: %d conns, %d idle; want %s, 3, 3", visibility.DatabaseName, visibility.MaxConns, visibility.MaxIdleConns, DefaultPostgresVisibilityDatabase)
	}

	main, visibility, err = postgresStoreConfigs(Config{PostgresURL: "postgres://u@db.example/postgres"}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if main.MaxConns != DefaultPostgresMaxConns || main.MaxIdleConns != DefaultPostgresMaxConns ||
		visibility.MaxConns != DefaultPostgresVisibilityMaxConns || visibility.MaxIdleConns != DefaultPostgresVisibilityMaxConns {
		t.Errorf("defaults: pools %d/%d and %d/%d, want %d/%d and %d/%d", main.MaxConns, main.MaxIdleConns, visibility.MaxConns, visibility.MaxIdleConns,
			DefaultPostgresMaxConns, DefaultPostgresMaxConns, DefaultPostgresVisibilityMaxConns, DefaultPostgresVisibilityMaxConns)
	}
}

// The shard IO concurrency of the settings is the server's
// history.shardIOConcurrency, its default when unset.
func TestTuning_SetsTheShardIOConcurrency(t *testing.T) {
	for _, tc := range []struct{ set, want int }{{0, DefaultShardIOConcurrency}, {6, 6}} {
		cfg := Config{Store: StoreSettings{ShardIOConcurrency: tc.set}}.withDefaults()
		if got := tuning(cfg.Store)[dynamicconfig.ShardIOConcurrency.Key()]; got != tc.want {
			t.Errorf("set %d: history.shardIOConcurrency %v, want %d", tc.set, got, tc.want)
		}
	}
}
