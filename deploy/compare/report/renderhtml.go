package report

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"strings"
	"unicode/utf8"
)

// The colours of the series: one per variant, the same on every chart and
// in every table, and a neutral set for the others (framework ceilings).
const (
	colourOrchestrated  = "#2563eb"
	colourChoreographed = "#ea580c"
)

// otherColours colour the series that are not a variant, in order.
func otherColours() []string {
	return []string{"#64748b", "#0f766e", "#7c3aed", "#a16207", "#be185d", "#0891b2"}
}

// seriesColours gives each series of a chart its colour.
func seriesColours(series []string) map[string]string {
	cs := map[string]string{}
	others := otherColours()
	i := 0
	for _, s := range series {
		switch s {
		case Orchestrated:
			cs[s] = colourOrchestrated
		case Choreographed:
			cs[s] = colourChoreographed
		default:
			cs[s] = others[i%len(others)]
			i++
		}
	}
	return cs
}

// The page's view of the report.
type htmlPage struct {
	Title     string
	Subtitle  string
	Setup     [][2]string
	Settings  []Setting
	Headlines []template.HTML
	Sections  []htmlSection
}

type htmlSection struct {
	ID, Title string
	Error     string
	Summary   []template.HTML
	Method    template.HTML
	Charts    []svgChart
	Tables    []htmlTable
	Notes     []template.HTML
	Figures   htmlTable
	Took      string
}

type htmlTable struct {
	Title   string
	Columns []htmlCell
	Rows    [][]htmlCell
	Notes   []template.HTML
}

type htmlCell struct {
	Text template.HTML
	Num  bool
}

// svgChart is a grouped bar chart laid out for the page.
type svgChart struct {
	Title, Unit, Reading string
	W, H                 float64
	Left, Right          float64
	Top, Bottom          float64
	ZeroY                float64
	Ticks                []svgTick
	Legend               []svgLegend
	Bars                 []svgBar
	Groups               []svgGroup
	AxisX, AxisY         float64
	PlotRight            float64
}

type svgTick struct {
	Y     float64
	Label string
}

type svgLegend struct {
	X, Y   float64
	Colour string
	Label  string
}

type svgBar struct {
	X, Y, W, H     float64
	Colour, Series string
	Group          string
	Value          float64
	Label          string
	LabelX, LabelY float64
	Vertical       bool
}

type svgGroup struct {
	X     float64
	Lines []string
}

// inline formats text for the page: escaped, with `code` spans.
func inline(s string) template.HTML {
	esc := template.HTMLEscapeString(s)
	parts := strings.Split(esc, "`")
	if len(parts) < 3 {
		return template.HTML(esc)
	}
	var b strings.Builder
	for i, p := range parts {
		switch {
		case i%2 == 1 && i < len(parts)-1:
			b.WriteString("<code>" + p + "</code>")
		case i%2 == 1:
			b.WriteString("`" + p) // an unpaired backtick
		default:
			b.WriteString(p)
		}
	}
	return template.HTML(b.String())
}

func inlines(ss []string) []template.HTML {
	hs := make([]template.HTML, len(ss))
	for i, s := range ss {
		hs[i] = inline(s)
	}
	return hs
}

// isNumeric says whether a cell reads as a number (with a unit or a
// parenthesised second number), to align it right.
func isNumeric(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > 32 {
		return false
	}
	s = strings.TrimLeft(s, "+-−~≈<>")
	return s != "" && s[0] >= '0' && s[0] <= '9'
}

// tableOf makes a table of the page: a column whose cells all read as
// numbers (empty ones aside) is aligned right, header included.
func tableOf(t Table) htmlTable {
	h := htmlTable{Title: t.Title, Notes: inlines(t.Notes)}
	for i, c := range t.Columns {
		num, any := i > 0, false
		for _, r := range t.Rows {
			if i < len(r) && strings.TrimSpace(r[i]) != "" {
				any = true
				num = num && isNumeric(r[i])
			}
		}
		h.Columns = append(h.Columns, htmlCell{Text: inline(c), Num: num && any})
	}
	for _, r := range t.Rows {
		row := make([]htmlCell, len(t.Columns))
		for i := range row {
			if i < len(r) {
				row[i] = htmlCell{Text: variantChip(r[i]), Num: h.Columns[i].Num}
			}
		}
		h.Rows = append(h.Rows, row)
	}
	return h
}

// variantChip marks a cell naming a variant with the variant's colour.
func variantChip(s string) template.HTML {
	switch s {
	case Orchestrated, Choreographed:
		return template.HTML(`<span class="chip ` + s + `">` + s + `</span>`)
	}
	return inline(s)
}

// niceStep returns a round step (1, 2 or 5 times a power of ten) that
// splits span into about n parts.
func niceStep(span float64, n int) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// wrapLabel splits a label into lines of about width characters (two at
// most, the second cut short).
func wrapLabel(s string, width int) []string {
	if width < 4 {
		width = 4
	}
	words := strings.Fields(s)
	var lines []string
	cur := ""
	for _, w := range words {
		switch {
		case cur == "":
			cur = w
		case utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(w) <= width:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = w
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	if len(lines) > 2 {
		lines = append(lines[:1], strings.Join(lines[1:], " "))
	}
	for i, l := range lines {
		if r := []rune(l); len(r) > width+2 {
			lines[i] = string(r[:width]) + "…"
		}
	}
	return lines
}

// layoutChart lays a chart out: a value axis from zero (or below, for
// negative values) to a round value above the largest, a group of bars per
// group, each bar labelled with its value, and a legend.
func layoutChart(c Chart) svgChart {
	series := chartSeries(c)
	colours := seriesColours(series)
	nBars := 0
	for _, g := range c.Groups {
		nBars += len(g.Bars)
	}
	s := svgChart{Title: c.Title, Unit: c.Unit, Reading: chartReading(c), W: 520, H: 300,
		Left: 60, Right: 12, Top: 44, Bottom: 52}
	if need := float64(nBars)*26 + float64(len(c.Groups))*18 + s.Left + s.Right; need > s.W {
		s.W = need
	}
	// Legend, on as many rows as it needs.
	x, y := s.Left, 18.0
	for _, name := range series {
		wd := 26 + 7.4*float64(utf8.RuneCountInString(name))
		if x+wd > s.W-s.Right && x > s.Left {
			x, y = s.Left, y+18
			s.Top += 18
			s.H += 18
		}
		s.Legend = append(s.Legend, svgLegend{X: x, Y: y, Colour: colours[name], Label: name})
		x += wd + 10
	}
	lo, hi := 0.0, 0.0
	for _, g := range c.Groups {
		for _, b := range g.Bars {
			if b.Valid() {
				lo, hi = math.Min(lo, b.Value), math.Max(hi, b.Value)
			}
		}
	}
	if hi == lo {
		hi = lo + 1
	}
	step := niceStep(hi-lo, 5)
	hi = math.Ceil(hi/step) * step
	lo = math.Floor(lo/step) * step
	plotTop, plotBottom := s.Top, s.H-s.Bottom
	yOf := func(v float64) float64 { return plotBottom - (v-lo)/(hi-lo)*(plotBottom-plotTop) }
	for v := lo; v <= hi+step/1e6; v += step {
		s.Ticks = append(s.Ticks, svgTick{Y: yOf(v), Label: formatValue(roundTo(v, step))})
	}
	s.ZeroY = yOf(0)
	s.AxisX, s.AxisY = s.Left, plotBottom
	s.PlotRight = s.W - s.Right
	plotW := s.W - s.Left - s.Right
	if len(c.Groups) == 0 {
		return s
	}
	groupW := plotW / float64(len(c.Groups))
	for gi, g := range c.Groups {
		gx := s.Left + float64(gi)*groupW
		inner := groupW * 0.78
		barW := inner / float64(max(1, len(g.Bars)))
		x0 := gx + (groupW-inner)/2
		s.Groups = append(s.Groups, svgGroup{X: gx + groupW/2, Lines: wrapLabel(g.Label, int(groupW/7.2))})
		for bi, b := range g.Bars {
			v := b.Value
			if !b.Valid() {
				v = 0
			}
			top, bottom := yOf(math.Max(v, 0)), yOf(math.Min(v, 0))
			bar := svgBar{X: x0 + float64(bi)*barW + 1, W: math.Max(barW-2, 1), Y: top, H: math.Max(bottom-top, 0.5),
				Colour: colours[b.Series], Series: b.Series, Group: g.Label, Value: b.Value,
				Label: formatValue(b.Value)}
			bar.LabelX = bar.X + bar.W/2
			bar.Vertical = bar.W < 7.2*float64(utf8.RuneCountInString(bar.Label))+2
			if v >= 0 {
				bar.LabelY = top - 5
			} else {
				bar.LabelY = bottom + 13
			}
			s.Bars = append(s.Bars, bar)
		}
	}
	return s
}

// Valid reports whether the bar's value is a number.
func (b Bar) Valid() bool { return !math.IsNaN(b.Value) && !math.IsInf(b.Value, 0) }

// roundTo removes the float noise of adding steps.
func roundTo(v, step float64) float64 {
	d := math.Max(0, -math.Floor(math.Log10(step))+2)
	p := math.Pow(10, d)
	return math.Round(v*p) / p
}

// pageOf makes the page's view of the report.
func pageOf(rep *Report) htmlPage {
	p := htmlPage{Title: reportTitle, Setup: setupRows(rep.Setup), Settings: rep.Setup.Settings,
		Headlines: inlines(rep.Headlines)}
	var sub []string
	if !rep.Setup.Started.IsZero() {
		sub = append(sub, rep.Setup.Started.Format("2 January 2006, 15:04 MST"))
	}
	if rep.Setup.Mode != "" {
		sub = append(sub, rep.Setup.Mode+" mode")
	}
	if rep.Setup.Store != "" {
		sub = append(sub, rep.Setup.Store)
	}
	sub = append(sub, "took "+rep.Setup.Took.String())
	p.Subtitle = strings.Join(sub, " · ")
	for _, s := range rep.Sections {
		hs := htmlSection{ID: "section-" + anchor(s.Key), Title: sectionTitle(s), Error: strings.TrimSpace(s.Error),
			Summary: inlines(s.Summary), Method: inline(s.Method), Notes: inlines(s.Notes), Took: s.Took.String()}
		for _, c := range s.Charts {
			hs.Charts = append(hs.Charts, layoutChart(c))
		}
		for _, t := range s.Tables {
			hs.Tables = append(hs.Tables, tableOf(t))
		}
		hs.Figures = tableOf(Table{Columns: figureColumns(), Rows: figureRows(s)})
		p.Sections = append(p.Sections, hs)
	}
	return p
}

// renderHTML renders the report as one self-contained page.
func renderHTML(rep *Report) ([]byte, error) {
	t, err := template.New("page").Funcs(template.FuncMap{
		"f": func(v float64) string { return fmt.Sprintf("%.1f", v) },
		"half": func(v float64) float64 {
			return v / 2
		},
		"add": func(a, b float64) float64 { return a + b },
	}).Parse(pageTemplate)
	if err != nil {
		return nil, fmt.Errorf("the HTML report's template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, pageOf(rep)); err != nil {
		return nil, fmt.Errorf("rendering the HTML report: %w", err)
	}
	return b.Bytes(), nil
}

// pageTemplate is the HTML report: inline CSS and SVG, nothing fetched.
const pageTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
:root { --ink: #1f2933; --muted: #5f6b7a; --line: #e2e6eb; --bg: #f5f7fa; --card: #ffffff;
  --orch: ` + colourOrchestrated + `; --chor: ` + colourChoreographed + `; --accent: #1e3a8a; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.page { max-width: 1120px; margin: 0 auto; padding: 28px 28px 48px; }
header.top { padding: 8px 0 18px; border-bottom: 3px solid var(--accent); margin-bottom: 22px; }
header.top h1 { font-size: 26px; line-height: 1.25; margin: 0 0 6px; letter-spacing: -0.01em; }
header.top .sub { color: var(--muted); font-size: 14px; }
.legend-key { display: inline-flex; gap: 14px; margin-left: 12px; }
.chip { display: inline-flex; align-items: center; gap: 6px; font-weight: 600; white-space: nowrap; }
.chip::before { content: ""; width: 10px; height: 10px; border-radius: 2px; background: var(--muted); display: inline-block; }
.chip.orchestrated::before { background: var(--orch); }
.chip.choreographed::before { background: var(--chor); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 20px 24px; margin: 0 0 20px;
  box-shadow: 0 1px 2px rgba(16, 24, 40, 0.04); }
.grid2 { display: grid; grid-template-columns: minmax(0, 1.1fr) minmax(0, 0.9fr); gap: 20px; align-items: start; }
h2 { font-size: 20px; margin: 0 0 12px; line-height: 1.3; }
h3 { font-size: 15px; margin: 22px 0 8px; color: var(--ink); }
.card h2.small { font-size: 16px; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted); margin-bottom: 10px; }
.section-head { display: flex; justify-content: space-between; align-items: baseline; gap: 16px;
  border-bottom: 1px solid var(--line); padding-bottom: 8px; margin-bottom: 14px; }
.section-head h2 { margin: 0; }
.took { color: var(--muted); font-size: 13px; white-space: nowrap; }
.headlines { background: #eef3ff; border-color: #c7d6fb; }
.headlines ol { margin: 0; padding-left: 22px; }
.headlines li { margin: 6px 0; font-size: 15.5px; }
ul.summary { margin: 0 0 14px; padding-left: 20px; }
ul.summary li { margin: 4px 0; font-weight: 500; }
.method { color: var(--muted); font-size: 13.5px; border-left: 3px solid var(--line); padding: 2px 0 2px 12px; margin: 12px 0 16px; }
.method b { color: var(--ink); }
.error { background: #fef3f2; border: 1px solid #fecdca; border-left: 4px solid #d92d20; color: #7a271a;
  padding: 10px 14px; border-radius: 6px; margin: 0 0 14px; white-space: pre-wrap; font-size: 14px; }
.error b { color: #b42318; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f1f4f8; font-weight: 600; color: #334155; font-size: 12.5px; }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.num, th.num { text-align: right; white-space: nowrap; }
.table-wrap { overflow-x: auto; margin: 0 0 6px; }
.setup th { width: 150px; background: none; color: var(--muted); font-weight: 500; border-bottom: 1px solid var(--line); }
.setup td { word-break: break-word; }
.tnote { color: var(--muted); font-size: 12.5px; margin: 4px 0 0; }
code { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f1f4f8; padding: 1px 4px; border-radius: 4px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 16px; margin: 10px 0 8px; }
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 12px 12px 6px; background: #fff; }
figure.chart figcaption { font-weight: 600; font-size: 14px; margin: 0 0 2px; }
figure.chart figcaption span { font-weight: 400; color: var(--muted); font-size: 12.5px; }
svg.bars { width: 100%; height: auto; display: block; font-family: inherit; }
svg.bars .grid { stroke: #e8ebef; stroke-width: 1; }
svg.bars .axis { stroke: #94a3b8; stroke-width: 1; }
svg.bars text { fill: #475569; font-size: 12px; }
svg.bars text.value { fill: #1f2933; font-size: 11.5px; font-weight: 600; }
svg.bars text.unit { font-size: 12px; fill: #64748b; }
svg.bars text.group { fill: #334155; font-size: 12.5px; }
svg.bars text.legend { fill: #1f2933; font-size: 12.5px; }
.notes { margin: 14px 0 0; padding: 10px 14px 10px 30px; background: #fafbfc; border: 1px solid var(--line); border-radius: 6px;
  font-size: 13.5px; color: #334155; }
.notes li { margin: 3px 0; }
details { margin-top: 14px; }
details summary { cursor: pointer; color: var(--accent); font-size: 13.5px; font-weight: 500; }
nav.toc ol { margin: 0; padding-left: 22px; }
nav.toc li { margin: 3px 0; break-inside: avoid; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
.badge { display: inline-block; font-size: 11px; font-weight: 600; padding: 0 6px; border-radius: 9px; margin-left: 6px;
  background: #fee4e2; color: #b42318; vertical-align: 1px; }
footer { color: var(--muted); font-size: 12.5px; margin-top: 28px; text-align: center; }
@media (max-width: 860px) { .grid2 { grid-template-columns: 1fr; } nav.toc ol { columns: 1; } .charts { grid-template-columns: 1fr; } }
@media print {
  body { background: #fff; font-size: 11.5pt; }
  .page { max-width: none; padding: 0; }
  .card { box-shadow: none; border: none; padding: 0; margin: 0 0 18pt; }
  .section-head { break-after: avoid; }
  figure.chart, table, .error, .notes { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  .charts { grid-template-columns: 1fr 1fr; }
  details:not([open]) { display: none; }
  a { color: inherit; text-decoration: none; }
}
</style>
</head>
<body>
<div class="page">
<header class="top">
  <h1>{{.Title}}</h1>
  <div class="sub">{{.Subtitle}} <span class="legend-key"><span class="chip orchestrated">orchestrated</span><span class="chip choreographed">choreographed</span></span></div>
</header>

{{if .Headlines}}<section class="card headlines" id="headlines">
  <h2 class="small">Headlines</h2>
  <ol>{{range .Headlines}}<li>{{.}}</li>{{end}}</ol>
</section>{{end}}

<div class="grid2">
<section class="card" id="setup">
  <h2 class="small">Setup</h2>
  <table class="setup"><tbody>
  {{range .Setup}}<tr><th scope="row">{{index . 0}}</th><td>{{index . 1}}</td></tr>
  {{end}}</tbody></table>
  {{if .Settings}}<h3>Settings</h3>
  <table class="setup"><tbody>
  {{range .Settings}}<tr><th scope="row">{{.Name}}</th><td>{{.Value}}</td></tr>
  {{end}}</tbody></table>{{end}}
</section>
<nav class="card toc" id="contents">
  <h2 class="small">Contents</h2>
  <ol>
  <li><a href="#setup">Setup</a></li>
  {{range .Sections}}<li><a href="#{{.ID}}">{{.Title}}</a>{{if .Error}}<span class="badge">did not complete</span>{{end}}</li>
  {{end}}</ol>
</nav>
</div>

{{range .Sections}}
<section class="card" id="{{.ID}}">
  <div class="section-head"><h2>{{.Title}}</h2><span class="took">took {{.Took}}</span></div>
  {{if .Error}}<div class="error" role="alert"><b>Did not complete.</b> {{.Error}}</div>{{end}}
  {{if .Summary}}<ul class="summary">{{range .Summary}}<li>{{.}}</li>{{end}}</ul>{{end}}
  {{if .Method}}<p class="method"><b>Method.</b> {{.Method}}</p>{{end}}
  {{if .Charts}}<div class="charts">
  {{range .Charts}}<figure class="chart">
    <figcaption>{{.Title}} <span>({{.Unit}}, {{.Reading}})</span></figcaption>
    <svg class="bars" viewBox="0 0 {{f .W}} {{f .H}}" role="img" aria-label="{{.Title}}">
      <title>{{.Title}} ({{.Unit}})</title>
      {{range .Legend}}<g class="legend-item"><rect x="{{f .X}}" y="{{f (add .Y -10)}}" width="12" height="12" rx="2" fill="{{.Colour}}"></rect><text class="legend" x="{{f (add .X 18)}}" y="{{f .Y}}">{{.Label}}</text></g>
      {{end}}
      {{$c := .}}{{range .Ticks}}<line class="grid" x1="{{f $c.Left}}" x2="{{f $c.PlotRight}}" y1="{{f .Y}}" y2="{{f .Y}}"></line><text x="{{f (add $c.Left -8)}}" y="{{f (add .Y 4)}}" text-anchor="end">{{.Label}}</text>
      {{end}}
      <text class="unit" transform="translate(14 {{f (half (add $c.Top $c.AxisY))}}) rotate(-90)" text-anchor="middle">{{.Unit}}</text>
      {{range .Bars}}<rect class="bar" x="{{f .X}}" y="{{f .Y}}" width="{{f .W}}" height="{{f .H}}" rx="2" fill="{{.Colour}}" data-series="{{.Series}}" data-value="{{.Label}}"><title>{{.Group}}, {{.Series}}: {{.Label}} {{$c.Unit}}</title></rect>
      {{if .Vertical}}<text class="value" transform="translate({{f (add .LabelX 3.5)}} {{f .LabelY}}) rotate(-90)" text-anchor="start">{{.Label}}</text>{{else}}<text class="value" x="{{f .LabelX}}" y="{{f .LabelY}}" text-anchor="middle">{{.Label}}</text>{{end}}
      {{end}}
      <line class="axis" x1="{{f .Left}}" x2="{{f .PlotRight}}" y1="{{f .ZeroY}}" y2="{{f .ZeroY}}"></line>
      <line class="axis" x1="{{f .Left}}" x2="{{f .Left}}" y1="{{f .Top}}" y2="{{f .AxisY}}"></line>
      {{range .Groups}}{{$g := .}}<text class="group" x="{{f .X}}" y="{{f (add $c.AxisY 18)}}" text-anchor="middle">{{range $i, $l := .Lines}}<tspan x="{{f $g.X}}" dy="{{if $i}}14{{else}}0{{end}}">{{$l}}</tspan>{{end}}</text>
      {{end}}
    </svg>
  </figure>
  {{end}}</div>{{end}}
  {{range .Tables}}
  {{if .Title}}<h3>{{.Title}}</h3>{{end}}
  <div class="table-wrap"><table>
    <thead><tr>{{range .Columns}}<th{{if .Num}} class="num"{{end}}>{{.Text}}</th>{{end}}</tr></thead>
    <tbody>{{range .Rows}}<tr>{{range .}}<td{{if .Num}} class="num"{{end}}>{{.Text}}</td>{{end}}</tr>
    {{end}}</tbody>
  </table></div>
  {{range .Notes}}<p class="tnote">{{.}}</p>{{end}}
  {{end}}
  {{if .Notes}}<ul class="notes">{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
  {{if .Figures.Rows}}<details><summary>All {{len .Figures.Rows}} figures, with their units and methods</summary>
  <div class="table-wrap"><table class="figures">
    <thead><tr>{{range .Figures.Columns}}<th{{if .Num}} class="num"{{end}}>{{.Text}}</th>{{end}}</tr></thead>
    <tbody>{{range .Figures.Rows}}<tr>{{range .}}<td{{if .Num}} class="num"{{end}}>{{.Text}}</td>{{end}}</tr>
    {{end}}</tbody>
  </table></div></details>{{end}}
</section>
{{end}}
<footer>Written by <code>ordersaga compare</code> · report.md and report.json beside this page hold the same figures.</footer>
</div>
</body>
</html>
`
