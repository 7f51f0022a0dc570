package cli

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
)

func versionCommand() Command {
	return Command{
		Name:    "version",
		Summary: "print the version of ordersaga and of its main dependencies",
		bind: func(*flag.FlagSet, envflag.LookupEnv) (runner, error) {
			return printVersion, nil
		},
	}
}

// notableModules are the dependencies whose versions the version command
// prints.
func notableModules() []string {
	return []string{
		"go.temporal.io/sdk",
		"go.temporal.io/server",
		"github.com/temporalio/ui-server/v2",
		"github.com/segmentio/kafka-go",
		"github.com/twmb/franz-go/pkg/kfake",
		"github.com/jackc/pgx/v5",
		"modernc.org/sqlite",
	}
}

// printVersion prints the binary's version and those of notableModules.
func printVersion(_ context.Context, env *Env, _ []string) error {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return fmt.Errorf("the binary carries no build information")
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	version := info.Main.Version
	if rev := settings["vcs.revision"]; rev != "" {
		version += " " + rev[:min(12, len(rev))]
		if settings["vcs.modified"] == "true" {
			version += "-dirty"
		}
	}
	fmt.Fprintf(env.Stdout, "ordersaga %s (%s, %s)\n", strings.TrimSpace(version), info.GoVersion, info.Path)
	deps := map[string]string{}
	for _, d := range info.Deps {
		deps[d.Path] = d.Version
	}
	for _, m := range notableModules() {
		if v, ok := deps[m]; ok {
			fmt.Fprintf(env.Stdout, "  %-36s %s\n", m, v)
		}
	}
	return nil
}
