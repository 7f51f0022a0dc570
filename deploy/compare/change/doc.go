// Package change is the comparison's change section: it counts, in the
// source tree the command runs from, the files and lines a change touches
// in each variant (shared/, the variant's production code and its tests):
// a fourth step added the way a new feature is, and a new consumer of the
// order's end; and the production lines of each variant that name a step
// of the default saga.
package change
