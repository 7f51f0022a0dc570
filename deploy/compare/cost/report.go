package cost

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/deploy/compare/report"
	"github.com/ordersaga/ordersaga/deploy/compare/section"
	"github.com/ordersaga/ordersaga/shared/hosted"
)

// costRow is a row of the cost table: a measure, its unit and how to read
// it from a variant's result (ok false when the variant has none).
type costRow struct {
	name, unit string
	value      func(r *Result) (float64, bool)
}

// costRows are the cost table's rows, each also a figure.
func costRows() []costRow {
	return []costRow{
		{"CPU", "CPU ms/order", func(r *Result) (float64, bool) { return r.CPU.PerOrder, true }},
		{"service database commits", "commits/order", func(r *Result) (float64, bool) { return r.Commits.PerOrder, true }},
		{"pg_stat_database transactions", "transactions/order", func(r *Result) (float64, bool) {
			if r.PGTransactions == nil {
				return 0, false
			}
			return r.PGTransactions.PerOrder, true
		}},
		{"Kafka messages", "messages/order", func(r *Result) (float64, bool) {
			if r.Kafka == nil {
				return 0, false
			}
			return r.Kafka.MessagesPerOrd, true
		}},
		{"Kafka bytes", "bytes/order", func(r *Result) (float64, bool) {
			if r.Kafka == nil {
				return 0, false
			}
			return r.Kafka.BytesPerOrd, true
		}},
		{"Temporal history events", "events/order", func(r *Result) (float64, bool) {
			if r.History == nil || r.History.Sagas == 0 {
				return 0, false
			}
			return costRound2(float64(r.History.Events) / float64(r.History.Sagas)), true
		}},
		{"Temporal history bytes", "bytes/order", func(r *Result) (float64, bool) {
			if r.History == nil || r.History.Sagas == 0 {
				return 0, false
			}
			return costRound2(float64(r.History.Bytes) / float64(r.History.Sagas)), true
		}},
		{"Temporal persistence commits", "commits/order", func(r *Result) (float64, bool) {
			if r.TemporalCommits == nil {
				return 0, false
			}
			return r.TemporalCommits.ByPart["main"], true
		}},
		{"Temporal visibility commits", "commits/order", func(r *Result) (float64, bool) {
			if r.TemporalCommits == nil {
				return 0, false
			}
			return r.TemporalCommits.ByPart["visibility"], true
		}},
		{"stored bytes", "bytes/order", func(r *Result) (float64, bool) {
			if r.Stored == nil {
				return 0, false
			}
			return r.Stored.PerOrder, true
		}},
		{"stored bytes with the framework's store", "bytes/order", func(r *Result) (float64, bool) {
			if r.Stored == nil || !r.Stored.FrameworkKnown {
				return 0, false
			}
			return r.Stored.WithFramework, true
		}},
	}
}

// costMethods says how each figure was measured, by figure name.
func costMethods(pg bool) map[string]string {
	store := "SQLite: the pages in use (size less free pages, from the database file and its write-ahead log) of the variant's service databases, after less before"
	if pg {
		store = "pg_database_size of the variant's service databases, after (statistics settled) less before"
	}
	return map[string]string{
		"CPU": "process CPU time (user+system) over the run less the idle baseline's rate times the run's length, per order",
		"service database commits": "ordersaga_db_commits_total of the stack's /metrics (transactions the services committed, counted in shared/sqldb), after less before, " +
			"less what it counted per second idle, per order",
		"pg_stat_database transactions": "pg_stat_database.xact_commit of the variant's service databases (read-only transactions too), " +
			"settled, after less before, less the idle rate, per order",
		"Kafka messages":               "messages the broker's topics took in (their offsets before and after), per order",
		"Kafka bytes":                  "keys, values and headers of those messages, read from the topics, per order",
		"Temporal history events":      "DescribeWorkflowExecution of each order's saga: history length, averaged",
		"Temporal history bytes":       "DescribeWorkflowExecution of each order's saga: history size in bytes, averaged",
		"Temporal persistence commits": "pg_stat_database.xact_commit of the Temporal server's default store, settled, less its idle rate, per order",
		"Temporal visibility commits":  "pg_stat_database.xact_commit of the Temporal server's visibility store, settled, less its idle rate, per order",
		"stored bytes":                 store + ", per order",
		"stored bytes with the framework's store": "the services' stored bytes plus the Temporal server's databases' growth (orchestrated) " +
			"or the bytes of the messages the in-memory broker retains (choreographed), per order",
	}
}

// fillCostSection writes the results into the section: figures, tables,
// charts, method, summary and notes.
func fillCostSection(sec *report.Section, e *section.Env, plan costPlan, pg bool, results map[string]*Result) {
	sec.Method = costMethod(plan, pg)
	methods := costMethods(pg)
	sec.Data = results
	// Figures, and the main table.
	main := report.Table{Title: "Cost per order", Columns: []string{"measure"}}
	for _, v := range report.Variants() {
		main.Columns = append(main.Columns, v)
	}
	main.Columns = append(main.Columns, "unit")
	for _, row := range costRows() {
		cells := []string{row.name}
		measured := false
		for _, v := range report.Variants() {
			r := results[v]
			if r == nil {
				cells = append(cells, "not measured")
				continue
			}
			val, ok := row.value(r)
			if !ok {
				cells = append(cells, "—")
				continue
			}
			measured = true
			method := methods[row.name]
			if row.name == "CPU" && r.CPU.Source != "getrusage" {
				method = "process_cpu_seconds_total of the stack's /metrics over the run less its idle rate times the run's length, per order"
			}
			if row.name == "Kafka messages" && r.Kafka.Source != "broker" {
				method = "ordersaga_outbox_published_total of the stack's /metrics, after less before, per order (the outboxes' messages only)"
			}
			if row.name == "Kafka bytes" && r.Kafka.Source != "broker" {
				method = "ordersaga_outbox_published_bytes_total of the stack's /metrics, after less before, per order (the outboxes' messages only)"
			}
			sec.Add(v, row.name, val, row.unit, method)
			cells = append(cells, costFormat(val))
		}
		if !measured {
			continue
		}
		main.Rows = append(main.Rows, append(cells, row.unit))
	}
	main.Notes = []string{"— : not a cost of that variant (or not on this store)."}
	sec.Tables = append(sec.Tables, main)

	// Per database role.
	roles := report.Table{Title: "Service database commits per order, by database", Columns: []string{"database"}}
	for _, v := range report.Variants() {
		roles.Columns = append(roles.Columns, v+" (project count)")
	}
	if pg {
		for _, v := range report.Variants() {
			roles.Columns = append(roles.Columns, v+" (pg_stat_database)")
		}
	}
	for _, role := range hosted.AllRoles() {
		cells := []string{string(role)}
		for _, v := range report.Variants() {
			r := results[v]
			if r == nil {
				cells = append(cells, "not measured")
				continue
			}
			val := r.Commits.ByPart[string(role)]
			sec.Add(v, "service database commits: "+string(role), val, "commits/order", methods["service database commits"])
			cells = append(cells, costFormat(val))
		}
		if pg {
			for _, v := range report.Variants() {
				r := results[v]
				if r == nil || r.PGTransactions == nil {
					cells = append(cells, "not measured")
					continue
				}
				val := r.PGTransactions.ByPart[string(role)]
				sec.Add(v, "pg_stat_database transactions: "+string(role), val, "transactions/order", methods["pg_stat_database transactions"])
				cells = append(cells, costFormat(val))
			}
		}
		roles.Rows = append(roles.Rows, cells)
	}
	sec.Tables = append(sec.Tables, roles)

	// The runs.
	runs := report.Table{Title: "The measured runs", Columns: []string{"variant", "orders", "completed", "failed", "run", "CPU of the run", "idle CPU", "source of CPU"}}
	for _, v := range report.Variants() {
		r := results[v]
		if r == nil {
			continue
		}
		runs.Rows = append(runs.Rows, []string{v, strconv.Itoa(r.Orders), strconv.Itoa(r.Outcome.Completed), strconv.Itoa(r.Outcome.Failed),
			(time.Duration(r.RunSeconds * float64(time.Second))).Round(10 * time.Millisecond).String(),
			fmt.Sprintf("%.3f s", r.CPU.Seconds), fmt.Sprintf("%.3f s/s", r.CPU.IdleRate), r.CPU.Source})
	}
	sec.Tables = append(sec.Tables, runs)

	sec.Charts = costCharts(results, pg)
	sec.Summary = costSummary(results)
	sec.Notes = costNotes(e, pg, results)
}

// costFormat formats a per-order value.
func costFormat(v float64) string {
	switch {
	case v >= 1000 || v <= -1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10 || v <= -10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// costCharts are the section's charts: CPU, commits, framework records,
// and bytes per order.
func costCharts(results map[string]*Result, pg bool) []report.Chart {
	value := func(v, name string) (float64, bool) {
		r := results[v]
		if r == nil {
			return 0, false
		}
		for _, row := range costRows() {
			if row.name == name {
				return row.value(r)
			}
		}
		return 0, false
	}
	group := func(label string, names map[string]string) report.BarGroup {
		g := report.BarGroup{Label: label}
		for _, v := range report.Variants() {
			if x, ok := value(v, names[v]); ok {
				g.Bars = append(g.Bars, report.Bar{Series: v, Value: x})
			}
		}
		return g
	}
	same := func(name string) map[string]string {
		return map[string]string{report.Orchestrated: name, report.Choreographed: name}
	}
	nonEmpty := func(gs ...report.BarGroup) []report.BarGroup {
		var out []report.BarGroup
		for _, g := range gs {
			if len(g.Bars) > 0 {
				out = append(out, g)
			}
		}
		return out
	}
	commits := []report.BarGroup{group("service databases (project count)", same("service database commits"))}
	if pg {
		commits = append(commits, group("service databases (pg_stat_database)", same("pg_stat_database transactions")),
			group("Temporal's store (pg_stat_database)", same("Temporal persistence commits")))
	}
	charts := []report.Chart{
		{Title: "CPU per order", Unit: "CPU ms", LowerIsBetter: true, Groups: nonEmpty(group("CPU", same("CPU")))},
		{Title: "Commits per order", Unit: "commits", LowerIsBetter: true, Groups: nonEmpty(commits...)},
		{Title: "The framework's records per order: history events (orchestrated), Kafka messages (choreographed)", Unit: "records",
			LowerIsBetter: true, Groups: nonEmpty(group("records", map[string]string{report.Orchestrated: "Temporal history events", report.Choreographed: "Kafka messages"}))},
		{Title: "Bytes per order", Unit: "bytes", LowerIsBetter: true, Groups: nonEmpty(
			group("framework's records (history / messages)", map[string]string{report.Orchestrated: "Temporal history bytes", report.Choreographed: "Kafka bytes"}),
			group("stored: services", same("stored bytes")),
			group("stored: with the framework's store", same("stored bytes with the framework's store")))},
	}
	var out []report.Chart
	for _, c := range charts {
		if len(c.Groups) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// costSummary are the section's findings, one line each.
func costSummary(results map[string]*Result) []string {
	o, c := results[report.Orchestrated], results[report.Choreographed]
	var lines []string
	pair := func(what, unit string, ov, cv float64) {
		line := fmt.Sprintf("%s: orchestrated %s, choreographed %s %s", what, costFormat(ov), costFormat(cv), unit)
		if ov > 0 && cv > 0 {
			line += fmt.Sprintf(" (choreographed/orchestrated %.2f)", cv/ov)
		}
		lines = append(lines, line)
	}
	if o != nil && c != nil {
		pair("CPU per order", "CPU ms", o.CPU.PerOrder, c.CPU.PerOrder)
		pair("Service database commits per order", "commits", o.Commits.PerOrder, c.Commits.PerOrder)
		if o.PGTransactions != nil && c.PGTransactions != nil {
			pair("PostgreSQL transactions per order in the service databases (pg_stat_database)", "transactions",
				o.PGTransactions.PerOrder, c.PGTransactions.PerOrder)
		}
		if o.Stored != nil && c.Stored != nil {
			pair("Stored bytes per order in the service databases", "bytes", o.Stored.PerOrder, c.Stored.PerOrder)
			if o.Stored.FrameworkKnown && c.Stored.FrameworkKnown {
				pair("Stored bytes per order with the framework's store", "bytes", o.Stored.WithFramework, c.Stored.WithFramework)
			}
		}
	}
	if o != nil && o.History != nil && o.History.Sagas > 0 {
		line := fmt.Sprintf("Orchestrated: Temporal keeps %s history events (%s bytes) per saga",
			costFormat(float64(o.History.Events)/float64(o.History.Sagas)), costFormat(float64(o.History.Bytes)/float64(o.History.Sagas)))
		if o.TemporalCommits != nil {
			line += fmt.Sprintf(", and its store commits %s transactions per saga (visibility %s)",
				costFormat(o.TemporalCommits.ByPart["main"]), costFormat(o.TemporalCommits.ByPart["visibility"]))
		}
		lines = append(lines, line)
	}
	if c != nil && c.Kafka != nil {
		lines = append(lines, fmt.Sprintf("Choreographed: %s Kafka messages (%s bytes) per order",
			costFormat(c.Kafka.MessagesPerOrd), costFormat(c.Kafka.BytesPerOrd)))
	}
	return lines
}

// costMethod is the section's method paragraph.
func costMethod(plan costPlan, pg bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Each variant in turn runs %d orders of the normal mix (1 to 3 products, 1 to 3 units each; %.0f%% shipped to a country "+
		"the shipping service refuses, which fail at shipping and compensate inventory and payment), %d at a time through the REST API "+
		"(POST /v1/orders?wait=%s, as the customers), while the other variant is idle; %d warm-up orders per variant ran before. "+
		"A run ends when its last order is final and the stack's services committed nothing for %v (choreographed: its outboxes empty too). ",
		plan.Orders, 100*costFailureShare, plan.Clients, costOrderWait, plan.Warmup, costQuietWindow)
	fmt.Fprintf(&b, "Just before each run, with every stack idle, an idle baseline of %v reads the same counters; what they counted per second "+
		"then, times the run's length, is taken off the run's count (CPU; commits; on PostgreSQL pg_stat_database). ", plan.Idle)
	b.WriteString("CPU is the process's CPU time (getrusage, user+system) for a stack in this process, which holds both stacks, the driver's HTTP " +
		"client, the embedded Temporal server and the embedded broker: it is the CPU of the whole system an order needs, driver included; for a " +
		"stack given by URL it is process_cpu_seconds_total of its /metrics. ")
	b.WriteString("Service database commits are counted by the project (shared/sqldb counts every transaction InTx commits, and the relays' " +
		"single-statement deletes) and read from each stack's /metrics (ordersaga_db_commits_total{database}). ")
	if pg {
		fmt.Fprintf(&b, "On PostgreSQL the counters of pg_stat_database are read %v after the last commit (PostgreSQL passes on an idle "+
			"connection's counts only after 10 s); they count read-only transactions too (status reads, the relays' polls). ", plan.Settle)
	}
	b.WriteString("Kafka messages and bytes are read from the broker's topics (every topic, offsets before and after); Temporal's histories " +
		"from DescribeWorkflowExecution of each order's saga (workflow order-<order id>). Stored bytes are what the databases grew by over the run.")
	return b.String()
}

// costNotes are the section's notes.
func costNotes(e *section.Env, pg bool, results map[string]*Result) []string {
	notes := []string{
		"By design the orchestrated variant's saga state lives in Temporal (its history and its store's rows), the choreographed " +
			"variant's in the services' own tables (inbox, outbox, order timeline) and in the messages on the broker: compare the " +
			"figures with the framework's store, not only the services'.",
		"The CPU of an in-process stack includes the driver's HTTP client and the embedded Temporal server or broker (the other " +
			"variant's idle work is in the idle baseline, taken off); a real deployment spreads it over several processes and machines.",
		"Kafka consumer groups' offset commits are not counted as messages (the embedded broker keeps them in memory; Apache Kafka " +
			"writes them to __consumer_offsets).",
	}
	if pg {
		notes = append(notes, "pg_database_size grows by 8 KiB pages and counts row versions an update or delete left until vacuum; "+
			"the Temporal server's stored bytes are its two databases' growth.")
	} else {
		notes = append(notes,
			"On SQLite the Temporal server's persistence commits are not counted: SQLite has no commit counter and Temporal's store "+
				"is not reached through the project's code (its PostgreSQL figures are measured with -postgres).",
			"Stored bytes on SQLite grow by whole pages (4 KiB) per database; the Temporal server's are its two files' pages in use "+
				"(temporal.db, temporal-visibility.db).")
	}
	notes = append(notes, "The embedded broker keeps its messages in memory: the choreographed variant's framework store is the "+
		"bytes of the messages it retains (keys, values, headers), without Kafka's record framing and indexes.")
	for _, v := range report.Variants() {
		if e.External[v] {
			notes = append(notes, v+": a stack given by URL: CPU from its process_cpu_seconds_total, commits and Kafka traffic from its "+
				"/metrics; stored bytes, pg_stat_database and Temporal's figures were not measured (its databases and Temporal server are its own).")
		}
		if r := results[v]; r != nil {
			for _, p := range r.Problems {
				notes = append(notes, v+": "+p)
			}
			if r.Kafka != nil && len(r.Kafka.ByTopic) > 0 {
				topics := slices.Sorted(maps.Keys(r.Kafka.ByTopic))
				parts := make([]string, len(topics))
				for i, t := range topics {
					parts[i] = fmt.Sprintf("%s %d", t, r.Kafka.ByTopic[t])
				}
				notes = append(notes, fmt.Sprintf("%s: messages by topic over %d orders: %s (the relays published %.0f messages of %.0f bytes).",
					v, r.Orders, strings.Join(parts, ", "), r.Kafka.RelayMessages, r.Kafka.RelayBytes))
			}
		} else {
			notes = append(notes, v+": not measured (see the section's error).")
		}
	}
	return notes
}
