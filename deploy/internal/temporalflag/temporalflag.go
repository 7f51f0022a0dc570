// Package temporalflag holds the persistence settings of the embedded
// Temporal server that the commands starting one share (`ordersaga run`,
// `ordersaga bench`): the number of history shards, the persistence
// operations in flight per shard, and the PostgreSQL connection pools of
// its default and its visibility store.
package temporalflag

import (
	"fmt"
	"strconv"

	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
)

// The flags of the settings, by the setting.
const (
	HistoryShardsFlag          = "temporal-history-shards"
	ShardIOConcurrencyFlag     = "temporal-shard-io-concurrency"
	MaxConnsFlag               = "temporal-max-conns"
	MaxIdleConnsFlag           = "temporal-max-idle-conns"
	VisibilityMaxConnsFlag     = "temporal-visibility-max-conns"
	VisibilityMaxIdleConnsFlag = "temporal-visibility-max-idle-conns"
)

// Vars returns the settings bound to s, whose values are their defaults
// (temporaldev.DefaultStoreSettings).
func Vars(s *temporaldev.StoreSettings) []envflag.Var {
	return []envflag.Var{
		{Name: HistoryShardsFlag, Usage: "`number` of history shards of the embedded Temporal server, fixed when its database is created: 0 keeps an existing database's own count and gives a new one " +
			strconv.Itoa(temporaldev.DefaultHistoryShards) + "; another count than an existing database's is refused", Value: envflag.Int(&s.HistoryShards)},
		{Name: ShardIOConcurrencyFlag, Usage: "`number` of persistence operations each history shard of the embedded Temporal server may have in flight (Temporal's history.shardIOConcurrency)", Value: envflag.Int(&s.ShardIOConcurrency)},
		{Name: MaxConnsFlag, Usage: "most `connections` of each PostgreSQL pool of the embedded Temporal server's default store (each Temporal service has one)", Value: envflag.Int(&s.MaxConns)},
		{Name: MaxIdleConnsFlag, Usage: "most idle `connections` kept by each PostgreSQL pool of the embedded Temporal server's default store; 0: as many as -" + MaxConnsFlag, Value: envflag.Int(&s.MaxIdleConns)},
		{Name: VisibilityMaxConnsFlag, Usage: "most `connections` of each PostgreSQL pool of the embedded Temporal server's visibility store (a database of its own)", Value: envflag.Int(&s.VisibilityMaxConns)},
		{Name: VisibilityMaxIdleConnsFlag, Usage: "most idle `connections` kept by each PostgreSQL pool of the embedded Temporal server's visibility store; 0: as many as -" + VisibilityMaxConnsFlag, Value: envflag.Int(&s.VisibilityMaxIdleConns)},
	}
}

// Problems reports every setting of s that cannot work, by its flag.
func Problems(s temporaldev.StoreSettings) []error {
	var errList []error
	bounded := func(flag string, n, most int) {
		if n < 0 || n > most {
			errList = append(errList, fmt.Errorf("-%s %d is not from 1 to %d (or 0 for the default)", flag, n, most))
		}
	}
	bounded(HistoryShardsFlag, s.HistoryShards, temporaldev.MaxHistoryShards)
	bounded(ShardIOConcurrencyFlag, s.ShardIOConcurrency, temporaldev.MaxShardIOConcurrency)
	bounded(MaxConnsFlag, s.MaxConns, temporaldev.MaxPoolConns)
	bounded(MaxIdleConnsFlag, s.MaxIdleConns, temporaldev.MaxPoolConns)
	bounded(VisibilityMaxConnsFlag, s.VisibilityMaxConns, temporaldev.MaxPoolConns)
	bounded(VisibilityMaxIdleConnsFlag, s.VisibilityMaxIdleConns, temporaldev.MaxPoolConns)
	idle := func(idleFlag string, idle int, maxFlag string, most int) {
		if most > 0 && idle > most {
			errList = append(errList, fmt.Errorf("-%s %d is above -%s %d", idleFlag, idle, maxFlag, most))
		}
	}
	idle(MaxIdleConnsFlag, s.MaxIdleConns, MaxConnsFlag, s.MaxConns)
	idle(VisibilityMaxIdleConnsFlag, s.VisibilityMaxIdleConns, VisibilityMaxConnsFlag, s.VisibilityMaxConns)
	return errList
}
