// Package sqltest gives tests a fresh, migrated database of each engine:
// a SQLite file in the test's temporary folder, and a PostgreSQL database
// created for the test and dropped after it.
//
// The PostgreSQL server is found at $ORDERSAGA_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable). When it does
// not answer, PostgreSQL tests are skipped on a developer's machine and fail
// when $CI is set, so CI never passes without them.
package sqltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// DefaultPostgresURL is the server used when $ORDERSAGA_TEST_POSTGRES is
// not set.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Dialects returns the engines every store test runs on.
func Dialects() []sqldb.Dialect { return []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} }

// PostgresURL returns the address of the test PostgreSQL server.
func PostgresURL() string {
	if u := os.Getenv("ORDERSAGA_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// Each runs fn as a subtest named after each engine, each on a fresh
// database with ms applied.
func Each(t *testing.T, ms []sqldb.Migrations, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d, ms...))
		})
	}
}

// Open returns a fresh database of the engine with ms applied, closed (and
// on PostgreSQL dropped) when the test ends.
func Open(tb testing.TB, d sqldb.Dialect, ms ...sqldb.Migrations) *sqldb.DB {
	tb.Helper()
	dsn := DSN(tb, d)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		tb.Fatalf("opening test database: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	for _, m := range ms {
		if err := db.Migrate(ctx, m); err != nil {
			tb.Fatalf("migrating test database: %v", err)
		}
	}
	return db
}

// DSN returns the address of a fresh, empty database of the engine that
// lives as long as the test.
func DSN(tb testing.TB, d sqldb.Dialect) string {
	tb.Helper()
	switch d {
	case sqldb.SQLite:
		return "sqlite:" + filepath.Join(tb.TempDir(), "test.db")
	case sqldb.Postgres:
		return freshPostgres(tb)
	}
	tb.Fatalf("unknown dialect %q", d)
	return ""
}

// Server returns the test PostgreSQL server's address (PostgresURL),
// skipping the test when it does not answer and failing it on CI, where
// PostgreSQL tests must run.
func Server(tb testing.TB) string {
	tb.Helper()
	base := PostgresURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sqldb.Open(ctx, base)
	if err == nil {
		err = db.PingContext(ctx)
		db.Close()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("PostgreSQL is required on CI: %v", err)
		}
		tb.Skipf("PostgreSQL not reachable (set ORDERSAGA_TEST_POSTGRES): %v", err)
	}
	return base
}

func freshPostgres(tb testing.TB) string {
	tb.Helper()
	base := Server(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sqldb.Open(ctx, base)
	if err != nil {
		tb.Fatalf("connecting to PostgreSQL: %v", err)
	}
	defer admin.Close()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("naming test database: %v", err)
	}
	name := "ordersaga_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("creating test database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := sqldb.Open(ctx, base)
		if err != nil {
			tb.Errorf("dropping test database %s: %v", name, err)
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("dropping test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parsing %s: %v", base, err)
	}
	u.Path = "/" + name
	return u.String()
}

// MustExec runs statements on db, failing the test on error.
func MustExec(tb testing.TB, db *sqldb.DB, stmts ...string) {
	tb.Helper()
	for _, s := range stmts {
		if _, err := db.ExecContext(context.Background(), s); err != nil {
			tb.Fatalf("exec %q: %v", s, err)
		}
	}
}

// Name describes a database for test output.
func Name(db *sqldb.DB) string { return fmt.Sprintf("%s %s", db.Dialect(), db.Name()) }
