package bench

import (
	"bytes"
	"context"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// The real pgbench outputs in testdata were captured from pgbench 15 on
// this project's PostgreSQL (scale 10, 3 s).
func TestParsePgbench_RealOutput_ReadsTPSWithoutConnectionTime(t *testing.T) {
	tests := []struct {
		file         string
		clients      int
		tps          float64
		transactions int
		latencyMs    float64
	}{
		{"pgbench-15-tpcb-1-client.txt", 1, 193.044370, 576, 5.180},
		{"pgbench-15-tpcb-10-clients.txt", 10, 545.940853, 1568, 18.317},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			out, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			p, err := parsePgbench(string(out))
			if err != nil {
				t.Fatalf("parsePgbench: %v", err)
			}
			want := CalibrationPoint{Clients: tc.clients, TPS: tc.tps, LatencyMs: tc.latencyMs, Transactions: tc.transactions, DurationS: 3}
			if p != want {
				t.Errorf("parsed %+v, want %+v", p, want)
			}
		})
	}
}

// Before PostgreSQL 14, pgbench printed two tps lines; the calibration
// takes the one that excludes connecting. Output without a tps is refused.
func TestParsePgbench_OlderFormatAndIncompleteOutput(t *testing.T) {
	old := strings.Join([]string{
		"transaction type: <builtin: TPC-B (sort of)>",
		"scaling factor: 10",
		"number of clients: 10",
		"number of transactions actually processed: 4000/4000",
		"latency average = 3.2 ms",
		"tps = 3000.5 (including connections establishing)",
		"tps = 3100.25 (excluding connections establishing)",
	}, "\n")
	p, err := parsePgbench(old)
	if err != nil {
		t.Fatalf("parsePgbench: %v", err)
	}
	if p.TPS != 3100.25 || p.Clients != 10 || p.Transactions != 4000 {
		t.Errorf("parsed %+v, want 3100.25 tps (excluding connections), 10 clients, 4000 transactions", p)
	}
	for _, bad := range []string{
		"",
		"number of clients: 1\ntps = 100 (including connections establishing)",
		"pgbench: error: connection to server failed\nnumber of clients: 1",
		"number of clients: 1\ntps = 0.000000 (without initial connection time)",
	} {
		if p, err := parsePgbench(bad); err == nil {
			t.Errorf("parsePgbench(%q) = %+v, want an error", bad, p)
		}
	}
}

// pgbench gets a libpq URI of the scratch database: no password on its
// command line (it goes to PGPASSWORD), and none of pgx's own parameters,
// which libpq refuses.
func TestPgbenchTarget_PasswordInEnvironmentAndOnlyLibpqParameters(t *testing.T) {
	target, env, err := pgbenchTarget("postgres://bench:s3cret@db.example:6432/postgres?sslmode=require&pool_max_conns=20", "ordersaga_calibrate_ab")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(target, "s3cret") || u.User.Username() != "bench" || u.Host != "db.example:6432" || u.Path != "/ordersaga_calibrate_ab" {
		t.Errorf("target %q, want bench@db.example:6432/ordersaga_calibrate_ab without the password", target)
	}
	if q := u.Query(); q.Get("sslmode") != "require" || q.Has("pool_max_conns") {
		t.Errorf("target's parameters %v, want sslmode and not pool_max_conns", q)
	}
	if !slices.Contains(env, "PGPASSWORD=s3cret") {
		t.Error("the password is not in pgbench's environment")
	}
	if _, _, err := pgbenchTarget("mysql://x@y/z", "n"); err == nil {
		t.Error("a non-postgres URL was accepted")
	}
}

// Each point compares with the calibrated client count nearest on a log
// scale: with 1 and 10, 1 to 3 clients with 1, 4 and more with 10.
func TestCalibrationFor_NearestClientCountOnLogScale(t *testing.T) {
	c := Calibration{Points: []CalibrationPoint{{Clients: 10, TPS: 3000}, {Clients: 1, TPS: 1000}}}
	for clients, want := range map[int]int{1: 1, 2: 1, 3: 1, 4: 10, 8: 10, 10: 10, 32: 10, 128: 10} {
		p, ok := c.For(clients)
		if !ok || p.Clients != want {
			t.Errorf("For(%d) = %+v, %v; want the %d-client point", clients, p, ok, want)
		}
	}
	if got, want := c.matching(), "1 client for 1 to 3, 10 clients for 4 and more"; got != want {
		t.Errorf("matching() = %q, want %q", got, want)
	}
	if _, ok := (Calibration{}).For(1); ok {
		t.Error("a calibration without points matched a point")
	}
}

// calibratedReport returns sampleReport with a pgbench calibration of
// 1,000 tps at 1 client and 3,000 at 10, and its ratios.
func calibratedReport() Report {
	rep := sampleReport()
	rep.Calibration = &Calibration{
		Method: CalibrationPgbench, Unit: "pgbench tps", When: "at the start of the run", Scale: 10,
		Description: "pgbench TPC-B, scale 10, on the PostgreSQL server at 127.0.0.1:5432",
		Started:     rep.Started, Database: "ordersaga_calibrate_0123",
		Points: []CalibrationPoint{
			{Clients: 1, TPS: 1000, LatencyMs: 1, Transactions: 10000, DurationS: 10},
			{Clients: 10, TPS: 3000, LatencyMs: 3.3, Transactions: 30000, DurationS: 10},
		},
	}
	rep.fillCalibrationRatios()
	return rep
}

func TestFillCalibrationRatios_EveryClosedPointOverTheMatchingCalibration(t *testing.T) {
	rep := calibratedReport()
	orch, chor, temporal := rep.Variants[0], rep.Variants[1], rep.Ceilings[0]
	checks := []struct {
		name      string
		p         Point
		tp, calib float64
	}{
		{"orchestrated c=1", orch.Closed[0], 30, 1000},
		{"orchestrated c=8", orch.Closed[1], 40, 3000},
		{"orchestrated c=32", orch.Closed[2], 42, 3000},
		{"choreographed c=1", chor.Closed[0], 90, 1000},
		{"choreographed c=32", chor.Closed[2], 420, 3000},
		{"temporal ceiling c=1", temporal.Closed[0], 40, 1000},
	}
	for _, c := range checks {
		if want := c.tp / c.calib; math.Abs(c.p.PerCalibration-want) > 5e-4*want {
			t.Errorf("%s: %v orders/s per pgbench tps, want %v/%v = %v", c.name, c.p.PerCalibration, c.tp, c.calib, want)
		}
	}
	for _, p := range orch.Open {
		if p.PerCalibration != 0 {
			t.Errorf("open-loop point %s has a ratio %v: ratios are of closed-loop points", pointName(p), p.PerCalibration)
		}
	}
	if !strings.Contains(rep.Calibration.Ratio, "orders/s per pgbench tps") || !strings.Contains(rep.Calibration.Ratio, "4 and more") {
		t.Errorf("the calibration's ratio description %q does not say what the ratio is", rep.Calibration.Ratio)
	}
}

// The table states the calibration in its header and carries a ratio
// column in the closed-loop and ceiling tables, named by its units.
func TestWriteTable_WithCalibration_HeaderAndRatioColumns(t *testing.T) {
	rep := calibratedReport()
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	closedAt := strings.Index(out, "Closed loop")
	header := out[:max(closedAt, 0)]
	for _, want := range []string{"Calibration, at the start of the run: pgbench TPC-B", "1000 pgbench tps with 1 client, 3000 with 10 clients", "Ratios: orders/s per pgbench tps"} {
		if !strings.Contains(header, want) {
			t.Errorf("the table's header lacks %q:\n%s", want, header)
		}
	}
	for _, want := range []string{"of ceiling  orders/s per pgbench tps", "errors  ops/s per pgbench tps"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks the column %q:\n%s", want, out)
		}
	}
	// The last cell of each closed-loop and ceiling row is its ratio.
	rows := map[string]string{
		"8 orchestrated":   formatRatio(40.0 / 3000),
		"1 choreographed":  formatRatio(90.0 / 1000),
		"32 choreographed": formatRatio(420.0 / 3000),
		"1 kafka":          formatRatio(160.0 / 1000),
	}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		if want, ok := rows[f[0]+" "+f[1]]; ok {
			if got := f[len(f)-1]; got != want {
				t.Errorf("row %q ends in %q, want the ratio %s", l, got, want)
			}
			delete(rows, f[0]+" "+f[1])
		}
	}
	if len(rows) > 0 {
		t.Errorf("rows not found: %v\n%s", rows, out)
	}
}

// The chart's caption gives the calibration and each series' ratios; the
// JSON keeps them.
func TestWriteSVGAndJSON_WithCalibration_CaptionAndFields(t *testing.T) {
	rep := calibratedReport()
	var svg bytes.Buffer
	if err := rep.WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	svgSeries(t, svg.Bytes())
	for _, want := range []string{
		"Calibration, at the start of the run: pgbench TPC-B",
		"orchestrated, orders/s per pgbench tps (clients): " + formatRatio(30.0/1000) + " at 1, " + formatRatio(40.0/3000) + " at 8",
		"temporal ceiling, ops/s per pgbench tps (clients): " + formatRatio(40.0/1000) + " at 1",
	} {
		if !strings.Contains(svg.String(), esc(want)) {
			t.Errorf("the chart's caption lacks %q", want)
		}
	}

	for _, l := range rep.calibrationCaption() {
		if len(l) > captionWidth {
			t.Errorf("caption line of %d characters, over the chart's %d: %q", len(l), captionWidth, l)
		}
	}

	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"calibration"`, `"per_calibration"`, `"unit": "pgbench tps"`, `"ratio"`} {
		if !strings.Contains(js.String(), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	got, err := ReadJSON(&js)
	if err != nil {
		t.Fatal(err)
	}
	if got.Calibration == nil || len(got.Calibration.Points) != 2 || got.Variants[0].Closed[1].PerCalibration != rep.Variants[0].Closed[1].PerCalibration {
		t.Errorf("the JSON round trip lost the calibration or the ratios: %+v", got.Calibration)
	}
}

// Without pgbench on PATH the calibration says so, creates nothing, and
// the report has no ratios but says why.
func TestCalibratePgbench_NotOnPath_ReportSaysSoWithoutRatios(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	cal, err := CalibratePgbench(context.Background(), PgbenchCalibration{URL: sqltest.PostgresURL()})
	if err != nil {
		t.Fatalf("CalibratePgbench: %v, want no error", err)
	}
	if len(cal.Points) != 0 || cal.Database != "" || !strings.Contains(cal.Unavailable, "pgbench is not on PATH") {
		t.Fatalf("calibration %+v, want no points, no database, and the reason", cal)
	}
	rep := sampleReport()
	rep.Calibration = &cal
	rep.fillCalibrationRatios()
	if p := rep.Variants[0].Closed[0]; p.PerCalibration != 0 {
		t.Errorf("a ratio %v without calibration figures", p.PerCalibration)
	}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "pgbench is not on PATH") || strings.Contains(out, "per pgbench tps") {
		t.Errorf("the table does not say the calibration is missing, or has ratios:\n%s", out)
	}
}

// A short real calibration on the local PostgreSQL (scale 1, 1 s per
// client count) measures a positive tps at 1 and 10 clients and leaves no
// scratch database behind.
func TestCalibratePgbench_LocalServer_MeasuresAndDropsScratchDatabase(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	cal, err := CalibratePgbench(ctx, PgbenchCalibration{URL: sqltest.PostgresURL(), Scale: 1, Duration: time.Second, Progress: &progress})
	if err != nil {
		t.Fatalf("CalibratePgbench: %v\n%s", err, progress.String())
	}
	if cal.Unavailable != "" || len(cal.Points) != 2 {
		t.Fatalf("calibration %+v, want two points", cal)
	}
	for i, want := range []int{1, 10} {
		p := cal.Points[i]
		if p.Clients != want || !(p.TPS > 0) || p.Transactions == 0 || !(p.LatencyMs > 0) {
			t.Errorf("point %d: %+v, want %d clients with a positive tps", i, p, want)
		}
	}
	if cal.Scale != 1 || !strings.HasPrefix(cal.Database, scratchPrefix) || !strings.Contains(cal.Description, "PostgreSQL 1") {
		t.Errorf("calibration's setup %+v: want scale 1, the scratch database, the server's version", cal)
	}

	admin, err := sqldb.Open(ctx, sqltest.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var n int
	if err := admin.QueryRowContext(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", cal.Database).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("the scratch database %s is still there", cal.Database)
	}
}

// The SQLite calibration measures positive commit rates with 1 and 10
// goroutines and removes its file.
func TestCalibrateSQLite_MeasuresCommitsAndRemovesItsFile(t *testing.T) {
	dir := t.TempDir()
	cal, err := CalibrateSQLite(context.Background(), SQLiteCalibration{Dir: dir, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatalf("CalibrateSQLite: %v", err)
	}
	if cal.Method != CalibrationSQLite || cal.Unit != "SQLite commits/s" || !strings.HasPrefix(cal.Description, "not pgbench") {
		t.Errorf("calibration %+v is not named as the SQLite measure", cal)
	}
	if len(cal.Points) != 2 {
		t.Fatalf("points %+v, want 1 and 10 goroutines", cal.Points)
	}
	for i, want := range []int{1, 10} {
		if p := cal.Points[i]; p.Clients != want || !(p.TPS > 0) || p.Transactions == 0 {
			t.Errorf("point %d: %+v, want %d goroutines with a positive rate", i, p, want)
		}
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("the calibration left %v in the run's folder", left)
	}
}

// Run carries the given calibration into the report and gives each
// closed-loop point of the variants its ratio.
func TestRun_WithCalibration_ReportsRatios(t *testing.T) {
	base := startFakeAPI(t, "fake", 5*time.Millisecond, false)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cal := Calibration{Method: CalibrationSQLite, Unit: "SQLite commits/s", Description: "a test calibration",
		Points: []CalibrationPoint{{Clients: 1, TPS: 50}, {Clients: 10, TPS: 400}}}
	rep, err := Run(ctx, Options{
		Targets:       []Target{{Name: "fake", BaseURL: base}},
		Concurrencies: []int{1, 10},
		NoOpenLoop:    true,
		Duration:      300 * time.Millisecond,
		Warmup:        -1,
		Products:      3,
		Customers:     10,
		Keys:          authtest.Keys(t),
		Calibration:   &cal,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Calibration == nil || rep.Calibration.Description != cal.Description {
		t.Fatalf("the report's calibration is %+v, want the given one", rep.Calibration)
	}
	for i, calTPS := range []float64{50, 400} {
		p := rep.Variants[0].Closed[i]
		want := p.Throughput / calTPS
		if !(p.Throughput > 0) || math.Abs(p.PerCalibration-want) > 1e-3*want {
			t.Errorf("c=%d: %v per SQLite commits/s at %v orders/s, want %v", p.Clients, p.PerCalibration, p.Throughput, want)
		}
	}
}
