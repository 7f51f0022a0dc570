package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// The calibration methods.
const (
	// CalibrationPgbench is pgbench's TPC-B on the stacks' PostgreSQL
	// server.
	CalibrationPgbench = "pgbench"
	// CalibrationSQLite is the commit rate of a one-row update on a SQLite
	// file through package sqldb: a different measure from pgbench's, for
	// runs whose stacks are on SQLite.
	CalibrationSQLite = "sqlite"
)

// Defaults of the calibrations.
const (
	DefaultCalibrationDuration = 10 * time.Second
	DefaultPgbenchScale        = 10
	DefaultPgbench             = "pgbench"
	// scratchPrefix starts the name of pgbench's scratch database; the run
	// adds random hex digits, so that it never names another database.
	scratchPrefix = "ordersaga_calibrate_"
	// dropTimeout bounds dropping the scratch database, also after the
	// run's context ended.
	dropTimeout = 30 * time.Second
)

// DefaultCalibrationClients are the client counts a calibration measures.
func DefaultCalibrationClients() []int { return []int{1, 10} }

// Calibration is what a run measured of the database its stacks use, so
// that throughput figures from different machines compare: every
// closed-loop point's throughput is also given over the calibration's rate
// at the nearest calibrated number of clients (Point.PerCalibration).
type Calibration struct {
	// Method is CalibrationPgbench or CalibrationSQLite.
	Method string `json:"method"`
	// Unit names the calibration's rate, which the ratios divide by:
	// "pgbench tps" or "SQLite commits/s".
	Unit string `json:"unit"`
	// Ratio says what Point.PerCalibration is, e.g. "orders/s (ops/s for
	// a ceiling) per pgbench tps, …"; set with the ratios.
	Ratio string `json:"ratio,omitempty"`
	// Description says what ran where, with which settings.
	Description string `json:"description"`
	// When says when in the run the calibration ran (e.g. "at the start
	// of the run, before anything in-process started").
	When    string    `json:"when,omitempty"`
	Started time.Time `json:"started"`
	// Scale is pgbench's scaling factor (0 for SQLite).
	Scale int `json:"scale,omitempty"`
	// Database is the scratch database pgbench ran in, created and dropped
	// by the run (empty for SQLite).
	Database string `json:"database,omitempty"`
	// Points are the measured rates, by number of clients, ascending.
	Points []CalibrationPoint `json:"points,omitempty"`
	// Unavailable says why the run has no calibration figures (pgbench not
	// on PATH, or an error); there are no ratios then.
	Unavailable string `json:"unavailable,omitempty"`
}

// CalibrationPoint is the calibration's rate at one number of clients.
type CalibrationPoint struct {
	Clients int `json:"clients"`
	// TPS is pgbench's tps without the initial connection time, or the
	// SQLite commits per second.
	TPS float64 `json:"tps"`
	// LatencyMs is the mean time of one transaction.
	LatencyMs    float64 `json:"latency_avg_ms"`
	Transactions int     `json:"transactions"`
	Failed       int     `json:"failed,omitempty"`
	DurationS    float64 `json:"duration_s"`
}

// PgbenchCalibration says how to calibrate on a PostgreSQL server.
type PgbenchCalibration struct {
	// URL is the server (postgres://…); the scratch database is created
	// and dropped through a connection to the database it names.
	URL string
	// Scale is pgbench's scaling factor (DefaultPgbenchScale).
	Scale int
	// Duration of each client count (DefaultCalibrationDuration), in
	// whole seconds, at least one.
	Duration time.Duration
	// Clients are the client counts measured
	// (DefaultCalibrationClients).
	Clients []int
	// Pgbench is the program, looked up on PATH when it has no slash
	// (DefaultPgbench).
	Pgbench string
	// When goes into Calibration.When.
	When string
	// Progress receives a line per step; nil for none.
	Progress io.Writer
}

// SQLiteCalibration says how to calibrate on SQLite.
type SQLiteCalibration struct {
	// Dir is the folder the SQLite file is made in, and removed from
	// after (required).
	Dir string
	// Duration of each client count (DefaultCalibrationDuration).
	Duration time.Duration
	// Clients are the numbers of goroutines measured
	// (DefaultCalibrationClients).
	Clients []int
	// When goes into Calibration.When.
	When string
	// Progress receives a line per step; nil for none.
	Progress io.Writer
}

// CalibratePgbench measures pgbench's TPC-B on the server at cfg.URL: it
// creates a scratch database of its own, fills it with pgbench -i at
// cfg.Scale, runs pgbench at each client count for cfg.Duration, and drops
// the database. Without pgbench on PATH it returns a calibration that says
// so (Unavailable) and no error. A failure returns a calibration without
// points, its Unavailable saying why, and the error; a scratch database
// that cannot be dropped returns the error with the points measured.
func CalibratePgbench(ctx context.Context, cfg PgbenchCalibration) (Calibration, error) {
	if cfg.Scale <= 0 {
		cfg.Scale = DefaultPgbenchScale
	}
	if cfg.Duration <= 0 {
		cfg.Duration = DefaultCalibrationDuration
	}
	if len(cfg.Clients) == 0 {
		cfg.Clients = DefaultCalibrationClients()
	}
	if cfg.Pgbench == "" {
		cfg.Pgbench = DefaultPgbench
	}
	prog := progressOf(cfg.Progress)
	secs := max(int(math.Ceil(cfg.Duration.Seconds())), 1)
	cal := Calibration{Method: CalibrationPgbench, Unit: "pgbench tps", When: cfg.When, Started: time.Now().UTC(), Scale: cfg.Scale}
	cal.Description = fmt.Sprintf("pgbench TPC-B (built-in script), scale %d, %d s per client count, on the PostgreSQL server at %s",
		cfg.Scale, secs, hostOf(cfg.URL))
	fail := func(err error) (Calibration, error) {
		cal.Points = nil
		cal.Unavailable = err.Error()
		return cal, err
	}

	path, err := exec.LookPath(cfg.Pgbench)
	if err != nil {
		cal.Unavailable = fmt.Sprintf("%s is not on PATH: no calibration, so no ratios", cfg.Pgbench)
		fmt.Fprintf(prog, "calibration: %s\n", cal.Unavailable)
		return cal, nil
	}
	version, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return fail(fmt.Errorf("calibration: %s --version: %w", path, err))
	}
	name, err := scratchName()
	if err != nil {
		return fail(err)
	}
	target, env, err := pgbenchTarget(cfg.URL, name)
	if err != nil {
		return fail(err)
	}
	admin, err := sqldb.Open(ctx, cfg.URL)
	if err != nil {
		return fail(fmt.Errorf("calibration: connecting to PostgreSQL: %w", err))
	}
	defer admin.Close()
	var serverVersion string
	if err := admin.QueryRowContext(ctx, "SHOW server_version").Scan(&serverVersion); err != nil {
		return fail(fmt.Errorf("calibration: reading the server's version: %w", err))
	}
	cal.Description += fmt.Sprintf(" (PostgreSQL %s), in a scratch database created and dropped by the run; %s; tps without the initial connection time",
		strings.Fields(serverVersion + " ?")[0], pgbenchVersion(string(version)))
	// The name is the prefix and hex digits: a lower-case identifier. Its
	// random part keeps it from naming an existing database, and CREATE
	// fails rather than reuse one.
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return fail(fmt.Errorf("calibration: creating scratch database %s: %w", name, err))
	}
	cal.Database = name
	cal, err = runPgbench(ctx, cal, cfg, path, target, env, secs, prog)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dropTimeout)
	defer cancel()
	if _, derr := admin.ExecContext(dctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); derr != nil {
		err = errors.Join(err, fmt.Errorf("calibration: dropping scratch database %s: %w", name, derr))
	}
	return cal, err
}

// runPgbench fills the scratch database and measures each client count.
func runPgbench(ctx context.Context, cal Calibration, cfg PgbenchCalibration, path, target string, env []string, secs int, prog io.Writer) (Calibration, error) {
	fail := func(err error) (Calibration, error) {
		cal.Points = nil
		cal.Unavailable = err.Error()
		return cal, err
	}
	fmt.Fprintf(prog, "calibration: pgbench -i -s %d into scratch database %s\n", cfg.Scale, cal.Database)
	if _, err := pgbench(ctx, path, env, "-i", "-s", strconv.Itoa(cfg.Scale), "-q", target); err != nil {
		return fail(err)
	}
	for _, n := range cfg.Clients {
		threads := min(n, runtime.NumCPU())
		fmt.Fprintf(prog, "calibration: pgbench -c %d -j %d -T %d\n", n, threads, secs)
		out, err := pgbench(ctx, path, env, "-c", strconv.Itoa(n), "-j", strconv.Itoa(threads), "-T", strconv.Itoa(secs), target)
		if err != nil {
			return fail(err)
		}
		p, err := parsePgbench(out)
		if err != nil {
			return fail(fmt.Errorf("calibration: pgbench -c %d: %w", n, err))
		}
		if p.Clients != n {
			return fail(fmt.Errorf("calibration: pgbench -c %d reported %d clients", n, p.Clients))
		}
		fmt.Fprintf(prog, "calibration: %s: %s pgbench tps\n", clientsOf(n), formatTPS(p.TPS))
		cal.Points = append(cal.Points, p)
	}
	return cal, nil
}

// pgbench runs pgbench with args and returns what it printed on standard
// output; its standard error goes into the error when it fails.
func pgbench(ctx context.Context, path string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("calibration: pgbench %s: %w: %s", args[0], err, lastLines(stderr.String()+stdout.String(), 5))
	}
	return stdout.String(), nil
}

// libpqParams are the query parameters of a postgres:// URL that libpq,
// and so pgbench, understands; others (pgx's pool settings) are left out,
// which libpq would refuse.
func libpqParams() []string {
	return []string{
		"host", "hostaddr", "port", "user", "connect_timeout", "client_encoding", "options", "application_name",
		"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
		"sslmode", "sslcompression", "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslcrldir", "sslsni",
		"requirepeer", "ssl_min_protocol_version", "ssl_max_protocol_version", "gssencmode", "krbsrvname",
		"gsslib", "channel_binding", "target_session_attrs", "service",
	}
}

// pgbenchTarget returns the connection URI pgbench takes for database
// name on the server at rawURL, and pgbench's environment: this process's,
// with the password in PGPASSWORD rather than on a command line.
func pgbenchTarget(rawURL, name string) (target string, env []string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("calibration: %s is not a postgres:// URL", sqldb.Redact(rawURL))
	}
	env = os.Environ()
	q := u.Query()
	password, hasPassword := "", false
	if u.User != nil {
		password, hasPassword = u.User.Password()
		u.User = url.User(u.User.Username())
	}
	if p := q.Get("password"); p != "" {
		password, hasPassword = p, true
	}
	if hasPassword {
		env = append(env, "PGPASSWORD="+password)
	}
	kept := url.Values{}
	for _, k := range libpqParams() {
		if vs, ok := q[k]; ok {
			kept[k] = vs
		}
	}
	u.RawQuery = kept.Encode()
	u.Path, u.RawPath = "/"+name, ""
	return u.String(), env, nil
}

// scratchName returns a fresh name for pgbench's scratch database.
func scratchName() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("calibration: naming the scratch database: %w", err)
	}
	return scratchPrefix + hex.EncodeToString(b[:]), nil
}

// parsePgbench reads the report pgbench prints after a run. The tps is the
// one without the initial connection time: "tps = … (without initial
// connection time)" since PostgreSQL 14, "tps = … (excluding connections
// establishing)" before.
func parsePgbench(out string) (CalibrationPoint, error) {
	var p CalibrationPoint
	var haveTPS, haveClients bool
	for line := range strings.SplitSeq(out, "\n") {
		line = strings.TrimSpace(line)
		field := func(prefix string) (string, bool) {
			rest, ok := strings.CutPrefix(line, prefix)
			if !ok {
				return "", false
			}
			f := strings.Fields(rest)
			if len(f) == 0 {
				return "", false
			}
			return f[0], true
		}
		if v, ok := field("tps = "); ok && (strings.Contains(line, "without initial connection time") || strings.Contains(line, "excluding connections establishing")) {
			tps, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return p, fmt.Errorf("pgbench's tps %q: %w", v, err)
			}
			p.TPS, haveTPS = tps, true
		}
		if v, ok := field("number of clients: "); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return p, fmt.Errorf("pgbench's number of clients %q: %w", v, err)
			}
			p.Clients, haveClients = n, true
		}
		if v, ok := field("number of transactions actually processed: "); ok {
			// "576" or, with -t, "576/576".
			n, err := strconv.Atoi(strings.SplitN(v, "/", 2)[0])
			if err != nil {
				return p, fmt.Errorf("pgbench's transactions %q: %w", v, err)
			}
			p.Transactions = n
		}
		if v, ok := field("number of failed transactions: "); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return p, fmt.Errorf("pgbench's failed transactions %q: %w", v, err)
			}
			p.Failed = n
		}
		if v, ok := field("latency average = "); ok {
			ms, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return p, fmt.Errorf("pgbench's latency %q: %w", v, err)
			}
			p.LatencyMs = ms
		}
		if v, ok := field("duration: "); ok {
			s, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return p, fmt.Errorf("pgbench's duration %q: %w", v, err)
			}
			p.DurationS = s
		}
	}
	if !haveTPS || !haveClients {
		return p, fmt.Errorf("no tps without connection time and number of clients in pgbench's output: %s", lastLines(out, 5))
	}
	if !(p.TPS > 0) {
		return p, fmt.Errorf("pgbench reported %v tps", p.TPS)
	}
	return p, nil
}

// CalibrateSQLite measures the commits per second of a transaction that
// updates one row, on a SQLite file made in cfg.Dir through package sqldb
// (as the services' databases: WAL, synchronous=NORMAL, writers queued for
// the write lock), at each number of goroutines for cfg.Duration, each
// goroutine updating a row of its own; the file is removed after. It is
// not pgbench: its figures compare with those of other runs on SQLite
// only.
func CalibrateSQLite(ctx context.Context, cfg SQLiteCalibration) (_ Calibration, err error) {
	if cfg.Duration <= 0 {
		cfg.Duration = DefaultCalibrationDuration
	}
	if len(cfg.Clients) == 0 {
		cfg.Clients = DefaultCalibrationClients()
	}
	prog := progressOf(cfg.Progress)
	cal := Calibration{
		Method: CalibrationSQLite, Unit: "SQLite commits/s", When: cfg.When, Started: time.Now().UTC(),
		Description: fmt.Sprintf("not pgbench: commits/s of a transaction updating one row (UPDATE … SET n = n + 1 WHERE id = $1, "+
			"a row per goroutine) through the project's sqldb package on a SQLite file in the run's folder "+
			"(WAL, synchronous=NORMAL, as the services' databases), %s per goroutine count", cfg.Duration),
	}
	fail := func(err error) (Calibration, error) {
		cal.Points = nil
		cal.Unavailable = err.Error()
		return cal, err
	}
	if cfg.Dir == "" {
		return fail(errors.New("calibration: no folder for the SQLite file"))
	}
	dir, err := os.MkdirTemp(cfg.Dir, "calibration-")
	if err != nil {
		return fail(fmt.Errorf("calibration: %w", err))
	}
	defer func() {
		if rerr := os.RemoveAll(dir); rerr != nil {
			err = errors.Join(err, fmt.Errorf("calibration: removing %s: %w", dir, rerr))
		}
	}()
	db, err := sqldb.Open(ctx, "sqlite:"+filepath.Join(dir, "calibration.db"))
	if err != nil {
		return fail(fmt.Errorf("calibration: %w", err))
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE calibration (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"); err != nil {
		return fail(fmt.Errorf("calibration: creating the table: %w", err))
	}
	for id := range slices.Max(cfg.Clients) {
		if _, err := db.ExecContext(ctx, "INSERT INTO calibration (id, n) VALUES ($1, 0)", id); err != nil {
			return fail(fmt.Errorf("calibration: inserting row %d: %w", id, err))
		}
	}
	for _, n := range cfg.Clients {
		fmt.Fprintf(prog, "calibration: SQLite one-row updates, %d goroutines for %s\n", n, cfg.Duration)
		p, err := sqliteCommits(ctx, db, n, cfg.Duration)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(prog, "calibration: %d goroutines: %s SQLite commits/s\n", n, formatTPS(p.TPS))
		cal.Points = append(cal.Points, p)
	}
	return cal, nil
}

// sqliteCommits runs clients goroutines, each committing one-row updates
// of its own row until d has passed, and returns their commit rate.
func sqliteCommits(ctx context.Context, db *sqldb.DB, clients int, d time.Duration) (CalibrationPoint, error) {
	var (
		mu      sync.Mutex
		commits int
		busy    time.Duration
		errList []error
		wg      sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for id := range clients {
		wg.Go(func() {
			n, spent := 0, time.Duration(0)
			var err error
			for time.Now().Before(deadline) && err == nil {
				t0 := time.Now()
				err = db.InTx(ctx, func(tx *sqldb.Tx) error {
					_, err := tx.ExecContext(ctx, "UPDATE calibration SET n = n + 1 WHERE id = $1", id)
					return err
				})
				if err == nil {
					n++
					spent += time.Since(t0)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			commits += n
			busy += spent
			if err != nil {
				errList = append(errList, err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errList...); err != nil {
		return CalibrationPoint{}, fmt.Errorf("calibration: SQLite updates, %d goroutines: %w", clients, err)
	}
	if commits == 0 {
		return CalibrationPoint{}, fmt.Errorf("calibration: no SQLite commit in %s with %d goroutines", elapsed, clients)
	}
	return CalibrationPoint{
		Clients:      clients,
		TPS:          float64(commits) / elapsed.Seconds(),
		LatencyMs:    busy.Seconds() * 1000 / float64(commits),
		Transactions: commits,
		DurationS:    elapsed.Seconds(),
	}, nil
}

// For returns the calibration point a closed-loop point of clients clients
// compares with: the one whose number of clients is nearest on a log scale
// (with 1 and 10 calibrated: 1 for 1 to 3 clients, 10 for 4 and more), the
// smaller on a tie. It returns false without points.
func (c Calibration) For(clients int) (CalibrationPoint, bool) {
	var best CalibrationPoint
	found := false
	dist := func(p CalibrationPoint) float64 {
		return math.Abs(math.Log(float64(clients)) - math.Log(float64(p.Clients)))
	}
	for _, p := range c.Points {
		if p.Clients < 1 || !(p.TPS > 0) {
			continue
		}
		if d, bd := dist(p), dist(best); !found || d < bd-1e-12 || (math.Abs(d-bd) <= 1e-12 && p.Clients < best.Clients) {
			best, found = p, true
		}
	}
	return best, found && clients >= 1
}

// ratioName names a ratio of a throughput in unit to the calibration, e.g.
// "orders/s per pgbench tps".
func (c Calibration) ratioName(unit string) string { return unit + " per " + c.Unit }

// matching describes which calibration point each number of clients
// compares with, e.g. "1 client for 1 to 3 clients, 10 clients for 4 and
// more".
func (c Calibration) matching() string {
	last := 0
	for _, p := range c.Points {
		if p.TPS > 0 {
			last = max(last, p.Clients)
		}
	}
	if last < 1 {
		return ""
	}
	// Group 1 … last by the point they compare with; from last on, every
	// number compares with last's point.
	var parts []string
	lo := 1
	for n := 1; n <= last; n++ {
		cur, _ := c.For(n)
		if n < last {
			if next, _ := c.For(n + 1); next.Clients == cur.Clients {
				continue
			}
		}
		switch {
		case n == last:
			parts = append(parts, fmt.Sprintf("%s for %d and more", clientsOf(cur.Clients), lo))
		case n == lo:
			parts = append(parts, fmt.Sprintf("%s for %d", clientsOf(cur.Clients), lo))
		default:
			parts = append(parts, fmt.Sprintf("%s for %d to %d", clientsOf(cur.Clients), lo, n))
		}
		lo = n + 1
	}
	return strings.Join(parts, ", ")
}

// fillCalibrationRatios sets every closed-loop point's PerCalibration, of
// the variants and the ceilings, and the calibration's Ratio.
func (r *Report) fillCalibrationRatios() {
	if r.Calibration == nil {
		return
	}
	c := r.Calibration
	c.Ratio = ""
	if len(c.Points) > 0 {
		c.Ratio = fmt.Sprintf("%s (%s for a ceiling): a closed-loop point's throughput over the calibration's %s "+
			"at the calibrated number of clients nearest on a log scale (%s)",
			c.ratioName("orders/s"), c.ratioName("ops/s"), c.Unit, c.matching())
	}
	fill := func(points []Point) {
		for i := range points {
			p := &points[i]
			p.PerCalibration = 0
			if cp, ok := c.For(p.Clients); ok && p.Mode == ModeClosed && p.Skipped == "" {
				p.PerCalibration = roundSignificant(p.Throughput/cp.TPS, 4)
			}
		}
	}
	for i := range r.Variants {
		fill(r.Variants[i].Closed)
	}
	for i := range r.Ceilings {
		fill(r.Ceilings[i].Closed)
	}
}

// hasRatios reports whether the report's closed-loop points carry ratios
// to a calibration.
func (r Report) hasRatios() bool { return r.Calibration != nil && len(r.Calibration.Points) > 0 }

// ratioHeader returns the table header of the ratio column for throughput
// in unit, "" without ratios.
func (r Report) ratioHeader(unit string) string {
	if !r.hasRatios() {
		return ""
	}
	return r.Calibration.ratioName(unit) + "\t"
}

// ratioCell returns the table cell of p's ratio, "" without ratios.
func (r Report) ratioCell(p Point) string {
	if !r.hasRatios() {
		return ""
	}
	if p.PerCalibration <= 0 {
		return "-\t"
	}
	return formatRatio(p.PerCalibration) + "\t"
}

// calibrationLines describes the calibration for the table's and the
// chart's header: what ran, when, its figures, and how to read the ratios.
// It returns nothing for a report without a calibration.
func (r Report) calibrationLines() []string {
	c := r.Calibration
	if c == nil {
		return nil
	}
	when := ""
	if c.When != "" {
		when = ", " + c.When
	}
	if len(c.Points) == 0 {
		why := c.Unavailable
		if why == "" {
			why = "nothing measured"
		}
		return []string{fmt.Sprintf("Calibration (%s%s): none, %s; no ratios.", c.Method, when, why)}
	}
	return []string{
		fmt.Sprintf("Calibration%s: %s: %s.", when, c.Description, c.figures()),
		fmt.Sprintf("Ratios: %s.", c.Ratio),
	}
}

// figures lists the calibration's rates, e.g. "989 pgbench tps with 1
// client, 3084 with 10 clients".
func (c Calibration) figures() string {
	parts := make([]string, len(c.Points))
	for i, p := range c.Points {
		parts[i] = fmt.Sprintf("%s with %s", formatTPS(p.TPS), clientsOf(p.Clients))
		if i == 0 {
			parts[i] = fmt.Sprintf("%s %s with %s", formatTPS(p.TPS), c.Unit, clientsOf(p.Clients))
		}
	}
	return strings.Join(parts, ", ")
}

// clientsOf says "1 client" or "n clients".
func clientsOf(n int) string {
	if n == 1 {
		return "1 client"
	}
	return strconv.Itoa(n) + " clients"
}

// pgbenchVersion shortens what pgbench --version prints to its first
// three words, e.g. "pgbench (PostgreSQL) 15.20".
func pgbenchVersion(out string) string {
	f := strings.Fields(out)
	return strings.Join(f[:min(len(f), 3)], " ")
}

// wrap breaks s into lines of at most width characters at spaces (a
// longer word stays whole).
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// calibrationCaption returns the chart's caption lines about the
// calibration: the figures, then each variant's and ceiling's ratios,
// wrapped to the chart's width.
func (r Report) calibrationCaption() []string {
	lines := r.calibrationLines()
	if r.hasRatios() {
		pointRatios := func(points []Point) string {
			var parts []string
			for _, p := range points {
				if p.PerCalibration > 0 {
					parts = append(parts, fmt.Sprintf("%s at %d", formatRatio(p.PerCalibration), p.Clients))
				}
			}
			return strings.Join(parts, ", ")
		}
		for _, v := range r.Variants {
			if s := pointRatios(v.Closed); s != "" {
				lines = append(lines, fmt.Sprintf("%s, %s (clients): %s", v.Name, r.Calibration.ratioName("orders/s"), s))
			}
		}
		for _, ce := range r.Ceilings {
			if s := pointRatios(ce.Closed); s != "" {
				lines = append(lines, fmt.Sprintf("%s ceiling, %s (clients): %s", ce.Framework, r.Calibration.ratioName("ops/s"), s))
			}
		}
	}
	var wrapped []string
	for _, l := range lines {
		wrapped = append(wrapped, wrap(l, captionWidth)...)
	}
	return wrapped
}

// captionWidth is the most characters of a line of the chart's caption.
const captionWidth = 130

// formatRatio prints a ratio with three significant digits, no exponent.
func formatRatio(x float64) string {
	switch {
	case x >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case x >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	case x >= 1:
		return strconv.FormatFloat(x, 'f', 2, 64)
	default:
		return strconv.FormatFloat(roundSignificant(x, 3), 'f', -1, 64)
	}
}

// formatTPS prints a rate: whole numbers from 100 up, one decimal below.
func formatTPS(x float64) string {
	if x >= 100 {
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strconv.FormatFloat(x, 'f', 1, 64)
}

// roundSignificant rounds x to n significant digits.
func roundSignificant(x float64, n int) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	scale := math.Pow(10, float64(n)-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*scale) / scale
}

// progressOf returns w, or io.Discard for nil.
func progressOf(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// hostOf returns the host:port of a URL, without its credentials.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return sqldb.Redact(raw)
	}
	return u.Host
}

// lastLines returns the last n non-empty lines of s, joined by " | ".
func lastLines(s string, n int) string {
	var lines []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines[max(len(lines)-n, 0):], " | ")
}
