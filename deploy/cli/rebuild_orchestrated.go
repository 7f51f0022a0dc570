package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/ordersaga/ordersaga/deploy/allinone"
	"github.com/ordersaga/ordersaga/deploy/internal/dblayout"
	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
	"github.com/ordersaga/ordersaga/orchestrated/endings"
	"github.com/ordersaga/ordersaga/shared/hosted"
)

// orchestratedRebuildCommand rebuilds a projection of the orchestrated
// variant from the sagas' workflow histories: ordersaga orchestrated
// rebuild notifications.
func orchestratedRebuildCommand() Command {
	return Command{
		Name:    "rebuild",
		Summary: "empty a projection of the orchestrated variant (notifications) and rebuild it from the OrderSaga workflow histories Temporal keeps",
		args:    "<projection>",
		bind:    bindOrchestratedRebuild,
	}
}

// orchestratedRebuildSettings are the flags of orchestrated rebuild.
type orchestratedRebuildSettings struct {
	dataDir, pgURL, pgPrefix string
	notificationsDB          string
	temporalAddress          string
	namespace                string
	concurrency              int
}

// bindOrchestratedRebuild registers the flags of orchestrated rebuild:
// where the notification database is, as a process of the variant finds
// it, and where Temporal is.
func bindOrchestratedRebuild(fs *flag.FlagSet, lookupEnv envflag.LookupEnv) (runner, error) {
	s := &orchestratedRebuildSettings{
		dataDir:         allinone.DefaultConfig().DataDir,
		temporalAddress: temporaldev.DefaultFrontendAddress,
		namespace:       temporaldev.DefaultNamespace,
		concurrency:     endings.DefaultConcurrency,
	}
	v := process.Orchestrated
	err := envflag.Bind(fs, process.EnvPrefix, lookupEnv,
		envflag.Var{Name: "data-dir", Usage: "`folder` of SQLite databases <folder>/" + string(v) + "/<role>.db, as the run command lays them out", Value: envflag.String(&s.dataDir)},
		envflag.Var{Name: "postgres-url", Usage: "PostgreSQL server `URL` (postgres://…): databases <prefix>" + string(v) + "_<role>; wins over -data-dir", Value: envflag.DSN(&s.pgURL)},
		envflag.Var{Name: "postgres-db-prefix", Usage: "`prefix` of the PostgreSQL database names", Value: envflag.String(&s.pgPrefix)},
		envflag.Var{Name: string(hosted.RoleNotifications) + "-db", Usage: "`address` of the notifications database (postgres://… or sqlite:/path.db); wins over -data-dir and -postgres-url", Value: envflag.DSN(&s.notificationsDB)},
		envflag.Var{Name: "temporal-address", Usage: "Temporal frontend `host:port`", Value: envflag.String(&s.temporalAddress)},
		envflag.Var{Name: "temporal-namespace", Usage: "Temporal `namespace` of the sagas", Value: envflag.String(&s.namespace)},
	)
	fs.Var(envflag.Int(&s.concurrency), "concurrency", "`number` of workflow histories read at once")
	fs.Usage = usageFunc(fs, "ordersaga orchestrated rebuild [flags] notifications",
		"Empties the notification database and rebuilds it from Temporal: every OrderSaga workflow the",
		"namespace lists, each history read, each order that ended giving its notification: as recorded",
		"(the NotifyCustomer activity's input) or, for an order that ended before the notification existed,",
		"from the workflow's input, result and close time (a backfill). The database is replaced in one",
		"transaction; a catch-up pass then records orders that ended meanwhile, so the sagas and the",
		"notification service may keep running. Sagas closed longer ago than the namespace's retention",
		"period are no longer listed: their notifications are not rebuilt.")
	return func(ctx context.Context, env *Env, args []string) error {
		if len(args) != 1 || args[0] != orchestratedProjection {
			return usageErrorf("name the projection to rebuild: %s", orchestratedProjection)
		}
		return rebuildNotifications(ctx, env, s)
	}, err
}

// orchestratedProjection is the orchestrated variant's one projection a
// rebuild rebuilds.
const orchestratedProjection = "notifications"

// rebuildNotifications runs the rebuild and prints its report.
func rebuildNotifications(ctx context.Context, env *Env, s *orchestratedRebuildSettings) error {
	if s.concurrency < 1 {
		return usageErrorf("-concurrency %d is not a positive number", s.concurrency)
	}
	dsn := s.notificationsDB
	if dsn == "" {
		dbs, err := dblayout.Addresses(ctx, s.dataDir, s.pgURL, s.pgPrefix, string(process.Orchestrated))
		if err != nil {
			return err
		}
		dsn = dbs[hosted.RoleNotifications]
	}
	node, err := hosted.Open(ctx, hosted.Config{Roles: []hosted.Role{hosted.RoleNotifications},
		Databases: map[hosted.Role]string{hosted.RoleNotifications: dsn}}, nil)
	if err != nil {
		return err
	}
	defer node.Close()
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := client.DialContext(ctx, client.Options{HostPort: s.temporalAddress, Namespace: s.namespace, Logger: sdklog.NewStructuredLogger(log)})
	if err != nil {
		return fmt.Errorf("connecting to temporal at %s: %w", s.temporalAddress, err)
	}
	defer c.Close()
	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.namespace})
	if err != nil {
		return fmt.Errorf("describing namespace %s: %w", s.namespace, err)
	}
	retention := ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()

	rep, err := (&endings.Rebuilder{Temporal: c, Store: node.Notifications, Concurrency: s.concurrency}).Rebuild(ctx)
	if err != nil {
		return err
	}
	w := env.Stdout
	fmt.Fprintf(w, "rebuilt the notifications from %d saga histories of namespace %s in %v\n", rep.Sagas, s.namespace, rep.Took.Round(time.Millisecond))
	fmt.Fprintf(w, "  %d as recorded (the NotifyCustomer activity's input)\n", rep.FromNotice)
	fmt.Fprintf(w, "  %d backfilled (orders that ended before the notification existed)\n", rep.Backfilled)
	fmt.Fprintf(w, "  %d sagas with no ending yet (running) or none to tell (closed without a result)\n", rep.NotEnded)
	fmt.Fprintf(w, "  %d recorded by the catch-up pass (%d histories read again)\n", rep.CaughtUp, rep.CatchUpSagas)
	fmt.Fprintf(w, "the database held %d notifications and now holds %d\n", rep.Before, rep.After)
	if rep.After < rep.Before {
		fmt.Fprintf(w, "%d notifications fewer than before: their sagas are no longer listed (closed longer ago than the retention period)\n", rep.Before-rep.After)
	}
	fmt.Fprintf(w, "namespace %s keeps a saga's history %v after it closes: orders that ended before %s are not in it\n",
		s.namespace, retention, time.Now().Add(-retention).UTC().Format(time.RFC3339))
	return nil
}
