package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/deploy/internal/process"
)

// servicesCommand runs some of variant v's services as a process of their
// own.
func servicesCommand(v process.Variant) Command {
	return Command{
		Name:    string(v),
		Summary: "run " + string(v) + " services as a process of their own: " + rolesUsage,
		args:    "<role>[,<role>...]",
		env:     []string{process.RolesEnv, process.ServiceNameEnv},
		bind: func(fs *flag.FlagSet, lookupEnv envflag.LookupEnv) (runner, error) {
			return bindServices(v, fs, lookupEnv)
		},
	}
}

// rolesUsage is how a role list is written.
const rolesUsage = "orders,inventory,payment,shipping or all"

// bindServices registers the flags of a process of variant v.
func bindServices(v process.Variant, fs *flag.FlagSet, lookupEnv envflag.LookupEnv) (runner, error) {
	fs.Usage = usageFunc(fs, fs.Name()+" <role>[,<role>...] [flags]",
		fmt.Sprintf("Runs the named services of the %s variant in this process (roles: orders, inventory,", v),
		fmt.Sprintf("payment, shipping, or all; also $%s). A process hosting orders serves the REST API;", process.RolesEnv),
		"every process serves /healthz, /readyz and /metrics (and, with -ops-addr, on a port of their own).",
		"The API verifies bearer tokens with -auth-secret or -auth-secret-file, which the process needs to start:",
		"`ordersaga secret` makes a secret, `ordersaga token` issues tokens. SIGINT or SIGTERM stops it cleanly.")
	flags, err := process.Bind(v, fs, lookupEnv)
	if err != nil && flags == nil {
		return nil, err
	}
	return func(ctx context.Context, env *Env, roles []string) error {
		cfg, err := flags.Config(roles)
		if err != nil {
			return usageErrorf("%v", err)
		}
		return runServices(ctx, env, cfg)
	}, err
}

// runServices runs the process of cfg until ctx ends.
func runServices(ctx context.Context, env *Env, cfg process.Config) error {
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	p, err := process.New(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("starting the %s process: %w", cfg.Variant, err)
	}
	runErr := p.Run(ctx)
	if err := errors.Join(runErr, p.Close()); err != nil {
		return err
	}
	log.Info("stopped cleanly", "variant", cfg.Variant, "roles", cfg.Roles)
	return nil
}
