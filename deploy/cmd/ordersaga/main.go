// Command ordersaga runs the order saga: by default the all-in-one local
// stack (both variants, embedded Temporal with its UI, embedded Kafka-
// protocol broker, SQLite), and tools such as migrate and healthcheck.
// Each command lives in a file of its own and is listed in commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, a second one ends the process at once.
		<-ctx.Done()
		stop()
	}()
	env := &environment{stdout: os.Stdout, stderr: os.Stderr, lookupEnv: os.LookupEnv}
	os.Exit(execute(ctx, env, os.Args[1:]))
}

// environment is what a command may touch of the process.
type environment struct {
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
}

// command is one command of the table, or a group of subcommands.
type command struct {
	name    string
	summary string
	// run runs the command with the arguments after its name.
	run func(ctx context.Context, env *environment, args []string) error
	// sub are the subcommands of a group (then run is nil).
	sub []command
}

// defaultCommand runs when no command is named.
const defaultCommand = "run"

// commands is the command table.
func commands() []command {
	return []command{
		runCommand(),
		migrateCommand(),
		benchCommand(),
		orchestratedCommand(),
		choreographedCommand(),
		dlqCommand(),
		healthcheckCommand(),
		versionCommand(),
	}
}

// errUsage marks a command line that is wrong; its details were printed.
var errUsage = errors.New("usage error")

// execute runs the command named by args and returns the exit code: 0 on
// success, 2 for a wrong command line, 1 for any other failure.
func execute(ctx context.Context, env *environment, args []string) int {
	err := dispatch(ctx, env, "ordersaga", commands(), args, true)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(env.stderr, "ordersaga: %v\n", err)
		return 1
	}
}

// dispatch runs the command of table named by args[0]. At the top level,
// no command or a leading flag runs defaultCommand.
func dispatch(ctx context.Context, env *environment, path string, table []command, args []string, top bool) error {
	if top && (len(args) == 0 || strings.HasPrefix(args[0], "-") && !isHelp(args[0])) {
		args = append([]string{defaultCommand}, args...)
	}
	if len(args) == 0 || isHelp(args[0]) {
		if len(args) > 1 { // help COMMAND: that command's help
			return dispatch(ctx, env, path, table, []string{args[1], "-h"}, false)
		}
		usage(env.stdout, path, table)
		return nil
	}
	for _, c := range table {
		if c.name != args[0] {
			continue
		}
		if c.sub != nil {
			return dispatch(ctx, env, path+" "+c.name, c.sub, args[1:], false)
		}
		return c.run(ctx, env, args[1:])
	}
	fmt.Fprintf(env.stderr, "%s: unknown command %q\n\n", path, args[0])
	usage(env.stderr, path, table)
	return errUsage
}

func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// usage lists the commands of table.
func usage(w io.Writer, path string, table []command) {
	fmt.Fprintf(w, "Usage: %s <command> [flags]\n\nCommands:\n", path)
	for _, c := range table {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "  %-12s %s\n", "help", "show this help, or a command's flags (help <command>)")
	fmt.Fprintf(w, "\nA flag that can also be set by an environment variable names it in its help ([$ORDERSAGA_…]).\n")
}

// parseFlags parses args into fs, turning a bad command line into
// errUsage (fs has printed why) and -h into flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		if fs.NArg() > 0 {
			fmt.Fprintf(fs.Output(), "unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
			return errUsage
		}
		return nil
	case errors.Is(err, flag.ErrHelp):
		return err
	default:
		return errUsage
	}
}
