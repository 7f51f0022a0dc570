// Package section holds what every section of the comparison runs against:
// Env, the run's settings and its stacks (started in-process or given by
// URL, and on demand a second pair whose sagas run with a short step
// deadline), and RunRecorded, which runs the scenario suite's test-style
// code outside `go test` with a Recorder as its testing.TB.
package section
