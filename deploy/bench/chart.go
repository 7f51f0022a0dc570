package bench

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
)

// The chart's geometry, in SVG user units.
const (
	chartWidth   = 980
	panelHeight  = 320
	titleHeight  = 30
	subtitleLine = 16
	plotLeft     = 80
	plotRight    = 260 // room for the legend
	plotTop      = 44
	plotBottom   = 56
	legendLine   = 18
	tickLength   = 5
	markerRadius = 3.5
)

// palette colours the variants, in the report's order; a ceiling takes the
// colour of the variant built on its framework.
func palette() []string {
	return []string{"#1f77b4", "#d95f02", "#2ca02c", "#7570b3", "#e7298a", "#66a61e"}
}

// ceilingColour colours a ceiling no variant is paired with.
const ceilingColour = "#777777"

// series is one line of a panel.
type series struct {
	name   string
	colour string
	dash   string // stroke-dasharray; "" for a solid line
	width  float64
	values []float64 // per x category; NaN for none
}

// panel is one chart: categories on x, a linear or logarithmic y.
type panel struct {
	title  string
	xLabel string
	yLabel string
	xTicks []string
	logY   bool
	series []series
}

// WriteSVG writes the report as an SVG chart: closed-loop throughput and
// p50/p99 latency against the number of clients, the variants side by side
// with their ceilings, and open-loop latency against the arrival rate.
func (r Report) WriteSVG(w io.Writer) error {
	panels := r.panels()
	sub := []string{fmt.Sprintf("%s; %s; %gs per point after at least %gs of warm-up; %s",
		r.Setup.Machine, r.Setup.GoVersion, r.Settings.DurationS, r.Settings.WarmupS, r.Started.Format("2006-01-02 15:04 MST"))}
	for _, s := range []string{r.Setup.Databases, r.Setup.Temporal, r.Setup.Broker} {
		if s != "" {
			sub = append(sub, s)
		}
	}
	sub = append(sub, r.calibrationCaption()...)
	top := titleHeight + len(sub)*subtitleLine
	height := top + len(panels)*panelHeight
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n",
		chartWidth, height, chartWidth, height)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	names := make([]string, len(r.Variants))
	for i, v := range r.Variants {
		names[i] = v.Name
	}
	fmt.Fprintf(bw, `<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", plotLeft,
		esc("ordersaga bench: "+strings.Join(names, " vs ")))
	for i, line := range sub {
		fmt.Fprintf(bw, `<text x="%d" y="%d" fill="#555555">%s</text>`+"\n", plotLeft, titleHeight+12+subtitleLine*i, esc(line))
	}
	for i, p := range panels {
		p.write(bw, float64(top+i*panelHeight))
	}
	fmt.Fprintln(bw, `</svg>`)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing the chart: %w", err)
	}
	return nil
}

// panels builds the chart's panels from the report.
func (r Report) panels() []panel {
	colours := palette()
	colourOf := map[Framework]string{}
	var variantColours []string
	for i, v := range r.Variants {
		c := colours[i%len(colours)]
		variantColours = append(variantColours, c)
		if v.Framework != "" {
			if _, ok := colourOf[v.Framework]; !ok {
				colourOf[v.Framework] = c
			}
		}
	}
	ceilingColourOf := func(f Framework) string {
		if c, ok := colourOf[f]; ok {
			return c
		}
		return ceilingColour
	}

	clients := r.Settings.Concurrencies
	xClients := make([]string, len(clients))
	for i, c := range clients {
		xClients[i] = strconv.Itoa(c)
	}
	byClients := func(points []Point, value func(Point) float64) []float64 {
		out := make([]float64, len(clients))
		for i, c := range clients {
			out[i] = math.NaN()
			for _, p := range points {
				if p.Clients == c && p.Skipped == "" && p.Final > 0 {
					out[i] = value(p)
				}
			}
		}
		return out
	}
	throughput := func(p Point) float64 { return p.Throughput }
	p50 := func(p Point) float64 { return p.Latency.P50 }
	p99 := func(p Point) float64 { return p.Latency.P99 }

	tp := panel{title: "Throughput, closed loop", xLabel: "concurrent clients", yLabel: "final orders (ops) per second", xTicks: xClients}
	lat := panel{title: "Latency to the final status, closed loop (log scale)", xLabel: "concurrent clients", yLabel: "milliseconds", xTicks: xClients, logY: true}
	for i, v := range r.Variants {
		c := variantColours[i]
		tp.series = append(tp.series, series{name: v.Name, colour: c, width: 2.5, values: byClients(v.Closed, throughput)})
		lat.series = append(lat.series,
			series{name: v.Name + " p50", colour: c, width: 2.5, values: byClients(v.Closed, p50)},
			series{name: v.Name + " p99", colour: c, width: 2, dash: "7 4", values: byClients(v.Closed, p99)})
	}
	for _, ce := range r.Ceilings {
		if len(ce.Closed) == 0 {
			continue
		}
		c := ceilingColourOf(ce.Framework)
		name := string(ce.Framework) + " ceiling"
		tp.series = append(tp.series, series{name: name, colour: c, width: 1.5, dash: "2 3", values: byClients(ce.Closed, throughput)})
		lat.series = append(lat.series, series{name: name + " p50", colour: c, width: 1.5, dash: "2 3", values: byClients(ce.Closed, p50)})
	}
	// One line can be orders of magnitude above another (a broker's
	// ceiling over a saga's throughput): then only a log scale shows both.
	if lo, hi := tp.valueRange(); lo > 0 && hi/lo > 20 {
		tp.logY = true
		tp.title += " (log scale)"
	}
	panels := []panel{tp, lat}

	if rates := r.Settings.Rates; len(rates) > 0 {
		xRates := make([]string, len(rates))
		for i, rate := range rates {
			xRates[i] = formatRate(rate)
		}
		open := panel{title: "Latency from the scheduled arrival, open loop (log scale)", xLabel: "arrival rate (orders per second)", yLabel: "milliseconds", xTicks: xRates, logY: true}
		drawn := false
		for i, v := range r.Variants {
			byRate := func(value func(Point) float64) []float64 {
				out := make([]float64, len(rates))
				for j, rate := range rates {
					out[j] = math.NaN()
					for _, p := range v.Open {
						if p.Rate == rate && p.Skipped == "" && p.Final > 0 {
							out[j] = value(p)
							drawn = true
						}
					}
				}
				return out
			}
			c := variantColours[i]
			open.series = append(open.series,
				series{name: v.Name + " p50", colour: c, width: 2.5, values: byRate(p50)},
				series{name: v.Name + " p99", colour: c, width: 2, dash: "7 4", values: byRate(p99)})
		}
		if drawn {
			panels = append(panels, open)
		}
	}
	return panels
}

// write draws the panel with its top at y0.
func (p panel) write(w io.Writer, y0 float64) {
	left, right := float64(plotLeft), float64(chartWidth-plotRight)
	top, bottom := y0+plotTop, y0+panelHeight-plotBottom
	lo, hi, ticks := p.yScale()
	yOf := func(v float64) float64 {
		if p.logY {
			return bottom - (math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*(bottom-top)
		}
		return bottom - (v-lo)/(hi-lo)*(bottom-top)
	}
	n := max(len(p.xTicks), 1)
	xOf := func(i int) float64 { return left + (float64(i)+0.5)*(right-left)/float64(n) }

	fmt.Fprintf(w, `<g class="panel" data-title="%s">`+"\n", esc(p.title))
	fmt.Fprintf(w, `<text x="%g" y="%g" font-size="14" font-weight="bold">%s</text>`+"\n", left, y0+26, esc(p.title))
	// Grid and y ticks.
	for _, t := range ticks {
		y := yOf(t)
		fmt.Fprintf(w, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#e5e5e5"/>`+"\n", left, y, right, y)
		fmt.Fprintf(w, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#333333"/>`+"\n", left-tickLength, y, left, y)
		fmt.Fprintf(w, `<text x="%g" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", left-tickLength-3, y, esc(tickLabel(t)))
	}
	// Axes and x ticks.
	fmt.Fprintf(w, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#333333"/>`+"\n", left, top, left, bottom)
	fmt.Fprintf(w, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#333333"/>`+"\n", left, bottom, right, bottom)
	for i, t := range p.xTicks {
		x := xOf(i)
		fmt.Fprintf(w, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#333333"/>`+"\n", x, bottom, x, bottom+tickLength)
		fmt.Fprintf(w, `<text x="%.1f" y="%g" text-anchor="middle">%s</text>`+"\n", x, bottom+tickLength+13, esc(t))
	}
	fmt.Fprintf(w, `<text x="%g" y="%g" text-anchor="middle">%s</text>`+"\n", (left+right)/2, bottom+40, esc(p.xLabel))
	fmt.Fprintf(w, `<text x="%g" y="%g" text-anchor="middle" transform="rotate(-90 %g %g)">%s</text>`+"\n",
		left-58, (top+bottom)/2, left-58, (top+bottom)/2, esc(p.yLabel))

	// Series.
	for _, s := range p.series {
		fmt.Fprintf(w, `<g class="series" data-series="%s">`+"\n", esc(s.name))
		var d strings.Builder
		pen := false
		for i, v := range s.values {
			if !p.plottable(v) {
				pen = false
				continue
			}
			cmd := "L"
			if !pen {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%.1f %.1f ", cmd, xOf(i), yOf(v))
			pen = true
		}
		if d.Len() > 0 {
			dash := ""
			if s.dash != "" {
				dash = fmt.Sprintf(` stroke-dasharray="%s"`, s.dash)
			}
			fmt.Fprintf(w, `<path d="%s" fill="none" stroke="%s" stroke-width="%g"%s/>`+"\n", strings.TrimSpace(d.String()), s.colour, s.width, dash)
		}
		for i, v := range s.values {
			if !p.plottable(v) {
				continue
			}
			fmt.Fprintf(w, `<circle cx="%.1f" cy="%.1f" r="%g" fill="%s"><title>%s</title></circle>`+"\n",
				xOf(i), yOf(v), markerRadius, s.colour, esc(fmt.Sprintf("%s at %s: %s", s.name, p.xTicks[i], tickLabel(v))))
		}
		fmt.Fprintln(w, `</g>`)
	}

	// Legend.
	lx := right + 20
	fmt.Fprintf(w, `<g class="legend">`+"\n")
	for i, s := range p.series {
		y := top + 8 + float64(i)*legendLine
		dash := ""
		if s.dash != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, s.dash)
		}
		fmt.Fprintf(w, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-width="%g"%s/>`+"\n", lx, y, lx+28, y, s.colour, s.width, dash)
		fmt.Fprintf(w, `<text x="%g" y="%g" dominant-baseline="middle">%s</text>`+"\n", lx+36, y, esc(s.name))
	}
	fmt.Fprintln(w, `</g>`)
	fmt.Fprintln(w, `</g>`)
}

// plottable reports whether v can be drawn on the panel's y axis.
func (p panel) plottable(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && (!p.logY || v > 0)
}

// valueRange returns the smallest and largest values the panel can draw
// (+Inf and -Inf when none).
func (p panel) valueRange() (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range p.series {
		for _, v := range s.values {
			if p.plottable(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	return lo, hi
}

// yScale returns the y axis's range and ticks: from 0 to a round number
// above the largest value, or whole decades around the values on a log
// axis, with ticks at 1, 2 and 5 times the powers of ten.
func (p panel) yScale() (lo, hi float64, ticks []float64) {
	vmin, vmax := p.valueRange()
	if p.logY {
		if math.IsInf(vmin, 0) {
			vmin, vmax = 1, 10
		}
		lo = math.Pow(10, math.Floor(math.Log10(vmin)))
		hi = math.Pow(10, math.Ceil(math.Log10(vmax)))
		if hi <= lo {
			hi = lo * 10
		}
		// 1, 2 and 5 in each decade, or decades alone when there are many.
		steps := []float64{1, 2, 5}
		if hi/lo > 1000 {
			steps = []float64{1}
		}
		for d := lo; d < hi*1.001; d *= 10 {
			for _, m := range steps {
				if t := d * m; t <= hi*1.001 {
					ticks = append(ticks, t)
				}
			}
		}
		return lo, hi, ticks
	}
	if math.IsInf(vmax, 0) || vmax <= 0 {
		vmax = 1
	}
	step := niceStep(vmax / 5)
	hi = math.Ceil(vmax/step) * step
	for t := 0.0; t <= hi+step/1000; t += step {
		ticks = append(ticks, t)
	}
	return 0, hi, ticks
}

// niceStep returns 1, 2 or 5 times a power of ten, at least x.
func niceStep(x float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

// tickLabel prints an axis value without needless decimals.
func tickLabel(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	case v >= 1:
		return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
}

// esc escapes text for SVG content and attribute values.
func esc(s string) string { return html.EscapeString(s) }
