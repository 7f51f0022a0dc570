package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/ordersaga/ordersaga/deploy/allinone"
	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
)

func runCommand() Command {
	return Command{
		Name:    "run",
		Summary: "run the all-in-one local stack: both APIs, Temporal with its UI, a Kafka-protocol broker (the default command)",
		bind:    bindRun,
	}
}

// bindRun registers the flags of the all-in-one run.
func bindRun(fs *flag.FlagSet, lookupEnv envflag.LookupEnv) (runner, error) {
	cfg := allinone.DefaultConfig()
	err := cfg.Bind(fs, lookupEnv)
	return func(ctx context.Context, env *Env, _ []string) error {
		if err := cfg.Validate(); err != nil {
			return usageErrorf("%v", err)
		}
		return runStack(ctx, env, cfg)
	}, err
}

// runStack starts the stack, prints where everything is and runs until
// ctx ends.
func runStack(ctx context.Context, env *Env, cfg allinone.Config) error {
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	stack, err := allinone.Start(ctx, cfg, allinone.Options{
		Orchestrated:  allinone.OrchestratedBuilder,
		Choreographed: allinone.ChoreographedBuilder,
		Logger:        log,
	})
	if err != nil {
		return fmt.Errorf("starting the stack: %w", err)
	}
	fmt.Fprint(env.Stdout, "\n"+stack.Banner()+"\n")
	return stack.Run(ctx)
}
