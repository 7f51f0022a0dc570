// Package sqldb opens the services' databases (PostgreSQL through pgx, or
// SQLite through the pure-Go modernc driver), applies their embedded
// golang-migrate migrations, and runs transactions with retry on the
// transient conflicts each engine reports. SQL written for this package uses
// $1, $2 … placeholders, which both engines accept.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect is the SQL engine behind a DB.
type Dialect string

// The supported engines.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DB is an open database of one service.
type DB struct {
	*sql.DB
	dialect Dialect
	name    string
	driver  string // database/sql driver name
	source  string // data source name given to the driver
	memory  bool   // a private in-memory SQLite database
}

// Tx is a transaction on a DB.
type Tx struct {
	*sql.Tx
	dialect     Dialect
	afterCommit []func()
}

// AfterCommit registers fn to run once the transaction has committed (never
// when it rolls back), for work such as waking a relay or a waiter.
func (tx *Tx) AfterCommit(fn func()) { tx.afterCommit = append(tx.afterCommit, fn) }

// Dialect returns the engine of the transaction.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// Dialect returns the engine of the database.
func (db *DB) Dialect() Dialect { return db.dialect }

// Name returns the database's address with any password removed, for logs.
func (db *DB) Name() string { return db.name }

// Open opens the database at dsn and checks that it answers.
//
// A dsn starting with postgres:// or postgresql:// opens PostgreSQL. A dsn
// starting with sqlite: opens SQLite: "sqlite:/path/to/file.db" for a file,
// "sqlite::memory:" for a private in-memory database. SQLite databases run in
// WAL mode with a busy timeout and take the write lock when a transaction
// begins, so concurrent writers queue instead of failing.
func Open(ctx context.Context, dsn string) (*DB, error) {
	var (
		db      *sql.DB
		dialect Dialect
		driver  string
		source  string
		memory  bool
		err     error
	)
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		dialect, driver, source = Postgres, "pgx", dsn
		db, err = sql.Open(driver, source)
		if err == nil {
			db.SetMaxOpenConns(32)
			db.SetMaxIdleConns(32)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
	case strings.HasPrefix(dsn, "sqlite:"):
		dialect = SQLite
		path := strings.TrimPrefix(dsn, "sqlite:")
		memory = path == ":memory:"
		q := "_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
		if !memory {
			q += "&_pragma=journal_mode(WAL)"
		}
		driver, source = "sqlite", "file:"+path+"?"+q
		db, err = sql.Open(driver, source)
		if err == nil {
			if memory { // each connection to :memory: is a database of its own
				db.SetMaxOpenConns(1)
			} else {
				db.SetMaxOpenConns(8)
			}
			db.SetConnMaxIdleTime(0)
		}
	default:
		return nil, fmt.Errorf("opening database: unsupported address %q (want postgres://… or sqlite:…)", redact(dsn))
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s database %s: %w", dialect, redact(dsn), err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("reaching %s database %s: %w", dialect, redact(dsn), err)
	}
	return &DB{DB: db, dialect: dialect, name: redact(dsn), driver: driver, source: source, memory: memory}, nil
}

// redact removes a password from a database address.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// maxTxAttempts bounds how often InTx retries a transaction that hit a
// transient conflict.
const maxTxAttempts = 8

// InTx runs fn in a transaction and commits it when fn returns nil. A
// serialization failure or deadlock (PostgreSQL) or a busy database (SQLite)
// rolls back and runs fn again, up to a bound, so fn must be safe to repeat.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	backoff := 2 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := db.inTxOnce(ctx, fn)
		if err == nil || !Retryable(err) || attempt == maxTxAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("retrying transaction: %w", ctx.Err())
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

func (db *DB) inTxOnce(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlTx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	tx := &Tx{Tx: sqlTx, dialect: db.dialect}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = sqlTx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = sqlTx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	for _, f := range tx.afterCommit {
		f()
	}
	return nil
}

// Retryable reports whether err is a transient conflict that a new attempt
// of the same transaction may not hit.
func Retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return true
		}
		return false
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}

// IsUniqueViolation reports whether err is a violated unique or primary key
// constraint.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		return sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	}
	return false
}
