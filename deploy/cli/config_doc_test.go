package cli

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The configuration reference of README.md is the section "## Configuration":
// one "### `ordersaga <command>`" heading per command with flags, then a
// Markdown table with the columns flag, environment, default and meaning, a
// row per flag ("`-name`" in the first cell). TestREADME_Configuration...
// checks it against the flags of the command table (Command.Settings) and
// the variables the commands read, so it cannot go stale. To write the section
// the code implies (meanings taken from the flags' help) to a file:
//
//	ORDERSAGA_TEST_CONFIG_TABLE=/tmp/config.md go test ./deploy/cli -run TestREADME_Configuration

// readmePath is the repository's README, from this package's folder.
const readmePath = "../../README.md"

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
// with its flags as its help lists them.
func documentedCommands(t *testing.T) []commandDoc {
	t.Helper()
	var out []commandDoc
	for _, l := range Leaves(Commands()) {
		flags, _ := l.Settings()
		var docs []flagDoc
		for _, f := range flags {
			docs = append(docs, flagDoc{name: f.Name, env: f.Env, def: f.Default, boolean: f.IsBool, valueName: f.ValueName, meaning: f.Usage})
		}
		if len(docs) > 0 {
			out = append(out, commandDoc{path: l.Path, flags: docs})
		}
	}
	if len(out) == 0 {
		t.Fatal("no command of the table has flags")
	}
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

// binaryEnv returns the environment variables the commands read.
func binaryEnv(t *testing.T) map[string]bool {
	t.Helper()
	env := map[string]bool{}
	for _, l := range Leaves(Commands()) {
		_, vars := l.Settings()
		for _, name := range vars {
			env[name] = true
		}
	}
	return env
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
		addf("README.md has no line %q; ORDERSAGA_TEST_CONFIG_TABLE=<file> go test ./deploy/cli -run TestREADME_Configuration writes the section the code implies", configHeading)
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
	roles := "| `<role>[,<role>…]` (arguments) | `ORDERSAGA_ROLES` | (none) | the roles hosted when no argument names them: " + strings.Join(roleNames(), ", ") + " or all |"
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
	b.WriteString("Passwords in database addresses, and signing secrets, are never logged or shown in a help text.\n")
	b.WriteString("Every command reads its flags and variables through one package (`deploy/internal/envflag`);\n")
	b.WriteString("`go test ./deploy/cli` checks these tables against the binary's command table (`deploy/cli`).\n")
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
	for name := range otherVariableMeanings() {
		if !seen[name] && !env[name] && len(mentioned[name]) == 0 {
			others = append(others, name) // read outside the binary (by tests)
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
		"level":       "`info`", // slog.Level
		"share":       "`0`",
		"number":      "`0`",
		"connections": "`0`",
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
