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
	"strings"
	"sync"
	"sync/atomic"
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
	// writers holds the write lock of a SQLite database, which lets one
	// transaction write at a time: the transactions of this process queue
	// for it here, in Go and in the order they came, instead of polling
	// the file's lock from SQLite's busy handler, which sleeps up to 100 ms
	// between tries. nil on PostgreSQL, whose row locks let writers run
	// side by side.
	writers chan struct{}
	// checkpoints runs the WAL checkpoints of a SQLite file; nil
	// otherwise.
	checkpoints *checkpointer
	// commits counts the transactions committed through this DB (see
	// Commits).
	commits atomic.Uint64
}

// Tx is a transaction on a DB.
type Tx struct {
	*sql.Tx
	dialect      Dialect
	beforeCommit []func(context.Context) error
	afterCommit  []func()
	values       map[any]any
}

// AfterCommit registers fn to run once the transaction has committed (never
// when it rolls back), for work such as waking a relay or a waiter.
func (tx *Tx) AfterCommit(fn func()) { tx.afterCommit = append(tx.afterCommit, fn) }

// BeforeCommit registers fn to run inside the transaction once the work
// given to InTx returned without error, just before the commit, in the
// order registered: for writes gathered during the transaction and made in
// one statement at its end, such as outbox rows. An error from fn rolls the
// transaction back and is returned by InTx.
func (tx *Tx) BeforeCommit(fn func(ctx context.Context) error) {
	tx.beforeCommit = append(tx.beforeCommit, fn)
}

// Value returns what SetValue stored under key in this transaction, or nil.
func (tx *Tx) Value(key any) any { return tx.values[key] }

// SetValue stores v under key for the rest of the transaction, for state
// that code running in it shares, such as writes gathered for
// BeforeCommit. Use a key of an unexported type, as for context values.
func (tx *Tx) SetValue(key, v any) {
	if tx.values == nil {
		tx.values = make(map[any]any)
	}
	tx.values[key] = v
}

// Dialect returns the engine of the transaction.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// Dialect returns the engine of the database.
func (db *DB) Dialect() Dialect { return db.dialect }

// Name returns the database's address with any password removed, for logs.
func (db *DB) Name() string { return db.name }

// postgresMaxConns bounds the connections of one PostgreSQL DB. A service
// needs few at once (its consumer's transaction, its relay, the requests
// it serves), and a process of every service of both variants opens eight
// DBs on one server, whose default max_connections is 100: requests beyond
// the bound wait in the pool, for a connection that frees within a
// transaction's time.
const postgresMaxConns = 10

// Open opens the database at dsn and checks that it answers.
//
// A dsn starting with postgres:// or postgresql:// opens PostgreSQL. A dsn
// starting with sqlite: opens SQLite: "sqlite:/path/to/file.db" for a file,
// "sqlite::memory:" for a private in-memory database. SQLite databases run in
// WAL mode and take the write lock when a transaction begins; the
// transactions of one DB queue for it in Go (see InTx), and a busy timeout
// covers writers of other processes, so concurrent writers wait instead of
// failing.
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
			db.SetMaxOpenConns(postgresMaxConns)
			db.SetMaxIdleConns(postgresMaxConns)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
	case strings.HasPrefix(dsn, "sqlite:"):
		dialect = SQLite
		path := strings.TrimPrefix(dsn, "sqlite:")
		memory = path == ":memory:"
		q := "_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
		if !memory {
			// Checkpoints run in the background (see checkpointer), not
			// in the commit that filled the log.
			q += "&_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(0)"
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
		return nil, fmt.Errorf("opening database: unsupported address %q (want postgres://… or sqlite:…)", Redact(dsn))
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s database %s: %w", dialect, Redact(dsn), err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("reaching %s database %s: %w", dialect, Redact(dsn), err)
	}
	out := &DB{DB: db, dialect: dialect, name: Redact(dsn), driver: driver, source: source, memory: memory}
	if dialect == SQLite {
		out.writers = make(chan struct{}, 1)
		if !memory {
			out.checkpoints = startCheckpointer(db)
		}
	}
	return out, nil
}

// Close stops the database's background work and closes it.
func (db *DB) Close() error {
	if db.checkpoints != nil {
		db.checkpoints.stop()
	}
	return db.DB.Close()
}

// maxTxAttempts bounds how often InTx retries a transaction that hit a
// transient conflict.
const maxTxAttempts = 8

// writeLockTimeout bounds how long a SQLite transaction waits for the write
// lock held by another transaction of the same DB, as the busy timeout
// bounds the wait for one held by another process.
const writeLockTimeout = 10 * time.Second

// ErrBusy reports that a SQLite transaction waited writeLockTimeout for the
// write lock in vain. InTx retries it, like any busy database.
var ErrBusy = errors.New("database busy: another transaction held the write lock")

// InTx runs fn in a transaction and commits it when fn returns nil. A
// serialization failure or deadlock (PostgreSQL) or a busy database (SQLite)
// rolls back and runs fn again, up to a bound, so fn must be safe to repeat.
//
// On SQLite the transactions of a DB take its write lock one at a time, in
// the order they asked for it; fn must not start another transaction on
// the same DB. Functions given to Tx.AfterCommit run once the lock is
// released.
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
	if err := db.lockWrites(ctx); err != nil {
		return err
	}
	locked := true
	unlock := func() {
		if locked {
			locked = false
			db.unlockWrites()
		}
	}
	defer unlock() // after the rollback deferred below
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
	for _, f := range tx.beforeCommit {
		if err = f(ctx); err != nil {
			return err
		}
	}
	if err = sqlTx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	db.commits.Add(1)
	unlock()
	if db.checkpoints != nil {
		db.checkpoints.committed()
	}
	for _, f := range tx.afterCommit {
		f()
	}
	return nil
}

// ExecCommit runs one statement in a transaction of its own, which the
// database commits as the statement ends (no BEGIN and COMMIT round trips),
// and counts that commit in Commits when the statement succeeds. Use it,
// not the embedded ExecContext, for a write outside InTx, so that Commits
// keeps counting every write. On SQLite the statement queues for the write
// lock like InTx's transactions; it is not retried.
func (db *DB) ExecCommit(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := db.lockWrites(ctx); err != nil {
		return nil, err
	}
	res, err := db.ExecContext(ctx, query, args...)
	db.unlockWrites()
	if err != nil {
		return nil, err
	}
	db.commits.Add(1)
	if db.checkpoints != nil {
		db.checkpoints.committed()
	}
	return res, nil
}

// Commits returns how many transactions this DB committed since it was
// opened: each InTx that committed (once, however many attempts it took;
// a transaction whose work only read counts too, as the database commits
// it) and each ExecCommit statement that succeeded. Statements run
// through the embedded *sql.DB (ExecContext, QueryContext) outside a
// transaction, and the migrations' transactions, are not counted: reads
// and the schema changes at start. It is the number of commits the
// services asked for, which the database may fold into fewer disk syncs.
func (db *DB) Commits() uint64 { return db.commits.Load() }

// lockWrites takes the write lock of a SQLite database, waiting for it at
// most writeLockTimeout; it does nothing on PostgreSQL.
func (db *DB) lockWrites(ctx context.Context) error {
	if db.writers == nil {
		return nil
	}
	select {
	case db.writers <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(writeLockTimeout)
	defer t.Stop()
	select {
	case db.writers <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the write lock of %s: %w", db.name, ctx.Err())
	case <-t.C:
		return fmt.Errorf("waiting for the write lock of %s: %w", db.name, ErrBusy)
	}
}

// unlockWrites releases what lockWrites took.
func (db *DB) unlockWrites() {
	if db.writers != nil {
		<-db.writers
	}
}

// Retryable reports whether err is a transient conflict that a new attempt
// of the same transaction may not hit.
func Retryable(err error) bool {
	if errors.Is(err, ErrBusy) {
		return true
	}
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

// Checkpoints of a SQLite file. A commit in WAL mode appends pages to the
// log; a checkpoint copies them back into the database file and syncs it.
// SQLite's automatic checkpoint runs inside the commit that filled the log,
// which would hold the DB's write lock (and every queued writer) through
// the file sync; here a goroutine runs them instead, PASSIVE (never
// waiting for readers or writers), after every checkpointEvery commits of
// this DB and every checkpointInterval.
const (
	checkpointEvery    = 500
	checkpointInterval = time.Second
)

// checkpointer runs the WAL checkpoints of one SQLite file.
type checkpointer struct {
	db      *sql.DB
	commits atomic.Int64
	kick    chan struct{}
	quit    chan struct{}
	done    chan struct{}
	once    sync.Once
}

func startCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// committed counts a commit and asks for a checkpoint every
// checkpointEvery commits. It never blocks.
func (c *checkpointer) committed() {
	if c.commits.Add(1)%checkpointEvery != 0 {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	last := int64(0)
	for {
		select {
		case <-c.quit:
			return
		case <-c.kick:
		case <-t.C:
			if c.commits.Load() == last {
				continue // nothing written since the last one
			}
		}
		last = c.commits.Load()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		// An error (the file is busy, or closing) leaves the pages in the
		// log for the next checkpoint.
		_, _ = c.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
		cancel()
	}
}

// stop ends the checkpoints and waits for the one running.
func (c *checkpointer) stop() {
	c.once.Do(func() { close(c.quit) })
	<-c.done
}
