package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/deploy/deploycheck"
)

// The configuration reference of README.md is the section "## Configuration":
// one "### `ordersaga <command>`" heading per command with flags, then a
// Markdown table with the columns flag, environment, default and meaning, a
// row per flag ("`-name`" in the first cell). TestREADME_Configuration...
// checks it against the flags each command's help lists and the ORDERSAGA_*
// variables the binary reads, so it cannot go stale. To write the section
// the code implies (meanings taken from the flags' help) to a file:
//
//	ORDERSAGA_TEST_CONFIG_TABLE=/tmp/config.md go test ./deploy/cmd/ordersaga -run TestREADME_Configuration

// readmePath is the repository's README, from this package's folder.
const readmePath = "../../../README.md"

// configHeading starts the configuration reference in README.md.
const configHeading = "## Configuration"

// flagDoc is one flag of a command, as the command's help lists it.
type flagDoc struct {
	name string // without the dash
	env  string // the environment variable setting it, or ""
	// def is the default as the help shows it; "" when the help shows none
	// (the zero value of its type: empty, 0 or false).
	def       string
	boolean   bool   // a flag given without a value
	valueName string // the name of its value in the help ("folder")
	meaning   string
}

// commandDoc is a command that has flags.
type commandDoc struct {
	path  string // "run", "dlq list"
	flags []flagDoc
}

// documentedCommands returns every command of the table with flags, each
// with the flags its -h lists, in an environment without variables.
func documentedCommands(t *testing.T) []commandDoc {
	t.Helper()
	var paths []string
	var walk func(prefix string, table []command)
	walk = func(prefix string, table []command) {
		for _, c := range table {
			if c.sub != nil {
				walk(prefix+c.name+" ", c.sub)
				continue
			}
			paths = append(paths, prefix+c.name)
		}
	}
	walk("", commands())
	var out []commandDoc
	for _, p := range paths {
		env, _, stderr := testEnv(nil)
		if code := execute(context.Background(), env, append(strings.Fields(p), "-h")); code != 0 {
			t.Fatalf("ordersaga %s -h: exit code %d; stderr:\n%s", p, code, stderr)
		}
		if flags := parseHelpFlags(stderr.String()); len(flags) > 0 {
			out = append(out, commandDoc{path: p, flags: flags})
		}
	}
	return out
}

var (
	// helpFlagLine starts a flag in flag.PrintDefaults output:
	// "  -name" and its value's name, if any.
	helpFlagLine = regexp.MustCompile(`^  -([A-Za-z0-9][A-Za-z0-9._-]*)(?:[ \t](\S+))?`)
	helpEnv      = regexp.MustCompile(` ?\[\$([A-Z][A-Z0-9_]*)\]`)
)

// parseHelpFlags reads the flags of flag.PrintDefaults output.
func parseHelpFlags(help string) []flagDoc {
	var out []flagDoc
	var usage []string
	var cur *flagDoc
	finish := func() {
		if cur == nil {
			return
		}
		text := strings.Join(usage, " ")
		// flag.PrintDefaults ends the help with " (default …)" unless
		// the default is the zero value; quoted for a string flag.
		if i := strings.LastIndex(text, " (default "); i >= 0 && strings.HasSuffix(text, ")") {
			def := text[i+len(" (default ") : len(text)-1]
			if unq, err := strconv.Unquote(def); err == nil && strings.HasPrefix(def, `"`) {
				def = unq
			}
			cur.def = def
			text = text[:i]
		}
		if m := helpEnv.FindStringSubmatch(text); m != nil {
			cur.env = m[1]
			text = helpEnv.ReplaceAllString(text, "")
		}
		cur.meaning = strings.TrimSpace(text)
		out = append(out, *cur)
		cur, usage = nil, nil
	}
	for line := range strings.SplitSeq(help, "\n") {
		if m := helpFlagLine.FindStringSubmatch(line); m != nil {
			finish()
			cur = &flagDoc{name: m[1], boolean: m[2] == "", valueName: m[2]}
			if rest, ok := strings.CutPrefix(line, "  -"+m[1]+"\t"); ok { // a one-letter flag: usage on the same line
				usage = append(usage, strings.TrimSpace(rest))
				cur.boolean, cur.valueName = false, ""
			}
			continue
		}
		if cur != nil {
			if text, ok := strings.CutPrefix(line, "    \t"); ok {
				usage = append(usage, strings.TrimSpace(text))
				continue
			}
			finish()
		}
	}
	finish()
	return out
}

// mdTable is a Markdown table under a "###" heading.
type mdTable struct {
	heading string
	rows    [][]string // cells of each row, header and separator excluded
}

// markdownSection returns the text after the line heading up to the next
// heading of the same or a higher level (outside code blocks).
func markdownSection(doc, heading string) (string, bool) {
	lines := strings.Split(doc, "\n")
	start := slices.Index(lines, heading)
	if start < 0 {
		return "", false
	}
	level := headingLevel(heading)
	var b strings.Builder
	inCode := false
	for _, l := range lines[start+1:] {
		if strings.HasPrefix(l, "```") {
			inCode = !inCode
		}
		if n := headingLevel(l); !inCode && n > 0 && n <= level {
			break
		}
		b.WriteString(l + "\n")
	}
	return b.String(), true
}

// headingLevel returns the level of a Markdown heading line ("## x": 2),
// or 0 for another line.
func headingLevel(line string) int {
	n := len(line) - len(strings.TrimLeft(line, "#"))
	if n == 0 || n == len(line) || line[n] != ' ' {
		return 0
	}
	return n
}

// markdownTables returns the tables of section, each with the "###"
// heading above it.
func markdownTables(section string) []mdTable {
	var out []mdTable
	heading := ""
	inTable := false
	for _, l := range strings.Split(section, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "### "):
			heading, inTable = l, false
		case strings.HasPrefix(l, "|"):
			cells := tableCells(l)
			if !inTable { // the header row
				out = append(out, mdTable{heading: heading})
				inTable = true
				continue
			}
			if len(cells) > 0 && strings.Trim(strings.Join(cells, ""), "-: ") == "" {
				continue // the separator row
			}
			out[len(out)-1].rows = append(out[len(out)-1].rows, cells)
		default:
			inTable = false
		}
	}
	return out
}

// tableCells splits a table row at the pipes that are not escaped.
func tableCells(row string) []string {
	row = strings.TrimSuffix(strings.TrimPrefix(row, "|"), "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(row); i++ {
		switch {
		case row[i] == '\\' && i+1 < len(row) && row[i+1] == '|':
			cur.WriteByte('|')
			i++
		case row[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(row[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// codeSpans returns the `code` spans of a cell.
func codeSpans(cell string) []string {
	var out []string
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

// rowFlags returns the flags a row documents: the `-name` spans of its
// first cell.
func rowFlags(cells []string) []string {
	var out []string
	if len(cells) == 0 {
		return nil
	}
	for _, s := range codeSpans(cells[0]) {
		if name, ok := strings.CutPrefix(s, "-"); ok && name != "" && !strings.Contains(name, " ") {
			out = append(out, name)
		}
	}
	return out
}

// namesCommand reports whether a heading names `ordersaga <path>`.
func namesCommand(heading, path string) bool {
	return slices.Contains(codeSpans(heading), "ordersaga "+path)
}

func TestREADME_ConfigurationSection_ListsEveryFlagAndVariable(t *testing.T) {
	cmds := documentedCommands(t)
	env := binaryEnv(t)
	if out := os.Getenv("ORDERSAGA_TEST_CONFIG_TABLE"); out != "" {
		if err := os.WriteFile(out, []byte(configSection(cmds, env)), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote the configuration section to %s", out)
	}
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkConfigSection(string(readme), cmds, env) {
		t.Error(p)
	}
}

func TestCheckConfigSection_TheGeneratedSectionPasses_ABrokenOneDoesNot(t *testing.T) {
	cmds := documentedCommands(t)
	env := binaryEnv(t)
	doc := "# ordersaga\n\n" + configSection(cmds, env) + "\n## Next\n"
	if problems := checkConfigSection(doc, cmds, env); len(problems) > 0 {
		t.Fatalf("the generated section has problems:\n%s", strings.Join(problems, "\n"))
	}
	for _, tc := range []struct {
		name     string
		old, new string
		want     string
	}{
		{"row missing", "| `-seed` | `ORDERSAGA_SEED` | `true` |", "| `-sed` | `ORDERSAGA_SEED` | `true` |", "`ordersaga run`: the table has no row for -seed"},
		{"flag the command lacks", "| `-seed` | `ORDERSAGA_SEED` | `true` |", "| `-seed`, `-kafka-topic` | `ORDERSAGA_SEED` | `true` |", "lists -kafka-topic, which no command it names has"},
		{"wrong variable", "| `-faults` | `ORDERSAGA_FAULTS` |", "| `-faults` | `ORDERSAGA_FAULT` |", "the row of -faults does not name its variable `ORDERSAGA_FAULTS`"},
		{"wrong default", "| `-kafka-partitions` | `ORDERSAGA_KAFKA_PARTITIONS` | `4` |", "| `-kafka-partitions` | `ORDERSAGA_KAFKA_PARTITIONS` | `8` |", "the row of -kafka-partitions does not give its default `4`"},
		{"command missing", "### `ordersaga healthcheck`", "### `ordersaga health`", "no table under a ### heading naming `ordersaga healthcheck`"},
		{"variable missing", "`ORDERSAGA_ROLES`", "`ORDERSAGA_ROLE_LIST`", "does not name `ORDERSAGA_ROLES`"},
		{"variable of a help missing", "`OTEL_EXPORTER_OTLP_ENDPOINT`", "OTEL_EXPORTER_OTLP_ENDPOINT", "does not name `OTEL_EXPORTER_OTLP_ENDPOINT`, which a flag's help mentions"},
		{"heading missing", configHeading + "\n", "## Settings\n", "has no line \"## Configuration\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broken := strings.ReplaceAll(doc, tc.old, tc.new)
			if broken == doc {
				t.Fatalf("%q is not in the generated section", tc.old)
			}
			problems := checkConfigSection(broken, cmds, env)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("no problem mentions %q; got:\n%s", tc.want, strings.Join(problems, "\n"))
			}
		})
	}
}

// binaryEnv returns the ORDERSAGA_* variables the binary's code reads.
func binaryEnv(t *testing.T) map[string]bool {
	t.Helper()
	r, err := deploycheck.FindRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := deploycheck.ReadBinary(r)
	if err != nil {
		t.Fatal(err)
	}
	return bin.Env
}

// checkConfigSection returns what the section configHeading of readme
// lacks or gets wrong: a table per command of cmds, a row per flag with
// its variable and its default (when not the zero value), no flag a
// command lacks, and every variable of env named somewhere.
func checkConfigSection(readme string, cmds []commandDoc, env map[string]bool) []string {
	var problems []string
	addf := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	section, ok := markdownSection(readme, configHeading)
	if !ok {
		addf("README.md has no line %q; ORDERSAGA_TEST_CONFIG_TABLE=<file> go test ./deploy/cmd/ordersaga -run TestREADME_Configuration writes the section the code implies", configHeading)
		return problems
	}
	tables := markdownTables(section)
	flagsOf := map[string]map[string]flagDoc{}
	for _, c := range cmds {
		flagsOf[c.path] = map[string]flagDoc{}
		for _, f := range c.flags {
			flagsOf[c.path][f.name] = f
		}
	}
	for _, c := range cmds {
		rows := map[string][]string{}
		found := false
		for _, tb := range tables {
			if !namesCommand(tb.heading, c.path) {
				continue
			}
			found = true
			for _, cells := range tb.rows {
				for _, name := range rowFlags(cells) {
					rows[name] = cells
				}
			}
		}
		if !found {
			addf("%s: no table under a ### heading naming `ordersaga %s`", configHeading, c.path)
			continue
		}
		for _, f := range c.flags {
			cells, ok := rows[f.name]
			switch {
			case !ok:
				addf("`ordersaga %s`: the table has no row for -%s", c.path, f.name)
				continue
			case len(cells) < 4:
				addf("`ordersaga %s`: the row of -%s has %d cells, want flag, environment, default, meaning", c.path, f.name, len(cells))
				continue
			}
			if f.env != "" && !slices.Contains(codeSpans(cells[1]), f.env) {
				addf("`ordersaga %s`: the row of -%s does not name its variable `%s`", c.path, f.name, f.env)
			}
			if f.env == "" && strings.Contains(cells[1], "ORDERSAGA_") {
				addf("`ordersaga %s`: the row of -%s names a variable, but none sets the flag", c.path, f.name)
			}
			if f.def != "" && !slices.ContainsFunc(codeSpans(cells[2]), func(s string) bool { return strings.EqualFold(s, f.def) }) {
				addf("`ordersaga %s`: the row of -%s does not give its default `%s`", c.path, f.name, f.def)
			}
		}
	}
	for _, tb := range tables {
		var named []string
		for _, c := range cmds {
			if namesCommand(tb.heading, c.path) {
				named = append(named, c.path)
			}
		}
		if len(named) == 0 {
			continue
		}
		for _, cells := range tb.rows {
			for _, name := range rowFlags(cells) {
				if !slices.ContainsFunc(named, func(p string) bool { _, ok := flagsOf[p][name]; return ok }) {
					addf("%s: the table of %s lists -%s, which no command it names has", configHeading, tb.heading, name)
				}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if !strings.Contains(section, "`"+name+"`") {
			addf("%s does not name `%s`, which the binary reads", configHeading, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(mentionedVariables(cmds))) {
		if !strings.Contains(section, "`"+name+"`") {
			addf("%s does not name `%s`, which a flag's help mentions", configHeading, name)
		}
	}
	return problems
}

// helpVariable is an environment variable a flag's help mentions: "$NAME".
var helpVariable = regexp.MustCompile(`\$([A-Z][A-Z0-9_]*)`)

// mentionedVariables returns the variables of other programs' conventions
// (not ORDERSAGA_*) the flags' helps mention, each with the flags
// mentioning it ("`ordersaga run -otel-endpoint`").
func mentionedVariables(cmds []commandDoc) map[string][]string {
	out := map[string][]string{}
	for _, c := range cmds {
		for _, f := range c.flags {
			for _, m := range helpVariable.FindAllStringSubmatch(f.meaning, -1) {
				if !strings.HasPrefix(m[1], "ORDERSAGA_") {
					out[m[1]] = append(out[m[1]], "`ordersaga "+c.path+" -"+f.name+"`")
				}
			}
		}
	}
	return out
}

// nonFlagRows are rows of the generated tables for settings of a command
// that are no flag.
func nonFlagRows() map[string][]string {
	roles := "| `<role>[,<role>…]` (arguments) | `ORDERSAGA_ROLES` | (none) | the roles hosted when no argument names them: orders, inventory, payment, shipping or all |"
	return map[string][]string{
		"orchestrated":  {roles},
		"choreographed": {roles},
		"healthcheck":   {"| (no flag) | `ORDERSAGA_HTTP_ADDR` | (unset) | the listen address of the process in the container; the default `-url` is `/readyz` on its port (a wildcard host read as 127.0.0.1), or on 127.0.0.1:8080 when unset |"},
	}
}

// otherVariableMeanings describe the variables the binary reads that set
// no flag of a command's table.
func otherVariableMeanings() map[string]string {
	return map[string]string{
		"ORDERSAGA_TEST_POSTGRES": "tests only: the PostgreSQL server the tests use (default `postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable`); without it they skip the PostgreSQL cases, except when `CI` is set, where they fail",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "standard OpenTelemetry variable: the OTLP collector when `-otel-endpoint` is empty " +
			"(`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` wins over it; the SDK's other `OTEL_EXPORTER_OTLP_*` variables apply too)",
		"OTEL_SERVICE_NAME": "standard OpenTelemetry variable: the process's name in a trace viewer when `-otel-service-name` is empty " +
			"(`OTEL_RESOURCE_ATTRIBUTES` adds attributes)",
	}
}

// configSection returns the configuration reference the code implies:
// env holds the ORDERSAGA_* variables the binary reads.
func configSection(cmds []commandDoc, env map[string]bool) string {
	var b strings.Builder
	b.WriteString(configHeading + "\n\n")
	b.WriteString("Every command's flags, and the environment variable of each flag that has one; a flag wins over\n")
	b.WriteString("the environment, which wins over the default. `ordersaga help <command>` prints the same.\n")
	b.WriteString("Passwords in database addresses are never logged or shown in a help text.\n")
	seen := map[string]bool{}
	for _, c := range cmds {
		fmt.Fprintf(&b, "\n### `ordersaga %s`\n\n", c.path)
		b.WriteString("| flag | environment | default | meaning |\n| --- | --- | --- | --- |\n")
		for _, f := range c.flags {
			envCell := "—"
			if f.env != "" {
				envCell = "`" + f.env + "`"
				seen[f.env] = true
			}
			fmt.Fprintf(&b, "| `-%s` | %s | %s | %s |\n", f.name, envCell, defaultCell(f), mdEscape(f.meaning))
		}
		for _, row := range nonFlagRows()[c.path] {
			b.WriteString(row + "\n")
			for _, s := range codeSpans(row) {
				seen[s] = true
			}
		}
	}
	mentioned := mentionedVariables(cmds)
	var others []string
	for name := range env {
		if !seen[name] {
			others = append(others, name)
		}
	}
	for name := range mentioned {
		if !seen[name] && !env[name] {
			others = append(others, name)
		}
	}
	if len(others) > 0 {
		slices.Sort(others)
		b.WriteString("\n### Other environment variables\n\n| variable | meaning |\n| --- | --- |\n")
		for _, name := range others {
			meaning, ok := otherVariableMeanings()[name]
			switch {
			case ok:
			case len(mentioned[name]) > 0:
				meaning = "see " + strings.Join(mentioned[name], ", ")
			default:
				meaning = "(to describe)"
			}
			fmt.Fprintf(&b, "| `%s` | %s |\n", name, meaning)
		}
	}
	return b.String()
}

// zeroDefaults are the default cells of flags whose default is the zero
// value of their type (which a help does not show), by the name of their
// value; other such flags default to empty.
func zeroDefaults() map[string]string {
	return map[string]string{
		"level": "`info`", // slog.Level
		"share": "`0`",
	}
}

// defaultCell is the default column of a flag.
func defaultCell(f flagDoc) string {
	if cell, ok := zeroDefaults()[f.valueName]; ok && f.def == "" {
		return cell
	}
	switch {
	case f.def != "":
		d := f.def
		if strings.ToUpper(d) == d && strings.ToLower(d) != d && !strings.ContainsAny(d, "0123456789") {
			d = strings.ToLower(d) // a log level: INFO
		}
		return "`" + strings.ReplaceAll(d, "|", `\|`) + "`"
	case f.boolean:
		return "`false`"
	default:
		return "(empty)"
	}
}

// mdEscape makes s safe in a table cell.
func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func TestParseHelpFlags_ReadsNamesVariablesAndDefaults(t *testing.T) {
	help := "Usage: x\n\nFlags:\n" +
		"  -data-dir folder\n    \tfolder of the files [$ORDERSAGA_DATA_DIR] (default \"./data\")\n" +
		"  -down\n    \trevert every migration\n" +
		"  -faults\n    \tserve faults [$ORDERSAGA_FAULTS] (default true)\n" +
		"  -http-addr host:port\n    \tlisten host:port (default 127.0.0.1:8081 for orders) [$ORDERSAGA_HTTP_ADDR]\n" +
		"  -n\tcount of things (default 3)\n" +
		"  -timeout time\n    \tmost time the request\n    \tmay take (default 3s)\n"
	got := parseHelpFlags(help)
	want := []flagDoc{
		{name: "data-dir", env: "ORDERSAGA_DATA_DIR", def: "./data", valueName: "folder", meaning: "folder of the files"},
		{name: "down", boolean: true, meaning: "revert every migration"},
		{name: "faults", env: "ORDERSAGA_FAULTS", def: "true", boolean: true, meaning: "serve faults"},
		{name: "http-addr", env: "ORDERSAGA_HTTP_ADDR", valueName: "host:port", meaning: "listen host:port (default 127.0.0.1:8081 for orders)"},
		{name: "n", def: "3", meaning: "count of things"},
		{name: "timeout", def: "3s", valueName: "time", meaning: "most time the request may take"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseHelpFlags:\n got %+v\nwant %+v", got, want)
	}
}

func TestMarkdownTables_ReadsRowsUnderTheirHeading(t *testing.T) {
	doc := "# Title\n\n## Configuration\n\nIntro.\n\n### `ordersaga run`\n\n| flag | environment | default | meaning |\n| --- | --- | --- | --- |\n" +
		"| `-a` | `ORDERSAGA_A` | `x\\|y` | the a |\n\n### `ordersaga dlq list` and `ordersaga dlq replay`\n\n| flag | environment | default | meaning |\n|---|---|---|---|\n" +
		"| `-kafka-brokers`, `-topic-prefix` | … | | |\n\n## Next\n\n| `-z` | | | |\n"
	section, ok := markdownSection(doc, configHeading)
	if !ok {
		t.Fatal("no section")
	}
	tables := markdownTables(section)
	if len(tables) != 2 {
		t.Fatalf("%d tables, want 2: %+v", len(tables), tables)
	}
	if !namesCommand(tables[0].heading, "run") || len(tables[0].rows) != 1 || tables[0].rows[0][2] != "`x|y`" {
		t.Errorf("first table %+v", tables[0])
	}
	if !namesCommand(tables[1].heading, "dlq replay") || !slices.Equal(rowFlags(tables[1].rows[0]), []string{"kafka-brokers", "topic-prefix"}) {
		t.Errorf("second table %+v", tables[1])
	}
}
