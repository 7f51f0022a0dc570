// Command ordersaga runs the order saga: by default the all-in-one local
// stack (both variants, embedded Temporal with its UI, embedded Kafka-
// protocol broker, SQLite), and tools such as migrate and healthcheck.
// Its commands are those of deploy/cli; this file wires them to the
// process: its standard streams, its environment and its signals.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ordersaga/ordersaga/deploy/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, a second one ends the process at once.
		<-ctx.Done()
		stop()
	}()
	env := &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, LookupEnv: os.LookupEnv}
	os.Exit(cli.Execute(ctx, env, os.Args[1:]))
}
