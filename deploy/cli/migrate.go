package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/ordersaga/ordersaga/deploy/allinone"
	"github.com/ordersaga/ordersaga/deploy/internal/dblayout"
	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

func migrateCommand() Command {
	return Command{
		Name:    "migrate",
		Summary: "apply (or with -down revert) the services' database migrations",
		bind:    bindMigrate,
	}
}

// migration is one database to migrate.
type migration struct {
	label string // for the output: variant/role or role
	role  hosted.Role
	dsn   string
}

// migrateSettings are the flags of migrate.
type migrateSettings struct {
	dataDir  string
	pgURL    string
	pgPrefix string
	roleDSNs map[hosted.Role]*string
	variant  string
	down     bool
}

// bindMigrate registers the flags of migrate. The database addresses are
// envflag.DSN values: a help text shows them without their password.
func bindMigrate(fs *flag.FlagSet, lookupEnv envflag.LookupEnv) (runner, error) {
	s := &migrateSettings{dataDir: allinone.DefaultConfig().DataDir, variant: "all", roleDSNs: map[hosted.Role]*string{}}
	vars := []envflag.Var{
		{Name: "data-dir", Usage: "`folder` of the SQLite databases, laid out as the run command does", Value: envflag.String(&s.dataDir)},
		{Name: "postgres-url", Usage: "PostgreSQL server `URL` (postgres://…): migrate its databases <prefix><variant>_<role>, creating them when missing", Value: envflag.DSN(&s.pgURL)},
		{Name: "postgres-db-prefix", Usage: "`prefix` of the PostgreSQL database names", Value: envflag.String(&s.pgPrefix)},
	}
	for _, r := range hosted.AllRoles() {
		s.roleDSNs[r] = new(string)
		vars = append(vars, envflag.Var{
			Name:  string(r) + "-db",
			Usage: fmt.Sprintf("`address` of the %s database alone (postgres://… or sqlite:/path.db); with any of these, only those are migrated", r),
			Value: envflag.DSN(s.roleDSNs[r]),
		})
	}
	err := envflag.Bind(fs, envflag.Prefix, lookupEnv, vars...)
	fs.Var(envflag.String(&s.variant), "variant", "which variant's databases: all, orchestrated or choreographed")
	fs.Var(envflag.Bool(&s.down), "down", "revert every migration instead (drops the services' tables and their data)")
	return s.migrate, err
}

// migrate applies the migrations to the databases named by the flags: the
// role databases given one by one, or else each variant's databases in the
// data dir or on the PostgreSQL server, as the run command lays them out.
func (s *migrateSettings) migrate(ctx context.Context, env *Env, _ []string) error {
	var todo []migration
	for _, r := range hosted.AllRoles() {
		if dsn := *s.roleDSNs[r]; dsn != "" {
			todo = append(todo, migration{label: string(r), role: r, dsn: dsn})
		}
	}
	if len(todo) == 0 {
		var variants []string
		switch s.variant {
		case "all":
			variants = []string{allinone.Orchestrated, allinone.Choreographed}
		case allinone.Orchestrated, allinone.Choreographed:
			variants = []string{s.variant}
		default:
			return usageErrorf("-variant %q is not all, orchestrated or choreographed", s.variant)
		}
		for _, v := range variants {
			dbs, err := dblayout.Addresses(ctx, s.dataDir, s.pgURL, s.pgPrefix, v)
			if err != nil {
				return err
			}
			for _, r := range hosted.AllRoles() {
				todo = append(todo, migration{label: v + "/" + string(r), role: r, dsn: dbs[r]})
			}
		}
	}

	var errList []error
	for _, m := range todo {
		version, err := migrateOne(ctx, m, s.down)
		if err != nil {
			errList = append(errList, fmt.Errorf("%s: %w", m.label, err))
			fmt.Fprintf(env.Stdout, "%-28s FAILED\n", m.label)
			continue
		}
		fmt.Fprintf(env.Stdout, "%-28s version %d\n", m.label, version)
	}
	return errors.Join(errList...)
}

// migrateOne migrates one database up (or down) and returns its version.
func migrateOne(ctx context.Context, m migration, down bool) (uint, error) {
	ms, ok := hosted.Migrations(m.role)
	if !ok || ms.FS == nil {
		return 0, fmt.Errorf("no migrations for role %s", m.role)
	}
	db, err := sqldb.Open(ctx, m.dsn)
	if err != nil {
		return 0, fmt.Errorf("opening the database: %w", err)
	}
	defer db.Close()
	if down {
		err = db.MigrateDown(ctx, ms)
	} else {
		err = db.Migrate(ctx, ms)
	}
	if err != nil {
		return 0, fmt.Errorf("migrating: %w", err)
	}
	version, dirty, err := db.MigrationVersion(ctx, ms)
	if err != nil {
		return 0, fmt.Errorf("reading the migration version: %w", err)
	}
	if dirty {
		return version, fmt.Errorf("migration %d failed half-way (dirty)", version)
	}
	return version, nil
}
