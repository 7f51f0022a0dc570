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

// migrator prepares a golang-migrate instance on db and returns it with the
// function that releases what it holds (but never closes db itself).
func (db *DB) migrator(ctx context.Context, m Migrations) (*migrate.Migrate, func(), error) {
	src, err := iofs.New(m.FS, m.Dir)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s migrations: %w", m.Service, err)
	}
	table := "schema_migrations_" + m.Service
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
