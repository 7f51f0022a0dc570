package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/ordersaga/ordersaga/deploy/allinone"
)

func runCommand() command {
	return command{
		name:    "run",
		summary: "run the all-in-one local stack: both APIs, Temporal with its UI, a Kafka-protocol broker (the default command)",
		run:     runStack,
	}
}

// runStack starts the stack, prints where everything is and runs until
// ctx ends.
func runStack(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("ordersaga run", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	cfg, err := allinone.LoadConfig(fs, args, env.lookupEnv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		fmt.Fprintf(env.stderr, "ordersaga run: %v\n", err)
		return errUsage
	}
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	stack, err := allinone.Start(ctx, cfg, allinone.Options{
		Orchestrated:  allinone.OrchestratedBuilder,
		Choreographed: allinone.ChoreographedBuilder,
		Logger:        log,
	})
	if err != nil {
		return err
	}
	fmt.Fprint(env.stdout, "\n"+stack.Banner()+"\n")
	return stack.Run(ctx)
}
