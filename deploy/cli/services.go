package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/shared/hosted"
)

// servicesCommand runs some of variant v's services as a process of their
// own.
func servicesCommand(v process.Variant) Command {
	return Command{
		Name:    string(v),
		Summary: "run " + string(v) + " services as a process of their own: " + rolesUsage(),
		args:    "<role>[,<role>...]",
		env:     []string{process.RolesEnv, process.ServiceNameEnv},
		bind: func(fs *flag.FlagSet, lookupEnv envflag.LookupEnv) (runner, error) {
			return bindServices(v, fs, lookupEnv)
		},
	}
}

// rolesUsage is how a role list is written: "orders,inventory,… or all".
func rolesUsage() string { return strings.Join(roleNames(), ",") + " or " + process.RolesAll }

// roleNames returns the names of every role, in hosted.AllRoles' order.
func roleNames() []string {
	var names []string
	for _, r := range hosted.AllRoles() {
		names = append(names, string(r))
	}
	return names
}

// bindServices registers the flags of a process of variant v.
func bindServices(v process.Variant, fs *flag.FlagSet, lookupEnv envflag.LookupEnv) (runner, error) {
	fs.Usage = usageFunc(fs, fs.Name()+" <role>[,<role>...] [flags]",
		fmt.Sprintf("Runs the named services of the %s variant in this process", v),
		fmt.Sprintf("(roles: %s, or all; also $%s).", strings.Join(roleNames(), ", "), process.RolesEnv),
		"A process hosting orders serves the REST API;",
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
