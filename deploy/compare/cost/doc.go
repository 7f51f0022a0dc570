// Package cost is the comparison's cost section: what an order of the
// normal mix costs on each variant, in CPU, service database commits, the
// framework's records (Kafka messages and bytes, Temporal history events
// and bytes) and stored bytes, each counted over a run less what the stack
// did while idle.
package cost
