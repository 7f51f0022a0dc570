package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/rebuild"
	chstack "github.com/ordersaga/ordersaga/choreographed/stack"
	"github.com/ordersaga/ordersaga/deploy/allinone"
	"github.com/ordersaga/ordersaga/deploy/internal/dblayout"
	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/deploy/kafkadev"
	"github.com/ordersaga/ordersaga/shared/hosted"
)

// rebuildCommand rebuilds a projection of the choreographed variant from
// the retained events: ordersaga choreographed rebuild <projection>.
func rebuildCommand() Command {
	return Command{
		Name:    "rebuild",
		Summary: "empty a projection of the choreographed variant (" + strings.Join(rebuild.Names(), ", ") + ") and rebuild it from the events the broker retains",
		args:    "<projection>",
		bind:    bindRebuild,
	}
}

// rebuildSettings are the flags of choreographed rebuild.
type rebuildSettings struct {
	dataDir      string
	pgURL        string
	pgPrefix     string
	roleDSNs     map[hosted.Role]*string
	brokers      []string
	topicPrefix  string
	allowPartial bool
}

// bindRebuild registers the flags of choreographed rebuild.
func bindRebuild(fs *flag.FlagSet, lookupEnv envflag.LookupEnv) (runner, error) {
	s := &rebuildSettings{
		dataDir: allinone.DefaultConfig().DataDir, brokers: []string{kafkadev.DefaultAddress},
		topicPrefix: process.DefaultTopicPrefix, roleDSNs: map[hosted.Role]*string{},
	}
	vars := []envflag.Var{
		{Name: "data-dir", Usage: "`folder` of the SQLite databases <folder>/choreographed/<role>.db, as the run command lays them out", Value: envflag.String(&s.dataDir)},
		{Name: "postgres-url", Usage: "PostgreSQL server `URL` (postgres://…): the databases <prefix>choreographed_<role>; wins over -data-dir", Value: envflag.DSN(&s.pgURL)},
		{Name: "postgres-db-prefix", Usage: "`prefix` of the PostgreSQL database names", Value: envflag.String(&s.pgPrefix)},
	}
	for _, name := range rebuild.Names() {
		r, _ := rebuild.RoleOf(name)
		s.roleDSNs[r] = new(string)
		vars = append(vars, envflag.Var{
			Name:  string(r) + "-db",
			Usage: fmt.Sprintf("`address` of the %s database (postgres://… or sqlite:/path.db), for the %s projection; wins over -data-dir and -postgres-url", r, name),
			Value: envflag.DSN(s.roleDSNs[r]),
		})
	}
	vars = append(vars,
		envflag.Var{Name: "kafka-brokers", Usage: "Kafka bootstrap `brokers`, comma-separated host:port", Value: envflag.List(&s.brokers)},
		envflag.Var{Name: "topic-prefix", Usage: "`prefix` of the topic names (<prefix>.<service>)", Value: envflag.String(&s.topicPrefix)},
		envflag.Var{Name: "allow-partial", Usage: "rebuild even when retention deleted events of the topics or some event cannot be applied (the projection then lacks what they implied); without it such a rebuild changes nothing and fails",
			Value: envflag.Bool(&s.allowPartial)},
	)
	err := envflag.Bind(fs, envflag.Prefix, lookupEnv, vars...)
	fs.Usage = usageFunc(fs, "ordersaga choreographed rebuild [flags] <projection>",
		"Empties a projection of the choreographed variant and rebuilds it from the events the broker retains,",
		"with the code its live consumer runs, reading every partition of the topics it derives from, from the",
		"first offset up to the high-water mark. The live consumers may keep running: the rebuild swaps the",
		"projection in one transaction of its database, and their idempotent writes absorb the overlap.",
		"Projections:",
		"  notifications  the notification service's notifications and remembered customers, from <prefix>.orders",
		"  timeline       the order timelines in the order service's database, from every service's topic")
	return s.rebuild, err
}

// rebuild rebuilds the projection args name.
func (s *rebuildSettings) rebuild(ctx context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return usageErrorf("name one projection: %s", strings.Join(rebuild.Names(), " or "))
	}
	name := args[0]
	role, ok := rebuild.RoleOf(name)
	if !ok {
		return usageErrorf("unknown projection %q (projections: %s)", name, strings.Join(rebuild.Names(), ", "))
	}
	if len(s.brokers) == 0 {
		return usageErrorf("no kafka brokers")
	}
	dsn, err := s.address(ctx, role)
	if err != nil {
		return err
	}
	n, err := hosted.Open(ctx, hosted.Config{Roles: []hosted.Role{role}, Databases: map[hosted.Role]string{role: dsn}}, nil)
	if err != nil {
		return fmt.Errorf("rebuilding %s: %w", name, err)
	}
	defer n.Close()
	if err := n.EnsureSchema(ctx, role, chstack.Migrations(role, n.DBs[role].Dialect())...); err != nil {
		return fmt.Errorf("rebuilding %s: %w (ordersaga migrate -variant choreographed applies the migrations)", name, err)
	}
	p, err := rebuild.Of(name, n)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rep, err := rebuild.Run(ctx, rebuild.Config{
		Brokers: s.brokers, Topics: events.Topics{Prefix: s.topicPrefix}, AllowPartial: s.allowPartial, Logger: log,
	}, p)
	printReport(env, rep, err)
	return err
}

// address returns the address of role's database: its flag, or where the
// run command lays it out (on the PostgreSQL server, or in the data dir,
// which must hold it already).
func (s *rebuildSettings) address(ctx context.Context, role hosted.Role) (string, error) {
	if dsn := *s.roleDSNs[role]; dsn != "" {
		return dsn, nil
	}
	if s.pgURL == "" {
		path := filepath.Join(s.dataDir, allinone.Choreographed, string(role)+".db")
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("no %s database at %s (-data-dir, -postgres-url or -%s-db says where it is): %w", role, path, role, err)
		}
	}
	dbs, err := dblayout.Addresses(ctx, s.dataDir, s.pgURL, s.pgPrefix, allinone.Choreographed)
	if err != nil {
		return "", err
	}
	return dbs[role], nil
}

// printReport prints what a rebuild read and wrote (also when it refused
// a partial rebuild).
func printReport(env *Env, rep rebuild.Report, err error) {
	if rep.Projection == "" {
		return
	}
	out := env.Stdout
	if err != nil {
		out = env.Stderr
	}
	for _, t := range rep.Truncated {
		fmt.Fprintf(out, "truncated: %s\n", t)
	}
	for i, sk := range rep.Skipped {
		if i == 10 {
			fmt.Fprintf(out, "… and %d more events not applied\n", len(rep.Skipped)-i)
			break
		}
		fmt.Fprintf(out, "not applied: %s\n", sk)
	}
	if err != nil {
		if errors.Is(err, rebuild.ErrPartial) {
			fmt.Fprintf(out, "%s not rebuilt: nothing changed (-allow-partial rebuilds what the events allow)\n", rep.Projection)
		}
		return
	}
	var rows []string
	for _, t := range slices.Sorted(maps.Keys(rep.Rows)) {
		rows = append(rows, fmt.Sprintf("%d %s", rep.Rows[t], t))
	}
	fmt.Fprintf(out, "rebuilt %s from %d events of %s (%d partitions, %d messages read, %d not followed): %s\n",
		rep.Projection, rep.Applied, strings.Join(rep.Topics, ", "), rep.Partitions, rep.Read, rep.Ignored, strings.Join(rows, ", "))
	fmt.Fprintf(out, "took %s: reading %s, swapping in one transaction %s\n",
		(rep.ReadTook + rep.WriteTook).Round(time.Millisecond), rep.ReadTook.Round(time.Millisecond), rep.WriteTook.Round(time.Millisecond))
}
