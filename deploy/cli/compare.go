package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ordersaga/ordersaga/deploy/allinone"
	"github.com/ordersaga/ordersaga/deploy/compare"
	"github.com/ordersaga/ordersaga/deploy/internal/apiflag"
	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
)

func compareCommand() Command {
	return Command{
		Name:    "compare",
		Summary: "run both variants side by side (outcomes, speed, cost, failure, change) and write one report",
		bind:    bindCompare,
	}
}

// compareEnvPrefix starts the environment variable of each compare flag.
const compareEnvPrefix = envflag.Prefix + "COMPARE_"

// compareFlags are the compare command's settings.
type compareFlags struct {
	quick            bool
	sections         []string
	postgres         string
	postgresDBPrefix string
	orchestratedURL  string
	choreographedURL string
	stepDeadline     time.Duration
	outDir           string
	dataDir          string
	logLevel         slog.Level
	authSecret       string
	authSecretFile   string
}

// vars lists the compare command's settings, bound to f.
func (f *compareFlags) vars() []envflag.Var {
	return []envflag.Var{
		{Name: "quick", Usage: "fewer orders and shorter measures in every section: the whole run in under 2 minutes (about 10 without)", Value: envflag.Bool(&f.quick)},
		{Name: "sections", Usage: "`sections` to run, comma-separated: outcomes, speed, cost, failure, change (all when empty)", Value: envflag.List(&f.sections)},
		{Name: "postgres", Usage: "PostgreSQL server `URL` (postgres://…) for the in-process stacks' service databases and the embedded Temporal server's persistence (<prefix>_…, dropped and created afresh); empty uses SQLite files", Value: envflag.DSN(&f.postgres)},
		{Name: "postgres-db-prefix", Usage: "`prefix` of the PostgreSQL database names with -postgres", Value: envflag.String(&f.postgresDBPrefix)},
		{Name: "orchestrated-url", Usage: "base `URL` of a running orchestrated stack to measure from outside (its API and /metrics; it must serve /v1/admin/faults); empty starts one in-process", Value: envflag.String(&f.orchestratedURL)},
		{Name: "choreographed-url", Usage: "base `URL` of a running choreographed stack to measure from outside; empty starts one in-process", Value: envflag.String(&f.choreographedURL)},
		{Name: "step-deadline", Usage: "step `deadline` of the in-process stacks: the long-fault scenarios take about twice it", Value: envflag.Duration(&f.stepDeadline)},
		{Name: "out", Usage: "`folder` report.md, report.html and report.json are written to (\"-\" writes none)", Value: envflag.String(&f.outDir)},
		{Name: "data-dir", Usage: "`folder` of the in-process stacks' and processes' data, kept after the run; empty uses a temporary folder, removed after", Value: envflag.String(&f.dataDir)},
		{Name: "log-level", Usage: "lowest `level` of the stacks' logs, written to " + compare.LogFile + " in the -out folder (to the standard error with -out -): debug, info, warn or error", Value: envflag.Level(&f.logLevel)},
	}
}

// bindCompare registers the flags of compare.
func bindCompare(fs *flag.FlagSet, lookupEnv envflag.LookupEnv) (runner, error) {
	f := compareFlags{postgresDBPrefix: "compare", stepDeadline: compare.DefaultStepDeadline, outDir: compare.DefaultOutDir, logLevel: slog.LevelWarn}
	secrets := apiflag.SecretVars(&f.authSecret, &f.authSecretFile)
	for i := range secrets {
		secrets[i].Usage += "; the running stacks' with -orchestrated-url or -choreographed-url (data/" + allinone.DevSecretFile +
			" for `ordersaga run`'s); empty, the in-process stacks get a secret of their own"
	}
	err := errors.Join(envflag.Bind(fs, compareEnvPrefix, lookupEnv, f.vars()...), envflag.Bind(fs, envflag.Prefix, lookupEnv, secrets...))
	return func(ctx context.Context, env *Env, _ []string) error {
		return runCompare(ctx, env, &f)
	}, err
}

// runCompare runs the comparison and writes its report.
func runCompare(ctx context.Context, env *Env, f *compareFlags) error {
	keys, err := apiflag.Keys(f.authSecret, f.authSecretFile)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if keys == nil && (f.orchestratedURL != "" || f.choreographedURL != "") {
		return usageErrorf("a running stack verifies tokens with its own secret: give it with -%s or -%s (data/%s for `ordersaga run`)",
			apiflag.SecretFlag, apiflag.SecretFileFlag, allinone.DevSecretFile)
	}
	// The stacks' logs go to a file beside the report: with fault injection
	// the Temporal SDK logs every failed activity attempt as an error.
	logOut, logPath := env.Stderr, ""
	if f.outDir != "-" {
		if err := os.MkdirAll(f.outDir, 0o755); err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		logPath = filepath.Join(f.outDir, compare.LogFile)
		lf, err := os.Create(logPath)
		if err != nil {
			return fmt.Errorf("compare: the stacks' log: %w", err)
		}
		defer lf.Close()
		logOut = lf
		fmt.Fprintf(env.Stderr, "the stacks' logs (level %s and above): %s\n", f.logLevel, logPath)
	}
	opts := compare.Options{
		Quick:            f.quick,
		Sections:         f.sections,
		PostgresURL:      f.postgres,
		PostgresDBPrefix: f.postgresDBPrefix,
		OrchestratedURL:  f.orchestratedURL,
		ChoreographedURL: f.choreographedURL,
		Keys:             keys,
		StepDeadline:     f.stepDeadline,
		Dir:              f.dataDir,
		OutDir:           f.outDir,
		Logger:           slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: f.logLevel})),
		Progress:         env.Stderr,
	}
	rep, err := compare.Run(ctx, opts)
	if rep != nil {
		for _, h := range rep.Headlines {
			fmt.Fprintln(env.Stdout, "- "+h)
		}
	}
	return err
}
