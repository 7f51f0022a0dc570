package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"

	chstack "github.com/ordersaga/ordersaga/choreographed/stack"
	"github.com/ordersaga/ordersaga/deploy/allinone"
	"github.com/ordersaga/ordersaga/deploy/internal/dblayout"
	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	orstack "github.com/ordersaga/ordersaga/orchestrated/stack"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

func migrateCommand() Command {
	return Command{
		Name:    "migrate",
		Summary: "apply (or with -down revert) every migration of the services' databases, the choreographed outbox, inbox and timeline included",
		bind:    bindMigrate,
	}
}

// migration is one database to migrate.
type migration struct {
	label   string // for the output: variant/role or role
	variant string // allinone.Orchestrated or allinone.Choreographed
	role    hosted.Role
	dsn     string
}

// migrationsOf returns every set of migrations, in the order they are
// applied, that the database of role r needs in variant v (orchestrated
// or choreographed): the services' tables, and in the choreographed
// variant the outbox, the inbox and the order timeline too. The processes
// of the variant check these at start and refuse an older schema.
func migrationsOf(v string, r hosted.Role, d sqldb.Dialect) ([]sqldb.Migrations, error) {
	switch v {
	case allinone.Orchestrated:
		return orstack.Migrations(r, d), nil
	case allinone.Choreographed:
		return chstack.Migrations(r, d), nil
	}
	return nil, fmt.Errorf("unknown variant %q (want %s or %s)", v, allinone.Orchestrated, allinone.Choreographed)
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
	fs.Var(envflag.String(&s.variant), "variant", "which variant's databases: all, orchestrated or choreographed (the variants' databases hold different tables: with -<role>-db, name the variant)")
	fs.Var(envflag.Bool(&s.down), "down", "revert every migration instead (drops the services' tables, the outbox, inbox and timeline, and their data)")
	return s.migrate, err
}

// migrate applies the migrations to the databases named by the flags: the
// role databases given one by one (of the variant -variant names), or else
// each variant's databases in the data dir or on the PostgreSQL server, as
// the run command lays them out. Each database gets every set of
// migrations its variant needs (see migrationsOf).
func (s *migrateSettings) migrate(ctx context.Context, env *Env, _ []string) error {
	var variants []string
	switch s.variant {
	case "all":
		variants = []string{allinone.Orchestrated, allinone.Choreographed}
	case allinone.Orchestrated, allinone.Choreographed:
		variants = []string{s.variant}
	default:
		return usageErrorf("-variant %q is not all, orchestrated or choreographed", s.variant)
	}
	var todo []migration
	for _, r := range hosted.AllRoles() {
		if dsn := *s.roleDSNs[r]; dsn != "" {
			if len(variants) != 1 {
				return usageErrorf("-%s-db: name the variant of the databases with -variant orchestrated or -variant choreographed (their tables differ)", r)
			}
			todo = append(todo, migration{label: string(r), variant: variants[0], role: r, dsn: dsn})
		}
	}
	if len(todo) == 0 {
		for _, v := range variants {
			dbs, err := dblayout.Addresses(ctx, s.dataDir, s.pgURL, s.pgPrefix, v)
			if err != nil {
				return err
			}
			for _, r := range hosted.AllRoles() {
				todo = append(todo, migration{label: v + "/" + string(r), variant: v, role: r, dsn: dbs[r]})
			}
		}
	}

	var errList []error
	for _, m := range todo {
		versions, err := migrateOne(ctx, m, s.down)
		if err != nil {
			errList = append(errList, fmt.Errorf("%s: %w", m.label, err))
			fmt.Fprintf(env.Stdout, "%-28s FAILED\n", m.label)
			continue
		}
		fmt.Fprintf(env.Stdout, "%-28s %s\n", m.label, strings.Join(versions, ", "))
	}
	return errors.Join(errList...)
}

// migrateOne migrates one database up (or down) with every set of
// migrations of its variant and role, and returns the version of each
// ("outbox version 1").
func migrateOne(ctx context.Context, m migration, down bool) ([]string, error) {
	db, err := sqldb.Open(ctx, m.dsn)
	if err != nil {
		return nil, fmt.Errorf("opening the database: %w", err)
	}
	defer db.Close()
	sets, err := migrationsOf(m.variant, m.role, db.Dialect())
	if err != nil {
		return nil, err
	}
	if len(sets) == 0 {
		return nil, fmt.Errorf("no migrations for role %s", m.role)
	}
	if down { // the last applied first
		sets = slices.Clone(sets)
		slices.Reverse(sets)
	}
	var versions []string
	for _, ms := range sets {
		if down {
			err = db.MigrateDown(ctx, ms)
		} else {
			err = db.Migrate(ctx, ms)
		}
		if err != nil {
			return nil, fmt.Errorf("migrating: %w", err)
		}
		version, dirty, err := db.MigrationVersion(ctx, ms)
		if err != nil {
			return nil, fmt.Errorf("reading the %s migration version: %w", ms.Service, err)
		}
		if dirty {
			return nil, fmt.Errorf("%s migration %d failed half-way (dirty)", ms.Service, version)
		}
		versions = append(versions, fmt.Sprintf("%s version %d", ms.Service, version))
	}
	if down {
		slices.Reverse(versions)
	}
	return versions, nil
}
