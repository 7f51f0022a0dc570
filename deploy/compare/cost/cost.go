package cost

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/deploy/bench"
	"github.com/ordersaga/ordersaga/deploy/bench/rig"
	"github.com/ordersaga/ordersaga/deploy/compare/report"
	"github.com/ordersaga/ordersaga/deploy/compare/section"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
	"github.com/ordersaga/ordersaga/shared/hosted"
)

// The cost section's settings.
const (
	costOrdersQuick = 30
	costOrdersFull  = 300
	// costClients place orders at once, on one stack at a time.
	costClients = 4
	// costWarmup orders per stack run before anything is measured: the
	// first orders pay for connections, caches and task queues.
	costWarmup = 4
	// costIdleQuick and costIdleFull are the idle baseline's length on
	// SQLite; on PostgreSQL it is bench.DefaultCommitBackground, the
	// window the background commits are measured over.
	costIdleQuick = time.Second
	costIdleFull  = 3 * time.Second
	// costQuietWindow is how long a stack's services must commit nothing
	// (and, choreographed, its outboxes hold nothing) for its orders'
	// work to be over; costQuietTimeout bounds the wait.
	costQuietWindow  = 400 * time.Millisecond
	costQuietPoll    = 100 * time.Millisecond
	costQuietTimeout = 30 * time.Second
)

// costPlan is how the section measures.
type costPlan struct {
	Orders, Clients, Warmup int
	// Idle is the idle baseline's length.
	Idle time.Duration
	// Settle is the wait for PostgreSQL's statistics to take in the
	// commits (0 on SQLite).
	Settle time.Duration
}

// newCostPlan returns the plan of a quick or full run, on PostgreSQL or
// not.
func newCostPlan(quick, postgres bool) costPlan {
	p := costPlan{Orders: costOrdersFull, Clients: costClients, Warmup: costWarmup, Idle: costIdleFull}
	if quick {
		p.Orders, p.Idle = costOrdersQuick, costIdleQuick
	}
	if postgres {
		p.Idle, p.Settle = bench.DefaultCommitBackground, bench.DefaultCommitSettle
	}
	return p
}

// Result is what the section measured of one variant: totals over
// its orders, and per order.
type Result struct {
	Variant string `json:"variant"`
	// External says the stack was one given by URL.
	External bool        `json:"external"`
	Orders   int         `json:"orders"`
	Outcome  costOutcome `json:"outcome"`
	// RunSeconds is the time from the first order to the end of the last
	// order's work (services quiet).
	RunSeconds float64 `json:"run_seconds"`
	// CPU is the process CPU time of the orders, the idle baseline taken
	// off.
	CPU costCPU `json:"cpu"`
	// Commits are the services' databases' commits by the project's count
	// (ordersaga_db_commits_total), by database role.
	Commits costCount `json:"commits"`
	// PGTransactions are pg_stat_database.xact_commit of the services'
	// databases (PostgreSQL only), by role.
	PGTransactions *costCount `json:"pg_transactions,omitempty"`
	// Kafka is what the broker's topics took in (choreographed).
	Kafka *costKafka `json:"kafka,omitempty"`
	// History is what Temporal keeps of the sagas (orchestrated).
	History *costHistory `json:"history,omitempty"`
	// TemporalCommits are the Temporal server's PostgreSQL transactions,
	// default store ("main") and visibility store ("visibility")
	// (orchestrated, PostgreSQL only).
	TemporalCommits *costCount `json:"temporal_commits,omitempty"`
	// Stored is what the databases (and the framework's store) grew by.
	Stored *costStored `json:"stored,omitempty"`
	// Problems say what could not be measured and why.
	Problems []string `json:"problems,omitempty"`
}

// costCPU is the CPU time of a run.
type costCPU struct {
	// Source is "getrusage" (this process) or "process_cpu_seconds_total"
	// (the stack's /metrics).
	Source string `json:"source"`
	// Seconds is the CPU time from the first order to the end of the last
	// order's work; IdleRate the CPU seconds per second the same process
	// used just before with every stack idle; Orders the first less the
	// second times the run's length.
	Seconds  float64 `json:"seconds"`
	IdleRate float64 `json:"idle_rate"`
	Orders   float64 `json:"orders_seconds"`
	PerOrder float64 `json:"per_order_ms"`
}

// costCount is a count over a run, by part (a database's role), with
// what the same counters counted per second while idle taken off.
type costCount struct {
	Total    float64            `json:"total"`
	PerOrder float64            `json:"per_order"`
	ByPart   map[string]float64 `json:"by_part_per_order,omitempty"`
	// BackgroundPerS is what the counters counted per second with every
	// stack idle, taken off Total.
	BackgroundPerS float64 `json:"background_per_s"`
}

// costKafka is the choreographed run's traffic on the broker.
type costKafka struct {
	// Source is "broker" (the topics read) or "metrics" (the relays'
	// counters, from outside).
	Source         string           `json:"source"`
	Messages       float64          `json:"messages"`
	Bytes          float64          `json:"bytes"`
	MessagesPerOrd float64          `json:"messages_per_order"`
	BytesPerOrd    float64          `json:"bytes_per_order"`
	ByTopic        map[string]int64 `json:"by_topic,omitempty"`
	RelayMessages  float64          `json:"relay_messages"`
	RelayBytes     float64          `json:"relay_bytes"`
}

// costStored is what the databases grew by over a run.
type costStored struct {
	// Source says how: "SQLite pages in use" or "pg_database_size".
	Source string `json:"source"`
	// Services is the services' databases' growth, by role too.
	Services float64            `json:"services_bytes"`
	ByRole   map[string]float64 `json:"by_role_bytes"`
	// Framework is the framework's store's growth: the Temporal server's
	// databases, or the bytes the broker (in memory) retains of the
	// messages.
	Framework      float64 `json:"framework_bytes"`
	FrameworkWhat  string  `json:"framework_what"`
	PerOrder       float64 `json:"services_per_order"`
	WithFramework  float64 `json:"with_framework_per_order"`
	FrameworkKnown bool    `json:"framework_known"`
}

// costSnap is one read of a stack's counters.
type costSnap struct {
	At time.Time
	// CPU is the CPU seconds of the process running the stack.
	CPU float64
	// Commits are the project's count by role, and Metrics the scrape
	// they were read from.
	Commits map[string]float64
	Metrics costMetrics
	// PG is pg_stat_database.xact_commit of the services' databases by
	// role, Temporal that of the Temporal server's by "main" and
	// "visibility" (nil when not read).
	PG       map[string]float64
	Temporal map[string]float64
}

// costMeter reads the counters of one variant's stack.
type costMeter struct {
	e        *section.Env
	variant  string
	base     string
	external bool
	hc       *http.Client
	pg       *costPG
	prefix   string
	temporal func(ctx context.Context) (main, visibility int64, err error)
}

// snap reads the counters; withPG reads PostgreSQL's too.
func (m *costMeter) snap(ctx context.Context, withPG bool) (costSnap, error) {
	s := costSnap{At: time.Now()}
	if !m.external {
		cpu, err := costProcessCPU()
		if err != nil {
			return s, err
		}
		s.CPU = cpu.Seconds()
	}
	mt, err := scrapeCostMetrics(ctx, m.hc, m.base)
	if err != nil {
		return s, err
	}
	s.Metrics = mt
	s.Commits = mt.by(hosted.CommitsMetric, "database")
	if m.external {
		s.CPU = mt.sum(costMetricCPU)
	}
	if withPG && m.pg != nil {
		dbs := costServiceDatabases(m.prefix, m.variant)
		got, err := m.pg.xactCommits(ctx, slices.Collect(maps.Values(dbs)))
		if err != nil {
			return s, err
		}
		s.PG = map[string]float64{}
		for role, name := range dbs {
			s.PG[role] = got[name]
		}
		if m.temporal != nil {
			main, vis, err := m.temporal(ctx)
			if err != nil {
				return s, err
			}
			s.Temporal = map[string]float64{"main": float64(main), "visibility": float64(vis)}
		}
	}
	return s, nil
}

// costDelta returns the count of a run from before to after, less what
// the counters counted per second from idle to before (the background)
// times the run's span, with its background rate.
func costDelta(idle, before, after map[string]float64, idleFrom, idleTo, from, to time.Time) (total, rate float64, byPart map[string]float64) {
	idleSpan := idleTo.Sub(idleFrom).Seconds()
	span := to.Sub(from).Seconds()
	byPart = map[string]float64{}
	for k, a := range after {
		bg := 0.0
		if idleSpan > 0 {
			bg = (before[k] - idle[k]) / idleSpan
		}
		d := a - before[k] - bg*span
		byPart[k] = d
		total += d
		rate += bg
	}
	return total, rate, byPart
}

// newCostCount makes a costCount of a run of n orders.
func newCostCount(n int, idle, before, after map[string]float64, idleFrom, idleTo, from, to time.Time) *costCount {
	total, rate, by := costDelta(idle, before, after, idleFrom, idleTo, from, to)
	c := &costCount{Total: costRound2(total), PerOrder: costRound2(total / float64(n)), BackgroundPerS: costRound2(rate), ByPart: map[string]float64{}}
	for k, v := range by {
		c.ByPart[k] = costRound2(v / float64(n))
	}
	return c
}

// costRound2 rounds to two decimals.
func costRound2(x float64) float64 { return math.Round(x*100) / 100 }

// Section measures, for each variant, what an order of the normal mix
// costs: CPU, database commits, the framework's records (Kafka messages,
// Temporal history) and stored bytes.
func Section(ctx context.Context, e *section.Env) (*report.Section, error) {
	pgMode := e.PostgresURL != "" && e.Rig != nil
	plan := newCostPlan(e.Quick, pgMode)
	sec := &report.Section{}
	e.Setting("cost: orders per variant", fmt.Sprintf("%d (%d clients, %.0f%% shipped to a refused country), after %d warm-up orders",
		plan.Orders, plan.Clients, 100*costFailureShare, plan.Warmup))
	prefix := e.PostgresDBPrefix
	if prefix == "" {
		prefix = rig.DefaultDBPrefix
	}
	var pg *costPG
	if pgMode {
		var err error
		if pg, err = openCostPG(ctx, e.PostgresURL); err != nil {
			return sec, err
		}
		defer pg.close()
	}
	meters := map[string]*costMeter{}
	drivers := map[string]*costDriver{}
	t0 := time.Now()
	stamp := strconv.FormatInt(time.Now().UnixNano()%1e10, 36)
	for _, v := range report.Variants() {
		m := &costMeter{e: e, variant: v, base: e.URLs[v], external: e.External[v], hc: &http.Client{Timeout: 30 * time.Second}, prefix: prefix}
		if !m.external {
			m.pg = pg
			if v == report.Orchestrated && pgMode {
				m.temporal = e.Rig.TemporalCommits()
			}
		}
		meters[v] = m
		d, err := newCostDriver(e.URLs[v], "cost-"+v[:5]+"-"+stamp, e.Keys)
		if err != nil {
			return sec, err
		}
		if err := d.setup(ctx); err != nil {
			return sec, fmt.Errorf("%s: %w", v, err)
		}
		if _, err := d.run(ctx, plan.Warmup, min(plan.Warmup, plan.Clients)); err != nil {
			return sec, fmt.Errorf("%s warm-up: %w", v, err)
		}
		drivers[v] = d
	}
	for _, v := range report.Variants() {
		if err := meters[v].quiet(ctx); err != nil {
			return sec, err
		}
	}
	e.Progressf("set up and warmed up both stacks in %v", time.Since(t0).Round(time.Millisecond))
	if pgMode {
		e.Progressf("waiting %v for PostgreSQL's statistics to settle", plan.Settle)
		if !costSleep(ctx, plan.Settle) {
			return sec, ctx.Err()
		}
	}
	results := map[string]*Result{}
	var errs []error
	for _, v := range report.Variants() {
		res, err := measureCost(ctx, e, meters[v], drivers[v], plan)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v, err))
		}
		if res != nil {
			results[v] = res
		}
		if ctx.Err() != nil {
			break
		}
	}
	fillCostSection(sec, e, plan, pgMode, results)
	return sec, errors.Join(errs...)
}

// quiet waits until the stack's services committed nothing for
// costQuietWindow and, choreographed, its outboxes are empty.
func (m *costMeter) quiet(ctx context.Context) error {
	deadline := time.Now().Add(costQuietTimeout)
	var last float64 = -1
	var since time.Time
	for {
		mt, err := scrapeCostMetrics(ctx, m.hc, m.base)
		if err != nil {
			return err
		}
		commits := mt.sum(hosted.CommitsMetric)
		pending := mt.sum(costMetricOutboxPending)
		now := time.Now()
		if commits != last || pending > 0 {
			last, since = commits, now
		} else if now.Sub(since) >= costQuietWindow {
			return nil
		}
		if now.After(deadline) {
			return fmt.Errorf("%s: the services still commit (or outboxes hold %v messages) after %v", m.variant, pending, costQuietTimeout)
		}
		if !costSleep(ctx, costQuietPoll) {
			return ctx.Err()
		}
	}
}

// measureCost runs plan.Orders orders on one variant, the other idle, and
// measures what they cost.
func measureCost(ctx context.Context, e *section.Env, m *costMeter, d *costDriver, plan costPlan) (*Result, error) {
	v := m.variant
	res := &Result{Variant: v, External: m.external, Orders: plan.Orders}
	pgMode := m.pg != nil
	e.Progressf("%s: idle baseline over %v", v, plan.Idle)
	idle, err := m.snap(ctx, true)
	if err != nil {
		return nil, err
	}
	if !costSleep(ctx, plan.Idle) {
		return nil, ctx.Err()
	}
	before, err := m.snap(ctx, true)
	if err != nil {
		return nil, err
	}
	stored0, storedErr := m.stored(ctx)
	brokers := m.brokers()
	var ends0 map[costPartition]int64
	if brokers != nil {
		if ends0, err = costKafkaEnds(ctx, brokers); err != nil {
			return nil, err
		}
	}
	e.Progressf("%s: %d orders, %d at a time", v, plan.Orders, plan.Clients)
	start, err := m.snap(ctx, false)
	if err != nil {
		return nil, err
	}
	out, runErr := d.run(ctx, plan.Orders, plan.Clients)
	res.Outcome = out
	if runErr != nil {
		return nil, runErr
	}
	ran := time.Now()
	if err := m.quiet(ctx); err != nil {
		return nil, err
	}
	e.Progressf("%s: orders final in %v, quiet %v later", v, ran.Sub(start.At).Round(time.Millisecond), time.Since(ran).Round(time.Millisecond))
	end, err := m.snap(ctx, false)
	if err != nil {
		return nil, err
	}
	n := float64(plan.Orders)
	e.Progressf("%s: %d orders (%d completed, %d failed) and their work over in %v", v, plan.Orders, out.Completed, out.Failed,
		end.At.Sub(start.At).Round(time.Millisecond))
	res.RunSeconds = costRound2(end.At.Sub(start.At).Seconds())

	// CPU: the run's, less the idle baseline's rate over its length.
	cpu := end.CPU - start.CPU
	rate := (before.CPU - idle.CPU) / before.At.Sub(idle.At).Seconds()
	res.CPU = costCPU{Source: "getrusage", Seconds: costRound3(cpu), IdleRate: costRound3(rate)}
	if m.external {
		res.CPU.Source = costMetricCPU
	}
	res.CPU.Orders = costRound3(cpu - rate*end.At.Sub(start.At).Seconds())
	res.CPU.PerOrder = costRound2(1000 * res.CPU.Orders / n)

	// The project's count of commits, from before (its background from
	// idle to before).
	if len(end.Commits) == 0 {
		res.Problems = append(res.Problems, "the stack serves no "+hosted.CommitsMetric)
	}
	res.Commits = *newCostCount(plan.Orders, idle.Commits, before.Commits, end.Commits, idle.At, before.At, before.At, end.At)

	// Kafka: the topics read, or the relays' counters.
	if v == report.Choreographed {
		k := &costKafka{Source: "metrics",
			RelayMessages: end.Metrics.sum(costMetricPublished) - start.Metrics.sum(costMetricPublished),
			RelayBytes:    end.Metrics.sum(costMetricPublishedBytes) - start.Metrics.sum(costMetricPublishedBytes)}
		k.Messages, k.Bytes = k.RelayMessages, k.RelayBytes
		if brokers != nil {
			ends1, err := costKafkaEnds(ctx, brokers)
			if err != nil {
				return nil, err
			}
			t, err := costKafkaRead(ctx, brokers, ends0, ends1)
			if err != nil {
				return nil, err
			}
			k.Source, k.Messages, k.Bytes, k.ByTopic = "broker", float64(t.Messages), float64(t.Bytes), t.ByTopic
		} else if !end.Metrics.has(costMetricPublishedBytes) {
			res.Problems = append(res.Problems, "the stack serves no "+costMetricPublishedBytes)
		}
		k.MessagesPerOrd, k.BytesPerOrd = costRound2(k.Messages/n), costRound2(k.Bytes/n)
		res.Kafka = k
	}

	// Temporal: the sagas' histories.
	if v == report.Orchestrated {
		if hostPort, ns := m.temporalAddress(); hostPort != "" {
			c, err := dialCostTemporal(ctx, hostPort, ns)
			if err != nil {
				return nil, err
			}
			hctx, cancel := context.WithTimeout(ctx, costQuietTimeout)
			h, err := costHistories(hctx, c, out.IDs)
			cancel()
			c.Close()
			if err != nil {
				return nil, err
			}
			res.History = &h
		} else {
			res.Problems = append(res.Problems, "Temporal's address is not known for a stack given by URL: its histories were not read")
		}
	}

	// PostgreSQL's counters, once its statistics took in the run's
	// commits.
	after := end
	if pgMode {
		e.Progressf("%s: waiting %v for PostgreSQL's statistics to settle", v, plan.Settle)
		if !costSleep(ctx, plan.Settle) {
			return nil, ctx.Err()
		}
		if after, err = m.snap(ctx, true); err != nil {
			return nil, err
		}
		res.PGTransactions = newCostCount(plan.Orders, idle.PG, before.PG, after.PG, idle.At, before.At, before.At, after.At)
		if after.Temporal != nil {
			res.TemporalCommits = newCostCount(plan.Orders, idle.Temporal, before.Temporal, after.Temporal, idle.At, before.At, before.At, after.At)
		}
	}

	// Stored bytes.
	if storedErr == nil && stored0 != nil {
		stored1, err := m.stored(ctx)
		if err != nil {
			return nil, err
		}
		res.Stored = costGrowth(stored0, stored1, n)
		if v == report.Choreographed && res.Kafka != nil && res.Kafka.Source == "broker" {
			res.Stored.Framework, res.Stored.FrameworkKnown = res.Kafka.Bytes, true
			res.Stored.FrameworkWhat = "the broker (in memory) retains the messages: their keys, values and headers"
		}
		res.Stored.WithFramework = costRound2((res.Stored.Services + res.Stored.Framework) / n)
	} else if storedErr != nil && !m.external { // a stack given by URL: said in the notes
		res.Problems = append(res.Problems, storedErr.Error())
	}
	e.Progressf("%s: measured in %v", v, time.Since(idle.At).Round(time.Millisecond))
	return res, nil
}

// costRound3 rounds to three decimals.
func costRound3(x float64) float64 { return math.Round(x*1000) / 1000 }

// costSizes are the sizes of a stack's databases, by role, and of the
// framework's store ("" when not read).
type costSizes struct {
	Source    string
	ByRole    map[string]float64
	Framework map[string]float64
}

// stored reads the sizes of the variant's databases: nil (and an error
// saying why) when they cannot be read, for a stack given by URL.
func (m *costMeter) stored(ctx context.Context) (*costSizes, error) {
	if m.external {
		return nil, errors.New("the stored bytes of a stack given by URL are not read (its databases are its own)")
	}
	s := &costSizes{ByRole: map[string]float64{}}
	if m.pg != nil {
		s.Source = "pg_database_size"
		dbs := costServiceDatabases(m.prefix, m.variant)
		got, err := m.pg.sizes(ctx, slices.Collect(maps.Values(dbs)))
		if err != nil {
			return nil, err
		}
		for role, name := range dbs {
			s.ByRole[role] = got[name]
		}
		if m.variant == report.Orchestrated {
			if s.Framework, err = m.pg.sizes(ctx, costTemporalDatabases(m.prefix)); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
	s.Source = "SQLite pages in use"
	stacks := filepath.Join(m.e.Dir, "stacks")
	for _, r := range hosted.AllRoles() {
		u, err := readCostSQLiteUsage(filepath.Join(stacks, m.variant, string(r)+".db"))
		if err != nil {
			return nil, err
		}
		s.ByRole[string(r)] = float64(u.UsedBytes())
	}
	if m.variant == report.Orchestrated {
		s.Framework = map[string]float64{}
		main := filepath.Join(stacks, "temporal", "temporal.db")
		for _, f := range []string{main, temporaldev.VisibilityFile(main)} {
			u, err := readCostSQLiteUsage(f)
			if err != nil {
				return nil, err
			}
			s.Framework[filepath.Base(f)] = float64(u.UsedBytes())
		}
	}
	return s, nil
}

// costGrowth is what the databases grew by from a to b, over n orders.
func costGrowth(a, b *costSizes, n float64) *costStored {
	st := &costStored{Source: a.Source, ByRole: map[string]float64{}}
	for role, v := range b.ByRole {
		st.ByRole[role] = v - a.ByRole[role]
		st.Services += v - a.ByRole[role]
	}
	if b.Framework != nil {
		for k, v := range b.Framework {
			st.Framework += v - a.Framework[k]
		}
		st.FrameworkKnown = true
		st.FrameworkWhat = "the Temporal server's databases (" + strings.Join(slices.Sorted(maps.Keys(b.Framework)), ", ") + ")"
	}
	st.PerOrder = costRound2(st.Services / n)
	return st
}

// brokers returns the embedded broker's addresses when the variant is the
// in-process choreographed stack, else nil.
func (m *costMeter) brokers() []string {
	if m.variant != report.Choreographed || m.external || m.e.Rig == nil {
		return nil
	}
	return m.e.Rig.KafkaBrokers()
}

// temporalAddress returns the embedded Temporal server's frontend and
// namespace when the variant is the in-process orchestrated stack.
func (m *costMeter) temporalAddress() (string, string) {
	if m.external || m.e.Rig == nil {
		return "", ""
	}
	return m.e.Rig.TemporalAddress()
}

// costSleep waits d or until ctx ends, and reports whether ctx is live.
func costSleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
