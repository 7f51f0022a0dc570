// Package speed is the comparison's speed section: throughput and latency
// of both variants, closed loop at several client counts and open loop at
// fixed rates, beside the Temporal and Kafka no-op ceilings and a
// calibration of the store, measured with the benchmark driver
// (deploy/bench).
package speed
