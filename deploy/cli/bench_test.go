package cli

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/bench"
)

func TestBench_BadCommandLine_UsageError(t *testing.T) {
	tests := []struct {
		args     []string
		env      map[string]string
		inStderr string
	}{
		{[]string{"bench", "-concurrency", "1,0"}, nil, "-concurrency"},
		{[]string{"bench", "-rates", "10,fast"}, nil, "-rates"},
		{[]string{"bench", "-variants", "both"}, nil, `unknown variant "both"`},
		{[]string{"bench", "-log-level", "loud"}, nil, "-log-level"},
		{[]string{"bench", "-failure-share", "1.5"}, nil, "-failure-share"},
		{[]string{"bench", "-calibrate-duration", "0s"}, nil, "-calibrate-duration"},
		{[]string{"bench"}, map[string]string{"ORDERSAGA_BENCH_DURATION": "soon"}, "ORDERSAGA_BENCH_DURATION"},
		{[]string{"bench", "-variants", "orchestrated", "-orchestrated-url", "http://127.0.0.1:1"}, nil, "-auth-secret"},
		{[]string{"bench", "-auth-secret", "hidden"}, nil, "-auth-secret"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			env, _, stderr := testEnv(tc.env)
			if got := Execute(context.Background(), env, tc.args); got != 2 {
				t.Errorf("exit code %d, want 2 (stderr %q)", got, stderr)
			}
			if !strings.Contains(stderr.String(), tc.inStderr) {
				t.Errorf("stderr %q lacks %q", stderr, tc.inStderr)
			}
		})
	}
}

func TestBenchFlags_FromFlagsAndEnvironment_BecomeOptions(t *testing.T) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := defaultBenchFlags()
	env := map[string]string{"ORDERSAGA_BENCH_CONCURRENCY": "2, 4", "ORDERSAGA_BENCH_SEED": "7"}
	if err := f.bind(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"-rates", "none", "-warmup", "0", "-duration", "2s", "-seed", "9"}); err != nil {
		t.Fatal(err)
	}
	opts, err := f.options()
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.Concurrencies) != 2 || opts.Concurrencies[0] != 2 || opts.Concurrencies[1] != 4 {
		t.Errorf("concurrencies %v, want [2 4] from the environment", opts.Concurrencies)
	}
	if !opts.NoOpenLoop || opts.Warmup >= 0 || opts.Duration != 2*time.Second || opts.Seed != 9 {
		t.Errorf("options %+v: want no open loop, no warm-up, 2s, and the flag's seed 9 over the environment's", opts)
	}
	if u := fs.Lookup("concurrency").Usage; !strings.Contains(u, "$ORDERSAGA_BENCH_CONCURRENCY") {
		t.Errorf("the help of -concurrency does not name its variable: %q", u)
	}
}

func TestBench_InProcessStacks_PrintsTableAndWritesReportAndChart(t *testing.T) {
	dir := t.TempDir()
	jsonPath, svgPath := filepath.Join(dir, "out", "b.json"), filepath.Join(dir, "out", "b.svg")
	env, stdout, stderr := testEnv(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	code := Execute(ctx, env, []string{"bench", "-ceilings=false", "-concurrency", "1", "-rates", "none",
		"-duration", "300ms", "-warmup", "100ms", "-products", "3", "-customers", "3", "-calibrate-duration", "200ms",
		"-json", jsonPath, "-svg", svgPath, "-log-level", "error"})
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"Closed loop", "orchestrated", "choreographed", jsonPath, "Calibration", "orders/s per SQLite commits/s"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr.String(), "closed c=1") {
		t.Errorf("no progress on stderr:\n%s", stderr)
	}
	f, err := os.Open(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := bench.ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Variants) != 2 || rep.Variants[0].Closed[0].Final == 0 || rep.Variants[1].Closed[0].Final == 0 {
		t.Errorf("the report measured no orders: %+v", rep.Variants)
	}
	if c := rep.Calibration; c == nil || c.Method != bench.CalibrationSQLite || len(c.Points) != 2 || rep.Variants[0].Closed[0].PerCalibration <= 0 {
		t.Errorf("the report has no SQLite calibration with ratios: %+v", c)
	}
	if !strings.Contains(rep.Setup.Databases, "SQLite") {
		t.Errorf("the report's setup does not say where the data was: %+v", rep.Setup)
	}
	svg, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(svg), `data-series="choreographed"`) {
		t.Error("the chart lacks the choreographed series")
	}
}
