package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	"github.com/golang-migrate/migrate/v4/database/pgx/v5"
	msqlite "github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/golang-migrate/migrate/v4/source/iofs"
)

// Migrations is one service's numbered golang-migrate migrations: a folder
// of NNNN_name.up.sql and NNNN_name.down.sql files valid on both engines.
type Migrations struct {
	// Service names the migration history, so several services could share
	// one database without their histories colliding.
	Service string
	FS      fs.FS
	Dir     string
}

// Migrate applies every migration not yet applied. It is safe to run at
// every start and from several processes at once on PostgreSQL (golang-migrate
// takes an advisory lock).
func (db *DB) Migrate(ctx context.Context, m Migrations) error {
	mg, done, err := db.migrator(ctx, m)
	if err != nil {
		return err
	}
	defer done()
	if err := mg.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrating %s database %s: %w", m.Service, db.name, err)
	}
	return nil
}

// MigrateDown reverts every migration of m.
func (db *DB) MigrateDown(ctx context.Context, m Migrations) error {
	mg, done, err := db.migrator(ctx, m)
	if err != nil {
		return err
	}
	defer done()
	if err := mg.Down(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("reverting %s database %s: %w", m.Service, db.name, err)
	}
	return nil
}

// MigrationVersion returns the applied version of m and whether the last
// migration failed half-way.
func (db *DB) MigrationVersion(ctx context.Context, m Migrations) (version uint, dirty bool, err error) {
	mg, done, err := db.migrator(ctx, m)
	if err != nil {
		return 0, false, err
	}
	defer done()
	v, d, err := mg.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("reading %s migration version: %w", m.Service, err)
	}
	return v, d, nil
}

// Latest returns the highest version among m's migrations: the version a
// database needs to be at for this binary.
func (m Migrations) Latest() (uint, error) {
	src, err := iofs.New(m.FS, m.Dir)
	if err != nil {
		return 0, fmt.Errorf("reading %s migrations: %w", m.Service, err)
	}
	defer src.Close()
	v, err := src.First()
	if err != nil {
		return 0, fmt.Errorf("reading %s migrations: %w", m.Service, err)
	}
	for {
		next, err := src.Next(v)
		if errors.Is(err, fs.ErrNotExist) {
			return v, nil
		}
		if err != nil {
			return 0, fmt.Errorf("reading %s migrations after version %d: %w", m.Service, v, err)
		}
		v = next
	}
}

// SchemaVersionError says a database is not at the version of a set of
// migrations that this binary needs: older (never migrated is version 0),
// or dirty (a migration failed half-way).
type SchemaVersionError struct {
	// Database is the database's name (Name: its address without a
	// password).
	Database string
	// Service names the set of migrations (Migrations.Service).
	Service string
	// Version is the database's version of the set, Latest the version
	// this binary needs.
	Version, Latest uint
	// Dirty says the migration to Version failed half-way.
	Dirty bool
}

func (e *SchemaVersionError) Error() string {
	if e.Dirty {
		return fmt.Sprintf("database %s is dirty at schema version %d of %s (that migration failed half-way; repair it, then migrate), this binary needs %d",
			e.Database, e.Version, e.Service, e.Latest)
	}
	return fmt.Sprintf("database %s is at schema version %d of %s, this binary needs %d", e.Database, e.Version, e.Service, e.Latest)
}

// CheckVersion returns nil when db has every migration of m applied: its
// version of m is m's latest, or a later one (a newer binary migrated it
// first, as in a rolling upgrade), and not dirty. Otherwise it returns a
// *SchemaVersionError. It only reads the database: unlike Migrate and
// MigrationVersion it neither creates the version table nor takes
// golang-migrate's lock, so it works for a user that may not change the
// schema.
func (db *DB) CheckVersion(ctx context.Context, m Migrations) error {
	latest, err := m.Latest()
	if err != nil {
		return err
	}
	version, dirty, err := db.appliedVersion(ctx, m)
	if err != nil {
		return err
	}
	if dirty || version < latest {
		return &SchemaVersionError{Database: db.name, Service: m.Service, Version: version, Latest: latest, Dirty: dirty}
	}
	return nil
}

// appliedVersion reads m's version table as golang-migrate writes it; a
// database without the table is at version 0.
func (db *DB) appliedVersion(ctx context.Context, m Migrations) (version uint, dirty bool, err error) {
	table := migrationsTable(m)
	exists := `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`
	if db.dialect == SQLite {
		exists = `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`
	}
	var n int
	if err := db.QueryRowContext(ctx, exists, table).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("looking up the %s version table of %s: %w", m.Service, db.name, err)
	}
	if n == 0 {
		return 0, false, nil
	}
	var v int64
	err = db.QueryRowContext(ctx, `SELECT version, dirty FROM "`+table+`" LIMIT 1`).Scan(&v, &dirty)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("reading the %s version of %s: %w", m.Service, db.name, err)
	case v < 0: // golang-migrate's "no version", left by reverting every migration
		return 0, dirty, nil
	}
	return uint(v), dirty, nil
}

// migrationsTable is the table golang-migrate keeps m's version in.
func migrationsTable(m Migrations) string { return "schema_migrations_" + m.Service }

// migrator prepares a golang-migrate instance on db and returns it with the
// function that releases what it holds (but never closes db itself).
func (db *DB) migrator(ctx context.Context, m Migrations) (*migrate.Migrate, func(), error) {
	src, err := iofs.New(m.FS, m.Dir)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s migrations: %w", m.Service, err)
	}
	table := migrationsTable(m)
	var (
		drv  database.Driver
		done = func() {}
	)
	// Both drivers close the *sql.DB they are given, so they get one of
	// their own, except a private in-memory SQLite database, which exists
	// only on db's one connection.
	instance := db.DB
	if !db.memory {
		instance, err = sql.Open(db.driver, db.source)
		if err != nil {
			return nil, nil, fmt.Errorf("connecting for %s migrations: %w", m.Service, err)
		}
		if db.dialect == SQLite {
			instance.SetMaxOpenConns(1)
		}
		done = func() { _ = drv.Close() }
	}
	switch db.dialect {
	case Postgres:
		drv, err = pgx.WithInstance(instance, &pgx.Config{MigrationsTable: table})
	case SQLite:
		drv, err = msqlite.WithInstance(instance, &msqlite.Config{MigrationsTable: table})
	}
	if err != nil && !db.memory {
		instance.Close()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("preparing %s migrations: %w", m.Service, err)
	}
	mg, err := migrate.NewWithInstance("iofs", src, string(db.dialect), drv)
	if err != nil {
		done()
		return nil, nil, fmt.Errorf("preparing %s migrations: %w", m.Service, err)
	}
	return mg, done, nil
}
