// Package chaos runs a saga variant as operating-system processes and
// disrupts it in the middle of bursts of orders: it holds the crash and
// outage tests of both variants, and the machinery they share with the
// failure section of `ordersaga compare` (StartCluster, RunDisruption),
// which takes a testing.TB as the tests do.
//
// Each test runs one variant as four operating-system processes of the
// built binary (orders, inventory, payment, shipping; SQLite files in a
// data folder), with the broker (choreographed) or the Temporal server
// (orchestrated) embedded in the test process, and drives it through the
// REST contract with the shared scenario suite's Env. For each service in
// turn it places a burst of orders, some designed to fail (out of stock,
// payment declined, a country shipping never serves), kills that service's
// process with SIGKILL in the middle of the burst and starts it again on
// the same data; it takes the payment service's database (on PostgreSQL)
// away for 12 s, longer than the quick retries, while the processes keep
// running; then it stops the broker or the Temporal server for a few
// seconds in the middle of a burst and starts it again on the same address
// and data. The Temporal server is also stopped for longer than the
// Temporal client waits for a call, so that some POSTs give up on it: their
// orders are stored without a saga, and must be final within seconds of
// Temporal's return (the orders process's reconciler starts their sagas).
// After each, every accepted order must end final, exactly once, with the
// outcome it was designed for, within a stated bound, and the saga's
// invariants must hold: no order lost, no unit of stock or cent of credit
// taken twice or left held. The processes' databases are migrated first
// with `ordersaga migrate`, as a deployment does.
//
// The scale-out tests run the payment service as two processes on one
// database (one consumer group, or one task queue, shared between them):
// both must run payment steps of an undisturbed burst; then one is killed
// with SIGKILL in the middle of a burst and not restarted, and the other
// must finish every order within a take-over bound derived from the
// setting that notices the crash (the consumer group's session timeout,
// the activities' attempt timeout).
package chaos
