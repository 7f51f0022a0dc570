package temporaldev

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	sqlstore "go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/resolver"

	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

func TestPostgresConfig_SplitsTheURLIntoThePluginSettings(t *testing.T) {
	conf, err := postgresConfig("postgres://ada:s3cret@db.example:6432/admin?sslmode=require&pool_max_conns=4", "temporal", 7, 3)
	if err != nil {
		t.Fatal(err)
	}
	if conf.PluginName != "postgres12_pgx" || conf.ConnectAddr != "db.example:6432" || conf.DatabaseName != "temporal" ||
		conf.User != "ada" || conf.Password != "s3cret" || conf.MaxConns != 7 || conf.MaxIdleConns != 3 {
		t.Errorf("config %+v", conf)
	}
	if len(conf.ConnectAttributes) != 1 || conf.ConnectAttributes["sslmode"] != "require" {
		t.Errorf("connect attributes %v, want only sslmode=require", conf.ConnectAttributes)
	}

	conf, err = postgresConfig("postgresql://127.0.0.1/postgres", "t", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if conf.ConnectAddr != "127.0.0.1:5432" || conf.User != "" || conf.Password != "" {
		t.Errorf("without port and user: %+v", conf)
	}
}

func TestPostgresConfig_BadURLOrName_RefusedWithoutThePassword(t *testing.T) {
	for _, tc := range []struct{ url, database string }{
		{"mysql://u:s3cret@h/db", "temporal"},
		{"postgres://u:s3cret@/db", "temporal"},
		{"postgres://u:s3cret@h:x:y/db", "temporal"},
		{"postgres://u:s3cret@h/db", "Temporal"},
		{"postgres://u:s3cret@h/db", "temporal; DROP"},
	} {
		_, err := postgresConfig(tc.url, tc.database, 1, 1)
		if err == nil {
			t.Errorf("%s, %s: accepted", tc.url, tc.database)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %q shows the password", err)
		}
	}
}

func TestCompareVersions_ComparesPartsAsNumbers(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.9", "1.19", -1}, {"1.19", "1.19", 0}, {"1.2", "1.10", -1}, {"2.0", "1.99", 1}, {"0.0", "1.0", -1}, {"1.1", "1.1.0", 0},
	} {
		if got := compareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("compareVersions(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestSetupSchema_FromVersionZero_HasTheFullSchema checks the update path:
// a database recorded at version 0.0 that gets every versioned update ends
// with every column of one set up from the full schema (and may keep
// tables the full schema no longer has).
func TestSetupSchema_FromVersionZero_HasTheFullSchema(t *testing.T) {
	for _, tc := range []struct {
		kind   sqlplugin.DbKind
		schema string
	}{
		{sqlplugin.DbKindMain, postgresSchema},
		{sqlplugin.DbKindVisibility, postgresVisibilitySchema},
	} {
		t.Run(tc.schema, func(t *testing.T) {
			full := postgresTestConfig(t)
			if err := setupSchema(full, tc.kind, tc.schema, log.NewNoopLogger()); err != nil {
				t.Fatalf("full setup: %v", err)
			}
			updated := postgresTestConfig(t)
			admin, err := sqlstore.NewSQLAdminDB(tc.kind, updated, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
			if err != nil {
				t.Fatal(err)
			}
			err = recordVersion(admin, updated.DatabaseName, "0", "0.0", "0.0", "empty")
			admin.Close()
			if err != nil {
				t.Fatalf("recording version 0.0: %v", err)
			}
			if err := setupSchema(updated, tc.kind, tc.schema, log.NewNoopLogger()); err != nil {
				t.Fatalf("update from 0.0: %v", err)
			}
			// Once more: nothing left to do.
			if err := setupSchema(updated, tc.kind, tc.schema, log.NewNoopLogger()); err != nil {
				t.Fatalf("second update: %v", err)
			}
			want, got := columns(t, full), columns(t, updated)
			if len(want) < 10 {
				t.Fatalf("the full schema has only %d columns: %v", len(want), want)
			}
			if missing := minus(want, got); len(missing) > 0 {
				t.Errorf("columns of the full schema missing after the updates: %v", missing)
			}
			if extra := minus(got, want); len(extra) > 0 {
				t.Logf("columns the updates left that the full schema lacks: %v", extra)
			}
		})
	}
}

// postgresTestConfig returns the postgres12 store of a fresh database that
// is dropped when the test ends.
func postgresTestConfig(t *testing.T) *config.SQL {
	t.Helper()
	dsn := sqltest.DSN(t, sqldb.Postgres)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := postgresConfig(dsn, strings.TrimPrefix(u.Path, "/"), 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

// columns lists the table.column:type of the public schema of a database.
func columns(t *testing.T, conf *config.SQL) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, _ := url.Parse(sqltest.PostgresURL())
	u.Path = "/" + conf.DatabaseName
	db, err := sqldb.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT table_name || '.' || column_name || ':' || data_type FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name NOT IN ('schema_version', 'schema_update_history') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return cols
}

// minus returns the elements of a not in b.
func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
