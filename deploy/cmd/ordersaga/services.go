package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/ordersaga/ordersaga/deploy/internal/process"
)

// orchestratedCommand runs some of the orchestrated variant's services as
// a process of their own.
func orchestratedCommand() command { return servicesCommand(process.Orchestrated) }

// choreographedCommand runs some of the choreographed variant's services
// as a process of their own.
func choreographedCommand() command { return servicesCommand(process.Choreographed) }

func servicesCommand(v process.Variant) command {
	return command{
		name:    string(v),
		summary: "run " + string(v) + " services as a process of their own: " + rolesUsage,
		run: func(ctx context.Context, env *environment, args []string) error {
			return runServices(ctx, env, v, args)
		},
	}
}

// rolesUsage is how a role list is written.
const rolesUsage = "orders,inventory,payment,shipping or all"

// runServices runs the roles named by args of variant v until ctx ends.
func runServices(ctx context.Context, env *environment, v process.Variant, args []string) error {
	name := "ordersaga " + string(v)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s <role>[,<role>...] [flags]\n\n", name)
		fmt.Fprintf(fs.Output(), "Runs the named services of the %s variant in this process (roles: orders, inventory,\n", v)
		fmt.Fprintf(fs.Output(), "payment, shipping, or all; also $%sROLES). A process hosting orders serves the REST API;\n", process.EnvPrefix)
		fmt.Fprintf(fs.Output(), "every process serves /healthz, /readyz and /metrics. SIGINT or SIGTERM stops it cleanly.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	cfg, err := process.LoadConfig(v, fs, args, env.lookupEnv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		fmt.Fprintf(env.stderr, "%s: %v\n", name, err)
		return errUsage
	}
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	p, err := process.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	runErr := p.Run(ctx)
	if err := errors.Join(runErr, p.Close()); err != nil {
		return err
	}
	log.Info("stopped cleanly", "variant", v, "roles", cfg.Roles)
	return nil
}
