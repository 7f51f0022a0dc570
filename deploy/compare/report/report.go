package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"
)

// The variants a report compares, by the name every section uses.
const (
	Orchestrated  = "orchestrated"
	Choreographed = "choreographed"
)

// Variants returns the compared variants in the report's order.
func Variants() []string { return []string{Orchestrated, Choreographed} }

// The sections of a report, by key, in the report's order.
const (
	SectionOutcomes = "outcomes"
	SectionSpeed    = "speed"
	SectionCost     = "cost"
	SectionFailure  = "failure"
	SectionChange   = "change"
)

// SectionKeys returns every section's key in the report's order.
func SectionKeys() []string {
	return []string{SectionOutcomes, SectionSpeed, SectionCost, SectionFailure, SectionChange}
}

// Report is what one run of the comparison measured.
type Report struct {
	// Setup says where, with what and how the run measured.
	Setup Setup `json:"setup"`
	// Headlines are the report's main findings, one line each, drawn from
	// the sections' figures.
	Headlines []string `json:"headlines,omitempty"`
	// Sections are in SectionKeys order; a section not run is absent.
	Sections []*Section `json:"sections"`
}

// Section returns the section with the key, nil when the report has none.
func (r *Report) Section(key string) *Section {
	for _, s := range r.Sections {
		if s.Key == key {
			return s
		}
	}
	return nil
}

// Setup describes the machine, the versions and the settings of a run.
type Setup struct {
	Started time.Time `json:"started"`
	// Took is the run's whole time.
	Took Duration `json:"took"`
	// Mode is "quick" or "full".
	Mode string `json:"mode"`
	// Machine says what the machine is: OS, architecture, CPUs, model.
	Machine   string `json:"machine"`
	GoVersion string `json:"go_version"`
	// Modules are the versions of the main dependencies (Temporal SDK and
	// server, kafka-go, the database drivers, gin), by module path.
	Modules map[string]string `json:"modules,omitempty"`
	// Store is "SQLite" or "PostgreSQL <version>" for the in-process
	// stacks, or "external".
	Store string `json:"store"`
	// Stacks says, per variant, what was measured: "in-process, …" or the
	// URL of a running stack.
	Stacks map[string]string `json:"stacks"`
	// Settings are the run's settings that shape its figures (step deadline,
	// durations, orders per measure, …), as name: value.
	Settings []Setting `json:"settings,omitempty"`
}

// Setting is one named setting of a run.
type Setting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Section is one part of the report: what it measured, for both variants.
type Section struct {
	Key   string `json:"key"`
	Title string `json:"title"`
	// Summary are the section's findings, one line each.
	Summary []string `json:"summary,omitempty"`
	// Method says how the section measured, in a paragraph.
	Method string `json:"method,omitempty"`
	// Figures are every measured value of the section, flat, each with its
	// variant and unit: what the tables and charts show.
	Figures []Figure `json:"figures"`
	Tables  []Table  `json:"tables,omitempty"`
	Charts  []Chart  `json:"charts,omitempty"`
	// Notes are remarks printed under the section (by-design differences,
	// what could not be measured and why).
	Notes []string `json:"notes,omitempty"`
	// Data is the section's own detailed result, for the JSON report.
	Data any `json:"data,omitempty"`
	// Error says why the section failed or is incomplete; its figures are
	// then what it measured before.
	Error string `json:"error,omitempty"`
	// Took is how long the section ran.
	Took Duration `json:"took"`
}

// Add appends a figure to the section.
func (s *Section) Add(variant, name string, value float64, unit, method string) {
	s.Figures = append(s.Figures, Figure{Variant: variant, Name: name, Value: value, Unit: unit, Method: method})
}

// FiguresOf returns the section's figures of one variant.
func (s *Section) FiguresOf(variant string) []Figure {
	var fs []Figure
	for _, f := range s.Figures {
		if f.Variant == variant {
			fs = append(fs, f)
		}
	}
	return fs
}

// Figure is one measured value.
type Figure struct {
	// Variant is Orchestrated or Choreographed ("" for a value of both, such
	// as a framework ceiling's, named in Name).
	Variant string  `json:"variant"`
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	// Unit is the value's unit ("orders/s", "ms", "commits/order", …).
	Unit string `json:"unit"`
	// Method says how it was measured, when the section's Method does not.
	Method string `json:"method,omitempty"`
}

// Valid reports whether the figure is a number (not NaN or infinite).
func (f Figure) Valid() bool { return !math.IsNaN(f.Value) && !math.IsInf(f.Value, 0) }

// Table is a table of the report: a header and rows of formatted cells.
type Table struct {
	Title   string     `json:"title"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
	// Notes are printed under the table.
	Notes []string `json:"notes,omitempty"`
}

// Chart is a grouped bar chart: per group (say "10 clients"), one bar per
// series (say each variant).
type Chart struct {
	Title string `json:"title"`
	// Unit labels the value axis.
	Unit   string     `json:"unit"`
	Groups []BarGroup `json:"groups"`
	// LowerIsBetter says how to read it (latencies, costs).
	LowerIsBetter bool `json:"lower_is_better,omitempty"`
}

// BarGroup is one group of bars.
type BarGroup struct {
	Label string `json:"label"`
	Bars  []Bar  `json:"bars"`
}

// Bar is one bar: a series (a variant, or a ceiling) and its value.
type Bar struct {
	Series string  `json:"series"`
	Value  float64 `json:"value"`
}

// Duration is a time.Duration written to JSON as seconds.
type Duration time.Duration

// MarshalJSON writes the duration as seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(math.Round(time.Duration(d).Seconds()*1000) / 1000)
}

// UnmarshalJSON reads seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s float64
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration in seconds: %w", err)
	}
	*d = Duration(s * float64(time.Second))
	return nil
}

// String formats the duration rounded to milliseconds.
func (d Duration) String() string { return time.Duration(d).Round(time.Millisecond).String() }

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing the JSON report: %w", err)
	}
	return nil
}

// ReadJSON reads a report written by WriteJSON (sections' Data stay
// generic JSON values).
func ReadJSON(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("reading the JSON report: %w", err)
	}
	return &r, nil
}
