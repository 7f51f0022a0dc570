// Package outcomes is the comparison's outcomes section: it runs every
// scenario of the shared suite (shared/scenario) on both variants, checks
// each run's expectations and the saga's invariants, compares the final
// states the two variants reach with scenario.CompareResults, and reports
// where they differ, by design or not.
package outcomes
