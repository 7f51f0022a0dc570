package report

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// syntheticReport is a report of every section kind: figures of both
// variants and of neither (a ceiling), tables, charts (one with negative
// and fractional values), notes, data, and a section that failed.
func syntheticReport() *Report {
	started := time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)
	rep := &Report{Setup: Setup{Started: started, Took: Duration(97 * time.Second), Mode: "quick",
		Machine: "synthetic report (rendering test), linux/amd64, 2 CPUs", GoVersion: "go1.26.8",
		Modules: map[string]string{"go.temporal.io/sdk": "v1.50.0", "github.com/segmentio/kafka-go": "v0.4.51"},
		Store:   "SQLite", Stacks: map[string]string{Orchestrated: "in-process, SQLite", Choreographed: "http://127.0.0.1:8081"},
		Settings: []Setting{{Name: "step deadline of the in-process stacks", Value: "4s"}, {Name: "orders per measure", Value: "200"}}}}

	out := &Section{Key: SectionOutcomes, Title: "Outcomes: every scenario on both variants", Took: Duration(34 * time.Second),
		Summary: []string{"Every scenario of the suite passed on both variants (31 of 31 each).",
			"Cancel mid-flight ends `skipped` on orchestrated, `compensated` on choreographed."},
		Method: "The scenario suite (`shared/scenario`) ran through the REST API of each stack; invariants checked after each.",
		Notes:  []string{"Both hold nothing after a cancel; the step's final state differs by design."},
		Data:   map[string]any{"scenarios": 31}}
	for _, v := range Variants() {
		out.Add(v, "scenarios passed", 31, "scenarios", "")
		out.Add(v, "scenarios failed", 0, "scenarios", "")
	}
	out.Tables = []Table{{Title: "Scenarios", Columns: []string{"scenario", Orchestrated, Choreographed},
		Rows: [][]string{{"happy path", "passed", "passed"}, {"cancel while payment runs", "passed (skipped)", "passed (compensated)"},
			{"burst of 200 orders", "passed in 7.1 s", "passed in 1.9 s"}}, Notes: []string{"A note | with a pipe."}}}

	speed := &Section{Key: SectionSpeed, Title: "Speed: closed and open loop, with the framework ceilings", Took: Duration(25 * time.Second),
		Summary: []string{"Closed loop, 10 clients: choreographed 412.5 orders/s, orchestrated 38.2 orders/s."},
		Method:  "Closed loop: N clients each place an order and wait for it to be final."}
	tp := Chart{Title: "Throughput, closed loop", Unit: "orders/s"}
	for _, g := range []struct {
		label      string
		orch, chor float64
	}{{"1 client", 6.25, 61.5}, {"10 clients", 38.2, 412.5}, {"50 clients", 41.75, 498.125}} {
		tp.Groups = append(tp.Groups, BarGroup{Label: g.label, Bars: []Bar{{Orchestrated, g.orch}, {Choreographed, g.chor}}})
		speed.Add(Orchestrated, "throughput, "+g.label, g.orch, "orders/s", "")
		speed.Add(Choreographed, "throughput, "+g.label, g.chor, "orders/s", "")
	}
	tp.Groups = append(tp.Groups, BarGroup{Label: "framework ceiling (no saga)",
		Bars: []Bar{{"Temporal workflows", 96.5}, {"Kafka round trips", 2310}}})
	speed.Add("", "Temporal workflows ceiling", 96.5, "workflows/s", "empty workflows, one activity")
	speed.Add("", "Kafka round trips ceiling", 2310, "round trips/s", "produce and consume one record")
	lat := Chart{Title: "Latency to final, 10 clients", Unit: "ms", LowerIsBetter: true, Groups: []BarGroup{
		{Label: "p50", Bars: []Bar{{Orchestrated, 251.3}, {Choreographed, 22.75}}},
		{Label: "p99 <script>alert(1)</script> & co", Bars: []Bar{{Orchestrated, 912}, {Choreographed, 88.4}}},
	}}
	speed.Add(Orchestrated, "latency p50", 251.3, "ms", "")
	speed.Add(Choreographed, "latency p50", 22.75, "ms", "")
	speed.Add(Orchestrated, "latency p99 <script>alert(1)</script> & co", 912, "ms", "")
	speed.Add(Choreographed, "latency p99 <script>alert(1)</script> & co", 88.4, "ms", "")
	speed.Charts = []Chart{tp, lat}

	cost := &Section{Key: SectionCost, Title: "Cost per order", Took: Duration(15 * time.Second),
		Summary: []string{"Commits per order: orchestrated 14, choreographed 21."},
		Method:  "Counted over 200 orders from the databases' and the broker's counters."}
	cc := Chart{Title: "Change against the baseline", Unit: "%", LowerIsBetter: true, Groups: []BarGroup{
		{Label: "CPU", Bars: []Bar{{Orchestrated, -12.5}, {Choreographed, 4.25}}},
		{Label: "bytes", Bars: []Bar{{Orchestrated, 0.0125}, {Choreographed, 33}}},
	}}
	cost.Charts = []Chart{cc}
	cost.Add(Orchestrated, "commits", 14, "commits/order", "")
	cost.Add(Choreographed, "commits", 21, "commits/order", "")
	cost.Add(Orchestrated, "CPU change", -12.5, "%", "")
	cost.Add(Choreographed, "CPU change", 4.25, "%", "")
	cost.Add(Orchestrated, "bytes change", 0.0125, "%", "")
	cost.Add(Choreographed, "bytes change", 33, "%", "")
	cost.Add(Orchestrated, "bytes written", 6870.4, "bytes/order", "")
	cost.Add(Choreographed, "bytes written", 15123.6, "bytes/order", "")

	fail := &Section{Key: SectionFailure, Title: "Failure: compensation, crashes and outages", Took: Duration(31 * time.Second),
		Error: "crash of the payment process: the stack did not come back within 30s\nsecond line of the error",
		Notes: []string{"What it measured before the error is below."}}
	fail.Add(Orchestrated, "compensation time p50", 0.412, "s", "")
	fail.Add(Choreographed, "compensation time p50", 0.0891, "s", "")
	fail.Tables = []Table{{Title: "Compensation", Columns: []string{"", Orchestrated, Choreographed},
		Rows: [][]string{{"p50", "0.412 s", "0.0891 s"}}}}

	change := &Section{Key: SectionChange, Title: "Change: what a new step touches", Took: Duration(80 * time.Millisecond),
		Summary: []string{"A new saga step: production files touched: orchestrated 0, choreographed 0."}}
	change.Add(Orchestrated, "new step: production files", 0, "files", "")
	change.Add(Choreographed, "new step: production files", 0, "files", "")
	change.Add(Orchestrated, "new consumer: production code lines", 97, "lines", "")
	change.Add(Choreographed, "new consumer: production code lines", 116, "lines", "")
	change.Charts = []Chart{{Title: "Production files each change touches", Unit: "files", LowerIsBetter: true, Groups: []BarGroup{
		{Label: "new step", Bars: []Bar{{Orchestrated, 0}, {Choreographed, 0}}},
		{Label: "new consumer", Bars: []Bar{{Orchestrated, 8}, {Choreographed, 3}}},
	}}}

	rep.Sections = []*Section{out, speed, cost, fail, change}
	rep.Headlines = Headlines(rep)
	return rep
}

// tablesIn counts the Markdown tables: their delimiter rows.
func tablesIn(md string) int {
	n := 0
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "| --- |") {
			n++
		}
	}
	return n
}

// walk calls f for every element of the tree.
func walk(n *html.Node, f func(*html.Node)) {
	if n.Type == html.ElementNode {
		f(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	var f func(*html.Node)
	f = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			f(c)
		}
	}
	f(n)
	return strings.TrimSpace(b.String())
}

func TestWrite_WritesTheThreeFiles_EveryFigureWithItsUnit(t *testing.T) {
	rep := syntheticReport()
	dir := filepath.Join(t.TempDir(), "out", "report")
	if err := Write(rep, dir); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Fatalf("%s is empty", name)
		}
		return string(b)
	}
	md, page, js := read("report.md"), read("report.html"), read("report.json")

	// The JSON reads back with the same figures.
	back, err := ReadJSON(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Sections) != len(rep.Sections) || !reflect.DeepEqual(back.Headlines, rep.Headlines) {
		t.Fatalf("JSON: %d sections, headlines %q", len(back.Sections), back.Headlines)
	}
	for i, s := range rep.Sections {
		b := back.Sections[i]
		if b.Key != s.Key || b.Error != s.Error || !reflect.DeepEqual(b.Figures, s.Figures) ||
			!reflect.DeepEqual(b.Charts, s.Charts) || !reflect.DeepEqual(b.Tables, s.Tables) {
			t.Errorf("section %s differs after JSON", s.Key)
		}
	}

	// Markdown: the setup, a table per table and chart (and per section's
	// figures, and the setup's two), every figure with its unit.
	want := 2
	for _, s := range rep.Sections {
		want += len(s.Tables) + len(s.Charts)
		if len(s.Figures) > 0 {
			want++
		}
	}
	if got := tablesIn(md); got != want {
		t.Errorf("Markdown has %d tables, want %d", got, want)
	}
	for _, s := range []string{"# " + reportTitle, "## Setup", "| Go | go1.26.8 |", "| Mode | quick |", "| Took | 1m37s |",
		"| step deadline of the in-process stacks | 4s |", "## Headlines", "> **Did not complete:** crash of the payment process",
		"_A note | with a pipe._", "_Took 34s._", "(orders/s, higher is better)", "(ms, lower is better)",
		"- [Cost per order](#cost-per-order)", "go.temporal.io/sdk v1.50.0"} {
		if !strings.Contains(md, s) {
			t.Errorf("Markdown lacks %q", s)
		}
	}
	if strings.Contains(md, "<script") {
		t.Error("the Markdown holds markup a viewer would run")
	}
	if strings.Index(md, "## Setup") > strings.Index(md, "## Headlines") {
		t.Error("the setup is not at the top")
	}
	for _, s := range rep.Sections {
		if !strings.Contains(md, "## "+s.Title+"\n") {
			t.Errorf("Markdown lacks the section %q", s.Title)
		}
		for _, tb := range s.Tables {
			if !strings.Contains(md, "### "+tb.Title+"\n\n| "+strings.Join(tb.Columns, " | ")+" |\n") {
				t.Errorf("Markdown lacks the table %q", tb.Title)
			}
		}
		for _, f := range s.Figures {
			row := "| " + mdCell(variantLabel(f.Variant)) + " | " + mdCell(f.Name) + " | " + formatValue(f.Value) + " | " + mdCell(f.Unit) + " |"
			if !strings.Contains(md, row) {
				t.Errorf("Markdown lacks the figure row %q", row)
			}
		}
	}

	// HTML: it parses, fetches nothing, has an SVG per chart with a bar per
	// value, and every figure with its unit.
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var svgs []*html.Node
	var figureRows [][]string
	titles := map[string]bool{}
	walk(doc, func(n *html.Node) {
		switch n.Data {
		case "script", "link", "img", "iframe", "object", "embed", "base":
			t.Errorf("the page has a <%s>", n.Data)
		case "svg":
			svgs = append(svgs, n)
		case "table":
			if attr(n, "class") == "figures" {
				walk(n, func(tr *html.Node) {
					if tr.Data != "tr" {
						return
					}
					var cells []string
					for c := tr.FirstChild; c != nil; c = c.NextSibling {
						if c.Type == html.ElementNode && c.Data == "td" {
							cells = append(cells, text(c))
						}
					}
					if len(cells) > 0 {
						figureRows = append(figureRows, cells)
					}
				})
			}
		case "h2", "h3":
			titles[text(n)] = true
		}
		for _, a := range n.Attr {
			v := strings.ToLower(strings.TrimSpace(a.Val))
			if (a.Key == "src" || a.Key == "href" || a.Key == "xlink:href" || a.Key == "srcset") && !strings.HasPrefix(v, "#") {
				t.Errorf("<%s %s=%q> refers outside the page", n.Data, a.Key, a.Val)
			}
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s %s>: an event handler", n.Data, a.Key)
			}
		}
	})
	lower := strings.ToLower(page)
	for _, s := range []string{"zgotmplz", "@import", "url(", "src=\"//", "href=\"//", "src=\"http", "href=\"http", "<script"} {
		if strings.Contains(lower, s) {
			t.Errorf("the page holds %q", s)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co") {
		t.Error("the figure name with markup is not escaped")
	}
	var charts []Chart
	for _, s := range rep.Sections {
		charts = append(charts, s.Charts...)
		if !titles[s.Title] {
			t.Errorf("no heading %q", s.Title)
		}
		for _, tb := range s.Tables {
			if !titles[tb.Title] {
				t.Errorf("no heading for the table %q", tb.Title)
			}
		}
	}
	if len(svgs) != len(charts) {
		t.Fatalf("%d <svg>, want one per chart (%d)", len(svgs), len(charts))
	}
	for i, c := range charts {
		var bars []*html.Node
		var values []string
		walk(svgs[i], func(n *html.Node) {
			if n.Data == "rect" && attr(n, "class") == "bar" {
				bars = append(bars, n)
			}
			if n.Data == "text" && attr(n, "class") == "value" {
				values = append(values, text(n))
			}
		})
		j := 0
		for _, g := range c.Groups {
			for _, b := range g.Bars {
				if j >= len(bars) {
					t.Fatalf("chart %q: %d bars, want %d", c.Title, len(bars), j+1)
				}
				if attr(bars[j], "data-series") != b.Series || attr(bars[j], "data-value") != formatValue(b.Value) || values[j] != formatValue(b.Value) {
					t.Errorf("chart %q bar %d: %s %s %q, want %s %s", c.Title, j, attr(bars[j], "data-series"),
						attr(bars[j], "data-value"), values[j], b.Series, formatValue(b.Value))
				}
				if want := seriesColours(chartSeries(c))[b.Series]; attr(bars[j], "fill") != want {
					t.Errorf("chart %q: %s filled %s, want %s", c.Title, b.Series, attr(bars[j], "fill"), want)
				}
				j++
			}
		}
		if j != len(bars) {
			t.Errorf("chart %q: %d bars, want %d", c.Title, len(bars), j)
		}
		if !strings.Contains(text(svgs[i]), c.Unit) {
			t.Errorf("chart %q has no unit on its axis", c.Title)
		}
	}
	for _, s := range rep.Sections {
		for _, f := range s.Figures {
			want := []string{variantLabel(f.Variant), f.Name, formatValue(f.Value), f.Unit}
			found := false
			for _, r := range figureRows {
				if len(r) >= 4 && reflect.DeepEqual(r[:4], want) {
					found = true
				}
			}
			if !found {
				t.Errorf("the page lacks the figure %q", want)
			}
		}
	}
	for _, s := range []string{"did not complete", "crash of the payment process", reportTitle, "go1.26.8", "Headlines"} {
		if !strings.Contains(page, s) {
			t.Errorf("the page lacks %q", s)
		}
	}
}

func TestHeadlines_AreTheSectionsOwnLines(t *testing.T) {
	rep := syntheticReport()
	hs := Headlines(rep)
	if len(hs) != len(rep.Sections) {
		t.Fatalf("%d headlines for %d sections: %q", len(hs), len(rep.Sections), hs)
	}
	for i, s := range rep.Sections {
		switch {
		case len(s.Summary) > 0:
			if hs[i] != s.Summary[0] {
				t.Errorf("headline %d = %q, want the summary's first line %q", i, hs[i], s.Summary[0])
			}
		default:
			if !strings.Contains(hs[i], firstLine(s.Error)) || strings.Contains(hs[i], "second line") {
				t.Errorf("headline %d = %q, want the error's first line", i, hs[i])
			}
		}
	}
	if got := Headlines(&Report{Sections: []*Section{{Key: "x"}}}); len(got) != 0 {
		t.Errorf("a section with nothing to say gave %q", got)
	}
}

func TestFormatValue(t *testing.T) {
	for v, want := range map[float64]string{42: "42", 0: "0", -12.5: "-12.5", 1234.5678: "1234.6", 3.14159: "3.14",
		0.012345: "0.0123", 498.125: "498.1", 2310: "2310", 1.5e-7: "1.5e-07", 10: "10", 99.999: "100"} {
		if got := formatValue(v); got != want {
			t.Errorf("formatValue(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestLayoutChart_ScalesToTheLargestAndKeepsBarsInside(t *testing.T) {
	c := syntheticReport().Section(SectionCost).Charts[0]
	l := layoutChart(c)
	if len(l.Bars) != 4 || len(l.Legend) != 2 || len(l.Ticks) < 3 {
		t.Fatalf("%d bars, %d legend items, %d ticks", len(l.Bars), len(l.Legend), len(l.Ticks))
	}
	for _, b := range l.Bars {
		if b.X < l.Left || b.X+b.W > l.PlotRight+0.01 || b.Y < l.Top-0.01 || b.Y+b.H > l.AxisY+0.01 {
			t.Errorf("bar %+v outside the plot", b)
		}
	}
	// The negative bar hangs below the zero line, the positive ones stand on it.
	if neg := l.Bars[0]; neg.Y < l.ZeroY-0.01 || neg.Y+neg.H <= l.ZeroY {
		t.Errorf("negative bar %+v, zero at %v", neg, l.ZeroY)
	}
	if pos := l.Bars[3]; pos.Y+pos.H > l.ZeroY+0.01 || pos.Y >= l.ZeroY {
		t.Errorf("positive bar %+v, zero at %v", pos, l.ZeroY)
	}
	// The tallest bar reaches at most the top tick.
	if top := l.Ticks[len(l.Ticks)-1]; l.Bars[3].Y < top.Y-0.01 {
		t.Errorf("bar above the top tick %v", top)
	}
}

// TestWrite_HTML_RendersInChromium renders the page in headless Chromium
// and checks the screenshot shows it: many colours, the variants' bar
// colours among them. COMPARE_SCREENSHOT names a file to keep the
// screenshot in.
func TestWrite_HTML_RendersInChromium(t *testing.T) {
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed: CI (.ci/run) installs it to check the page's rendering")
		}
		t.Skip("chromium is not installed (apt-get install -y chromium): the page's rendering is not checked")
	}
	dir := t.TempDir()
	if err := Write(syntheticReport(), dir); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "report.png")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--screenshot="+shot, "--window-size=1280,2400",
		"file://"+filepath.Join(dir, "report.html"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	if keep := os.Getenv("COMPARE_SCREENSHOT"); keep != "" {
		if err := os.WriteFile(keep, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if sz := img.Bounds().Size(); sz.X < 1000 || sz.Y < 2000 {
		t.Fatalf("screenshot of %v", sz)
	}
	colours := map[uint32]int{}
	near := func(r, g, b uint32, hex string) bool {
		var cr, cg, cb uint32
		for i, p := range []*uint32{&cr, &cg, &cb} {
			v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
			if err != nil {
				t.Fatal(err)
			}
			*p = uint32(v)
		}
		d := func(a, b uint32) uint32 {
			if a > b {
				return a - b
			}
			return b - a
		}
		return d(r, cr)+d(g, cg)+d(b, cb) < 24
	}
	var orch, chor, ink int
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			colours[r<<16|g<<8|b]++
			if near(r, g, b, colourOrchestrated) {
				orch++
			}
			if near(r, g, b, colourChoreographed) {
				chor++
			}
			if r+g+b < 200 {
				ink++
			}
		}
	}
	total := bounds.Dx() * bounds.Dy()
	t.Logf("%d colours, %d orchestrated and %d choreographed pixels, %.1f %% dark", len(colours), orch, chor, 100*float64(ink)/float64(total))
	if len(colours) < 50 {
		t.Errorf("the screenshot has %d colours: blank?", len(colours))
	}
	if orch < 200 || chor < 200 {
		t.Errorf("the bars' colours barely show: %d orchestrated, %d choreographed pixels", orch, chor)
	}
	if ink < total/500 {
		t.Errorf("hardly any text: %d dark pixels of %d", ink, total)
	}
}
