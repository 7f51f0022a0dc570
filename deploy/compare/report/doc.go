// Package report is the comparison's report model and its rendering: a
// Report (its Setup, its Headlines and a Section per part of the run), each
// Section's Figures (every measured value, with its variant, unit and
// method), Tables and Charts; WriteJSON and ReadJSON for report.json, and
// Write for the three files of a run: report.md, report.html (one
// self-contained page with inline SVG charts) and report.json. Headlines
// draws the report's main findings from the sections' figures.
package report
