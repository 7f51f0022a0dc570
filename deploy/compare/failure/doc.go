// Package failure is the comparison's failure section: how long a failed
// or cancelled order takes to undo its steps on each variant, how a
// cluster of processes of the binary recovers from a kill -9 of a service
// and from an outage of a database or of its broker or Temporal server
// (deploy/chaos), and how the long-fault scenarios end on stacks with a
// short step deadline.
package failure
