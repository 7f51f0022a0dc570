package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/ordersaga/ordersaga/deploy/internal/healthcheck"
)

func healthcheckCommand() command {
	return command{
		name:    "healthcheck",
		summary: "GET a process's /readyz (or -url): exit 0 on a 2xx answer, else 1 (container health checks)",
		run:     runHealthcheck,
	}
}

// runHealthcheck probes a running process once. A bad command line is a
// usage error (exit 2); any answer but 2xx, or none, fails with one line
// saying why (exit 1).
func runHealthcheck(ctx context.Context, env *environment, args []string) error {
	const name = "ordersaga healthcheck"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s [flags]\n\n", name)
		fmt.Fprintf(fs.Output(), "GETs a health endpoint of a running ordersaga process, by default %s on the address the\n", healthcheck.DefaultPath)
		fmt.Fprintf(fs.Output(), "process in this container listens on ($%s), and exits 0 when it answers 2xx, else 1\n", healthcheck.AddrEnv)
		fmt.Fprintf(fs.Output(), "with one line saying why. For the health checks of the image, which has no shell or curl.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	cfg, err := healthcheck.LoadConfig(fs, args, env.lookupEnv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		fmt.Fprintf(env.stderr, "%s: %v\n", name, err)
		return errUsage
	}
	if err := healthcheck.Check(ctx, cfg); err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	return nil
}
