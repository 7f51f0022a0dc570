package report

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// reportTitle is the title of every rendering of a report.
const reportTitle = "ordersaga: orchestrated and choreographed, side by side"

// Write writes report.md, report.html and report.json into dir, creating
// it.
func Write(rep *Report, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		return err
	}
	page, err := renderHTML(rep)
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{
		"report.md":   []byte(renderMarkdown(rep)),
		"report.html": page,
		"report.json": js.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	}
	return nil
}

// Headlines draws the report's main findings from its sections: the first
// line of each section's summary, and for a section that failed without
// one, its error.
func Headlines(rep *Report) []string {
	var hs []string
	for _, s := range rep.Sections {
		switch {
		case len(s.Summary) > 0:
			hs = append(hs, s.Summary[0])
		case s.Error != "":
			hs = append(hs, fmt.Sprintf("%s: did not complete: %s", sectionTitle(s), firstLine(s.Error)))
		}
	}
	return hs
}

// sectionTitle is the section's title, or its key.
func sectionTitle(s *Section) string {
	if s.Title != "" {
		return s.Title
	}
	return s.Key
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// formatValue formats a figure's value: integers whole, others to a
// precision that suits their size.
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	a := math.Abs(v)
	var s string
	switch {
	case a >= 100:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	default:
		s = strconv.FormatFloat(v, 'g', 3, 64)
		if strings.ContainsAny(s, "e") {
			return s
		}
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// withUnit formats a value with its unit.
func withUnit(v float64, unit string) string {
	if unit == "" {
		return formatValue(v)
	}
	return formatValue(v) + " " + unit
}

// variantLabel names a figure's variant ("" is a value of both, such as
// a framework ceiling's).
func variantLabel(v string) string {
	if v == "" {
		return "both / framework"
	}
	return v
}

// setupRows are the setup's lines, as label and value.
func setupRows(s Setup) [][2]string {
	rows := [][2]string{{"Machine", s.Machine}, {"Go", s.GoVersion}}
	if len(s.Modules) > 0 {
		ks := make([]string, 0, len(s.Modules))
		for k := range s.Modules {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		parts := make([]string, len(ks))
		for i, k := range ks {
			parts[i] = k + " " + s.Modules[k]
		}
		rows = append(rows, [2]string{"Modules", strings.Join(parts, ", ")})
	}
	rows = append(rows, [2]string{"Store", s.Store})
	var stacks []string
	for _, v := range Variants() {
		if st, ok := s.Stacks[v]; ok {
			stacks = append(stacks, v+": "+st)
		}
	}
	rows = append(rows, [2]string{"Stacks", strings.Join(stacks, "; ")}, [2]string{"Mode", s.Mode})
	if !s.Started.IsZero() {
		rows = append(rows, [2]string{"Started", s.Started.Format(time.RFC3339)})
	}
	rows = append(rows, [2]string{"Took", s.Took.String()})
	return rows
}

// anchor is the fragment GitHub gives a Markdown heading.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdText keeps text from being read as HTML by a Markdown viewer.
func mdText(s string) string { return strings.ReplaceAll(s, "<", "&lt;") }

// mdCell makes text fit a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(mdText(s), "|", `\|`)
	s = strings.ReplaceAll(s, "\r", "")
	return strings.ReplaceAll(s, "\n", "<br>")
}

// mdTable writes a GitHub table.
func mdTable(b *strings.Builder, cols []string, rows [][]string) {
	cells := make([]string, len(cols))
	for i, c := range cols {
		cells[i] = mdCell(c)
	}
	b.WriteString("| " + strings.Join(cells, " | ") + " |\n|")
	for range cols {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, r := range rows {
		cells := make([]string, len(cols))
		for i := range cols {
			if i < len(r) {
				cells[i] = mdCell(r[i])
			}
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	b.WriteString("\n")
}

// chartSeries returns a chart's series in the order of the legend: the
// variants first, then the others as they first appear.
func chartSeries(c Chart) []string {
	seen := map[string]bool{}
	var others []string
	for _, g := range c.Groups {
		for _, b := range g.Bars {
			if !seen[b.Series] {
				seen[b.Series] = true
				if b.Series != Orchestrated && b.Series != Choreographed {
					others = append(others, b.Series)
				}
			}
		}
	}
	var ss []string
	for _, v := range Variants() {
		if seen[v] {
			ss = append(ss, v)
		}
	}
	return append(ss, others...)
}

// chartReading says how to read a chart.
func chartReading(c Chart) string {
	if c.LowerIsBetter {
		return "lower is better"
	}
	return "higher is better"
}

// chartTable is a chart as a table: a row per group, a column per
// series, values with the unit.
func chartTable(c Chart) ([]string, [][]string) {
	ss := chartSeries(c)
	cols := append([]string{""}, ss...)
	var rows [][]string
	for _, g := range c.Groups {
		row := make([]string, len(cols))
		row[0] = g.Label
		for _, b := range g.Bars {
			for i, s := range ss {
				if s == b.Series {
					row[i+1] = withUnit(b.Value, c.Unit)
				}
			}
		}
		rows = append(rows, row)
	}
	return cols, rows
}

// figureRows are a section's figures as table rows.
func figureRows(s *Section) [][]string {
	rows := make([][]string, 0, len(s.Figures))
	for _, f := range s.Figures {
		rows = append(rows, []string{variantLabel(f.Variant), f.Name, formatValue(f.Value), f.Unit, f.Method})
	}
	return rows
}

// figureColumns are the columns of figureRows.
func figureColumns() []string { return []string{"variant", "figure", "value", "unit", "method"} }

// renderMarkdown renders the report as GitHub Markdown.
func renderMarkdown(rep *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", reportTitle)
	b.WriteString("## Setup\n\n")
	var rows [][]string
	for _, r := range setupRows(rep.Setup) {
		rows = append(rows, []string{r[0], r[1]})
	}
	mdTable(&b, []string{"", ""}, rows)
	if len(rep.Setup.Settings) > 0 {
		var rows [][]string
		for _, s := range rep.Setup.Settings {
			rows = append(rows, []string{s.Name, s.Value})
		}
		mdTable(&b, []string{"setting", "value"}, rows)
	}
	if len(rep.Headlines) > 0 {
		b.WriteString("## Headlines\n\n")
		for _, h := range rep.Headlines {
			fmt.Fprintf(&b, "- %s\n", mdText(h))
		}
		b.WriteString("\n")
	}
	if len(rep.Sections) > 0 {
		b.WriteString("## Contents\n\n")
		for _, s := range rep.Sections {
			t := sectionTitle(s)
			status := ""
			if s.Error != "" {
				status = " (did not complete)"
			}
			fmt.Fprintf(&b, "- [%s](#%s)%s\n", mdText(t), anchor(t), status)
		}
		b.WriteString("\n")
	}
	for _, s := range rep.Sections {
		fmt.Fprintf(&b, "## %s\n\n", mdText(sectionTitle(s)))
		if s.Error != "" {
			fmt.Fprintf(&b, "> **Did not complete:** %s\n\n", strings.ReplaceAll(mdText(strings.TrimSpace(s.Error)), "\n", "\n> "))
		}
		for _, l := range s.Summary {
			fmt.Fprintf(&b, "- %s\n", mdText(l))
		}
		if len(s.Summary) > 0 {
			b.WriteString("\n")
		}
		if s.Method != "" {
			fmt.Fprintf(&b, "**Method.** %s\n\n", mdText(s.Method))
		}
		for _, c := range s.Charts {
			fmt.Fprintf(&b, "**%s** (%s, %s)\n\n", mdText(c.Title), mdText(c.Unit), chartReading(c))
			cols, rows := chartTable(c)
			mdTable(&b, cols, rows)
		}
		for _, t := range s.Tables {
			if t.Title != "" {
				fmt.Fprintf(&b, "### %s\n\n", mdText(t.Title))
			}
			mdTable(&b, t.Columns, t.Rows)
			for _, n := range t.Notes {
				fmt.Fprintf(&b, "_%s_\n\n", mdText(strings.TrimSpace(n)))
			}
		}
		if len(s.Notes) > 0 {
			b.WriteString("**Notes**\n\n")
			for _, n := range s.Notes {
				fmt.Fprintf(&b, "- %s\n", mdText(n))
			}
			b.WriteString("\n")
		}
		if len(s.Figures) > 0 {
			fmt.Fprintf(&b, "<details><summary>All %d figures</summary>\n\n", len(s.Figures))
			mdTable(&b, figureColumns(), figureRows(s))
			b.WriteString("</details>\n\n")
		}
		fmt.Fprintf(&b, "_Took %s._\n\n", s.Took)
	}
	return b.String()
}
