package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/ordersaga/ordersaga/deploy/allinone"
	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/shared/node"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

func migrateCommand() command {
	return command{
		name:    "migrate",
		summary: "apply (or with -down revert) the services' database migrations",
		run:     migrate,
	}
}

// migration is one database to migrate.
type migration struct {
	label string // for the output: variant/role or role
	role  node.Role
	dsn   string
}

// migrate applies the migrations to the databases named by the flags: the
// role databases given one by one, or else each variant's databases in the
// data dir or on the PostgreSQL server, as the run command lays them out.
func migrate(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("ordersaga migrate", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	envOr := func(name, def string) string {
		if v, ok := env.lookupEnv(allinone.EnvPrefix + name); ok {
			return v
		}
		return def
	}
	dataDir := fs.String("data-dir", envOr("DATA_DIR", allinone.DefaultConfig().DataDir), "folder of the SQLite databases, laid out as the run command does [$ORDERSAGA_DATA_DIR]")
	// The database addresses are envflag.DSN values: a help text shows
	// them without their password.
	pgURL := envOr("POSTGRES_URL", "")
	fs.Var(envflag.DSN(&pgURL), "postgres-url", "PostgreSQL server `URL` (postgres://…): migrate its databases <prefix><variant>_<role>, creating them when missing [$ORDERSAGA_POSTGRES_URL]")
	pgPrefix := fs.String("postgres-db-prefix", envOr("POSTGRES_DB_PREFIX", ""), "prefix of the PostgreSQL database names [$ORDERSAGA_POSTGRES_DB_PREFIX]")
	variant := fs.String("variant", "all", "which variant's databases: all, orchestrated or choreographed")
	roleDSNs := map[node.Role]*string{}
	for _, r := range node.AllRoles() {
		name := strings.ToUpper(string(r)) + "_DB"
		dsn := envOr(name, "")
		roleDSNs[r] = &dsn
		fs.Var(envflag.DSN(&dsn), string(r)+"-db", fmt.Sprintf("`address` of the %s database alone (postgres://… or sqlite:/path.db); with any of these, only those are migrated [$ORDERSAGA_%s]", r, name))
	}
	down := fs.Bool("down", false, "revert every migration instead (drops the services' tables and their data)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	var todo []migration
	for _, r := range node.AllRoles() {
		if dsn := *roleDSNs[r]; dsn != "" {
			todo = append(todo, migration{label: string(r), role: r, dsn: dsn})
		}
	}
	if len(todo) == 0 {
		var variants []string
		switch *variant {
		case "all":
			variants = []string{allinone.Orchestrated, allinone.Choreographed}
		case allinone.Orchestrated, allinone.Choreographed:
			variants = []string{*variant}
		default:
			fmt.Fprintf(env.stderr, "ordersaga migrate: -variant %q is not all, orchestrated or choreographed\n", *variant)
			return errUsage
		}
		for _, v := range variants {
			dbs, err := allinone.Databases(ctx, *dataDir, pgURL, *pgPrefix, v)
			if err != nil {
				return err
			}
			for _, r := range node.AllRoles() {
				todo = append(todo, migration{label: v + "/" + string(r), role: r, dsn: dbs[r]})
			}
		}
	}

	var errList []error
	for _, m := range todo {
		version, err := migrateOne(ctx, m, *down)
		if err != nil {
			errList = append(errList, fmt.Errorf("%s: %w", m.label, err))
			fmt.Fprintf(env.stdout, "%-28s FAILED\n", m.label)
			continue
		}
		fmt.Fprintf(env.stdout, "%-28s version %d\n", m.label, version)
	}
	return errors.Join(errList...)
}

// migrateOne migrates one database up (or down) and returns its version.
func migrateOne(ctx context.Context, m migration, down bool) (uint, error) {
	ms, ok := node.Migrations(m.role)
	if !ok || ms.FS == nil {
		return 0, fmt.Errorf("no migrations for role %s", m.role)
	}
	db, err := sqldb.Open(ctx, m.dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if down {
		err = db.MigrateDown(ctx, ms)
	} else {
		err = db.Migrate(ctx, ms)
	}
	if err != nil {
		return 0, err
	}
	version, dirty, err := db.MigrationVersion(ctx, ms)
	if err != nil {
		return 0, err
	}
	if dirty {
		return version, fmt.Errorf("migration %d failed half-way (dirty)", version)
	}
	return version, nil
}
