package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sampleReport returns a report with two variants, both modes, ceilings
// and a skipped point.
func sampleReport() Report {
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	closed := func(c int, tp, p50, p99 float64) Point {
		return Point{Mode: ModeClosed, Clients: c, WindowSeconds: 5, Throughput: tp, Final: int(tp * 5), Succeeded: int(tp * 5),
			Latency: Latency{P50: p50, P95: p99 * 0.9, P99: p99, Max: p99 * 2, Mean: p50 * 1.1}, MaxInFlight: c}
	}
	open := func(r, tp, p50, p99 float64) Point {
		p := closed(0, tp, p50, p99)
		p.Mode, p.Clients, p.Rate = ModeOpen, 0, r
		return p
	}
	rep := Report{
		Started:  started,
		Finished: started.Add(3 * time.Minute),
		Setup:    Setup{Machine: "linux/amd64, 2 CPUs", GoVersion: "go1.26.8", Databases: "SQLite files", Notes: []string{"a note"}},
		Settings: Settings{Concurrencies: []int{1, 8, 32}, Rates: []float64{25, 50}, DurationS: 5, WarmupS: 1, Wait: "30s",
			OrderTimeoutS: 60, MaxInFlight: 4096, Products: 100, Customers: 200, Seed: 1, RunID: "bench-x"},
		Variants: []VariantResult{
			{Name: "orchestrated", BaseURL: "http://127.0.0.1:1", Framework: FrameworkTemporal,
				Closed: []Point{closed(1, 30, 30, 45), closed(8, 40, 180, 300), closed(32, 42, 700, 1200)},
				Open:   []Point{open(25, 25, 35, 60), {Mode: ModeOpen, Rate: 50, Skipped: "not run: 25/s was not sustained"}}},
			{Name: "choreographed", BaseURL: "http://127.0.0.1:2", Framework: FrameworkKafka,
				Closed: []Point{closed(1, 90, 11, 20), closed(8, 300, 25, 44), closed(32, 420, 70, 130)},
				Open:   []Point{open(25, 25, 12, 20), open(50, 50, 12, 22)}},
		},
		Ceilings: []CeilingResult{
			{Framework: FrameworkTemporal, Description: "no-op workflow", Closed: []Point{closed(1, 40, 25, 30), closed(8, 50, 150, 200), closed(32, 52, 600, 900)}},
			{Framework: FrameworkKafka, Description: "no-op pipeline", Closed: []Point{closed(1, 160, 6, 9), closed(8, 1200, 6.5, 11), closed(32, 3000, 10, 20)}},
		},
	}
	rep.Variants[1].Closed[2].ErrorKinds = map[string]int{"http_5xx": 2}
	rep.Variants[1].Closed[2].Errors = 2
	rep.Variants[1].Closed[2].ErrorSamples = []string{"POST /v1/orders: HTTP 503 <unavailable> & \"more\""}
	rep.Ceilings[0].Closed[0].Counters = map[string]int{noteCloseByDescribe: 1}
	rep.fillShares()
	return rep
}

func TestFillShares_PairsVariantWithItsFrameworksCeiling(t *testing.T) {
	rep := sampleReport()
	orch, chor := rep.Variants[0], rep.Variants[1]
	if got := orch.Closed[0].ShareOfCeiling; got != 0.75 {
		t.Errorf("orchestrated c=1 share %v, want 30/40 = 0.75", got)
	}
	if got := chor.Closed[1].ShareOfCeiling; got != 0.25 {
		t.Errorf("choreographed c=8 share %v, want 300/1200 = 0.25", got)
	}
	if got := orch.PeakShareOfCeiling; got != 0.8077 {
		t.Errorf("orchestrated peak share %v, want 42/52 = 0.8077", got)
	}
	if got := chor.PeakShareOfCeiling; got != 0.14 {
		t.Errorf("choreographed peak share %v, want 420/3000 = 0.14", got)
	}
}

func TestReport_JSONRoundTrip_KeepsEveryField(t *testing.T) {
	rep := sampleReport()
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"p99_ms"`, `"throughput_per_s"`, `"share_of_ceiling"`, `"skipped"`, `"close_found_by_describe"`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	got, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rep) {
		t.Errorf("round trip changed the report:\n got %+v\nwant %+v", got, rep)
	}
}

func TestMeasured_EmptyAndFilledReports(t *testing.T) {
	if !sampleReport().Measured() {
		t.Error("a report with points says it measured nothing")
	}
	empty := Report{Variants: []VariantResult{{Name: "orchestrated"}}, Ceilings: []CeilingResult{{Framework: FrameworkKafka, Error: "down"}}}
	if empty.Measured() {
		t.Error("a report without points says it measured something")
	}
}

func TestReadJSON_UnknownField_Refused(t *testing.T) {
	if _, err := ReadJSON(strings.NewReader(`{"started":"2026-01-01T00:00:00Z","bogus":1}`)); err == nil {
		t.Error("a report with an unknown field was read")
	}
}

func TestWriteTable_ShowsVariantsSideBySideAndCeilings(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleReport().WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"Closed loop", "Open loop", "Ceilings", "orchestrated", "choreographed", "skipped",
		"75%", "81% of the temporal ceiling", "HTTP 503", "not run: 25/s was not sustained"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// Variants are side by side: at each point, one row per variant, in order.
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.Contains(l, "orchestrated") && strings.HasPrefix(strings.TrimSpace(l), "8 ") {
			if i+1 >= len(lines) || !strings.Contains(lines[i+1], "choreographed") || !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "8 ") {
				t.Errorf("the row after %q is %q, want choreographed at 8 clients", l, lines[i+1])
			}
		}
	}
}

func TestWriteSVG_WellFormedWithBothVariantsAndCeilings(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleReport().WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	series, panels := svgSeries(t, buf.Bytes())
	if panels != 3 {
		t.Errorf("%d panels, want 3 (throughput, closed-loop latency, open-loop latency)", panels)
	}
	for _, want := range []string{"orchestrated", "choreographed", "orchestrated p50", "orchestrated p99",
		"choreographed p50", "choreographed p99", "temporal ceiling", "kafka ceiling", "temporal ceiling p50"} {
		if series[want] == 0 {
			t.Errorf("no series %q; have %v", want, series)
		}
	}
}

func TestWriteSVG_NoOpenLoop_TwoPanels(t *testing.T) {
	rep := sampleReport()
	rep.Settings.Rates = nil
	rep.Ceilings = nil
	var buf bytes.Buffer
	if err := rep.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	series, panels := svgSeries(t, buf.Bytes())
	if panels != 2 {
		t.Errorf("%d panels, want 2", panels)
	}
	if series["temporal ceiling"] != 0 {
		t.Error("a ceiling series without a ceiling run")
	}
}

// svgSeries parses the SVG as XML (failing the test if it is not well
// formed) and counts its series by name, and its panels.
func svgSeries(t *testing.T, svg []byte) (map[string]int, int) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	series := map[string]int{}
	panels, paths := 0, 0
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root == "" {
			root = se.Name.Local
		}
		if se.Name.Local == "path" {
			paths++
		}
		for _, a := range se.Attr {
			switch {
			case a.Name.Local == "data-series":
				series[a.Value]++
			case a.Name.Local == "class" && a.Value == "panel":
				panels++
			}
		}
	}
	if root != "svg" {
		t.Errorf("root element %q, want svg", root)
	}
	if paths == 0 {
		t.Error("the SVG draws no line")
	}
	return series, panels
}
