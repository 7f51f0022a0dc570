package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/deploy/internal/healthcheck"
)

func healthcheckCommand() Command {
	return Command{
		Name:    "healthcheck",
		Summary: "GET a process's /readyz (or -url): exit 0 on a 2xx answer, else 1 (container health checks)",
		bind:    bindHealthcheck,
	}
}

// bindHealthcheck registers the flags of a health check. A bad command
// line is a usage error (exit 2); any answer but 2xx, or none, fails with
// one line saying why (exit 1).
func bindHealthcheck(fs *flag.FlagSet, lookupEnv envflag.LookupEnv) (runner, error) {
	fs.Usage = usageFunc(fs, fs.Name()+" [flags]",
		fmt.Sprintf("GETs a health endpoint of a running ordersaga process, by default %s on the address the", healthcheck.DefaultPath),
		fmt.Sprintf("process in this container listens on ($%s), and exits 0 when it answers 2xx, else 1", healthcheck.AddrEnv),
		"with one line saying why. For the health checks of the image, which has no shell or curl.")
	flags := healthcheck.Bind(fs, lookupEnv)
	return func(ctx context.Context, _ *Env, _ []string) error {
		cfg, err := flags.Config()
		if err != nil {
			return usageErrorf("%v", err)
		}
		if err := healthcheck.Check(ctx, cfg); err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
		return nil
	}, nil
}
