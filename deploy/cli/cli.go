// Package cli is the command line of the ordersaga binary: its command
// table, each command's flags and the environment variables that set them,
// and how a command line is dispatched to its command. The binary
// (deploy/cmd/ordersaga) only wires it to the process: its standard
// streams, its environment and its signals.
//
// The table is importable so that what reads the binary's configuration
// from the outside (the static checks of the deploy files, the test of the
// README's configuration reference) reads the very flags the commands
// parse: Commands, Leaves and Command.Settings.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/deploy/internal/process"
)

// Env is what a command may touch of the process.
type Env struct {
	// Stdout receives the command's results, Stderr its logs, help and
	// errors.
	Stdout, Stderr io.Writer
	// LookupEnv reads the process's environment (os.LookupEnv).
	LookupEnv envflag.LookupEnv
}

// Command is one command of the table, or a group of subcommands.
type Command struct {
	// Name is the word that names the command on the command line.
	Name string
	// Summary is the command's line in the list of commands.
	Summary string
	// Sub are the subcommands of a group (then the command itself does not
	// run).
	Sub []Command
	// also are subcommands of a command that runs itself too: a first
	// argument naming one runs it ("ordersaga choreographed rebuild"), any
	// other command line runs the command ("ordersaga choreographed
	// orders"). They are not Sub, so what reads the table for deploy files
	// sees a command that runs.
	also []Command

	// args says how the command's positional arguments are written, for a
	// command that takes some (before or after its flags); a command
	// without it takes none.
	args string
	// env are the environment variables the command reads besides those
	// of its flags.
	env []string
	// bind registers the command's flags (see binder).
	bind binder
}

// binder registers the flags of a command on fs, each set first from its
// environment variable through lookupEnv, and returns the function that
// runs the command once fs has parsed the command line. Its error reports
// the environment values that do not parse.
type binder func(fs *flag.FlagSet, lookupEnv envflag.LookupEnv) (runner, error)

// runner runs a command with its positional arguments.
type runner func(ctx context.Context, env *Env, args []string) error

// DefaultCommand runs when no command is named.
const DefaultCommand = "run"

// Commands returns the command table.
func Commands() []Command {
	return []Command{
		runCommand(),
		migrateCommand(),
		benchCommand(),
		compareCommand(),
		orchestratedCommand(),
		choreographedCommand(),
		tokenCommand(),
		secretCommand(),
		dlqCommand(),
		healthcheckCommand(),
		versionCommand(),
	}
}

// orchestratedCommand runs orchestrated services as a process of their
// own, and rebuilds the variant's projection from the workflow histories
// (orchestrated rebuild).
func orchestratedCommand() Command {
	c := servicesCommand(process.Orchestrated)
	c.also = []Command{orchestratedRebuildCommand()}
	return c
}

// choreographedCommand runs choreographed services as a process of their
// own, and rebuilds the variant's projections (choreographed rebuild).
func choreographedCommand() Command {
	c := servicesCommand(process.Choreographed)
	c.also = []Command{rebuildCommand()}
	return c
}

// usageError is a command line or a configuration that cannot work; the
// command exits 2. Its message, when not empty, is printed after the
// command's name; an empty one means the flag package printed why.
type usageError struct{ msg string }

func (e *usageError) Error() string {
	if e.msg == "" {
		return "usage error"
	}
	return e.msg
}

// usageErrorf returns a usageError with a formatted message.
func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// Execute runs the command named by args and returns the exit code: 0 on
// success, 2 for a wrong command line or configuration, 1 for any other
// failure.
func Execute(ctx context.Context, env *Env, args []string) int {
	err := dispatch(ctx, env, "ordersaga", Commands(), args, true)
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		return 2
	default:
		fmt.Fprintf(env.Stderr, "ordersaga: %v\n", err)
		return 1
	}
}

// dispatch runs the command of table named by args[0]. At the top level,
// no command or a leading flag runs DefaultCommand.
func dispatch(ctx context.Context, env *Env, path string, table []Command, args []string, top bool) error {
	if top && (len(args) == 0 || strings.HasPrefix(args[0], "-") && !isHelp(args[0])) {
		args = append([]string{DefaultCommand}, args...)
	}
	if len(args) == 0 || isHelp(args[0]) {
		if len(args) > 1 { // help COMMAND: that command's help
			return dispatch(ctx, env, path, table, []string{args[1], "-h"}, false)
		}
		usage(env.Stdout, path, table)
		return nil
	}
	for _, c := range table {
		if c.Name != args[0] {
			continue
		}
		if c.Sub != nil {
			return dispatch(ctx, env, path+" "+c.Name, c.Sub, args[1:], false)
		}
		if len(args) > 1 {
			for _, sub := range c.also {
				if sub.Name == args[1] {
					return sub.execute(ctx, env, path+" "+c.Name+" "+sub.Name, args[2:])
				}
			}
		}
		return c.execute(ctx, env, path+" "+c.Name, args[1:])
	}
	fmt.Fprintf(env.Stderr, "%s: unknown command %q\n\n", path, args[0])
	usage(env.Stderr, path, table)
	return &usageError{}
}

// execute parses the command line of a command that runs and runs it.
// path names the command in messages ("ordersaga dlq list").
func (c Command) execute(ctx context.Context, env *Env, path string, args []string) error {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	run, envErr := c.bind(fs, env.LookupEnv)
	var positional []string
	if c.args != "" {
		for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			positional, args = append(positional, args[0]), args[1:]
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{} // fs printed why
	}
	positional = append(positional, fs.Args()...)
	var err error
	switch {
	case envErr != nil:
		err = &usageError{msg: envErr.Error()}
	case c.args == "" && len(positional) > 0:
		err = usageErrorf("unexpected arguments: %s", strings.Join(positional, " "))
	default:
		err = run(ctx, env, positional)
	}
	var ue *usageError
	if errors.As(err, &ue) && ue.msg != "" {
		fmt.Fprintf(env.Stderr, "%s: %s\n", path, ue.msg)
	}
	return err
}

func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// usage lists the commands of table.
func usage(w io.Writer, path string, table []Command) {
	fmt.Fprintf(w, "Usage: %s <command> [flags]\n\nCommands:\n", path)
	for _, c := range table {
		fmt.Fprintf(w, "  %-12s %s\n", c.Name, c.Summary)
		for _, sub := range c.also {
			fmt.Fprintf(w, "  %-12s %s\n", c.Name+" "+sub.Name, sub.Summary)
		}
	}
	fmt.Fprintf(w, "  %-12s %s\n", "help", "show this help, or a command's flags (help <command>)")
	fmt.Fprintf(w, "\nA flag that can also be set by an environment variable names it in its help ([$%s…]).\n", envflag.Prefix)
}

// usageFunc returns a flag.FlagSet usage printing the command line, what
// the command does and its flags.
func usageFunc(fs *flag.FlagSet, commandLine string, about ...string) func() {
	return func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n\n", commandLine)
		for _, line := range about {
			fmt.Fprintln(fs.Output(), line)
		}
		if len(about) > 0 {
			fmt.Fprintln(fs.Output())
		}
		fmt.Fprintf(fs.Output(), "Flags:\n")
		fs.PrintDefaults()
	}
}
