package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
	"strings"
)

func versionCommand() command {
	return command{name: "version", summary: "print the version of ordersaga and of its main dependencies", run: printVersion}
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

func printVersion(_ context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("ordersaga version", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
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
	fmt.Fprintf(env.stdout, "ordersaga %s (%s, %s)\n", strings.TrimSpace(version), info.GoVersion, info.Path)
	deps := map[string]string{}
	for _, d := range info.Deps {
		deps[d.Path] = d.Version
	}
	for _, m := range notableModules() {
		if v, ok := deps[m]; ok {
			fmt.Fprintf(env.stdout, "  %-36s %s\n", m, v)
		}
	}
	return nil
}
