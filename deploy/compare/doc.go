// Package compare runs the two saga variants side by side on this machine, in
// one go, and writes one report of what it measured: the outcomes of every
// scenario of the suite, speed, cost per order, behaviour under failure, and
// the cost of a change, each for both variants, with its unit and how it was
// measured.
//
// Run starts what it measures in-process (the embedded Temporal server and
// broker and both stacks, on SQLite files or on PostgreSQL with
// Options.PostgresURL), or measures stacks already running from outside
// (Options.OrchestratedURL, Options.ChoreographedURL) where that can be done
// through their API and /metrics. Each section is a stage with a progress
// line; a stage that fails is reported as failed and the others go on.
//
// Each section is a package of its own (outcomes, speed, cost, failure,
// change) whose Section function measures against a section.Env (the run's
// settings and stacks) and returns a report.Section; package report holds
// the report model and its rendering. The report is written as Markdown
// (report.md), as one self-contained HTML page with inline SVG charts
// (report.html), and as JSON (report.json). Every section carries, beside
// its tables and charts, its figures as a flat list (report.Section.Figures),
// each with its variant, unit and method, which is what the tests check.
package compare
