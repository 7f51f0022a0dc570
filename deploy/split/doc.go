// Package split holds the test of the split deployment of both saga
// variants through one address; it has no code of its own besides its
// tests.
//
// Each test builds the binary once and runs one variant as an
// operating-system process of it per role (orders, inventory, payment,
// shipping, notifications; SQLite files in a data folder), with the broker
// (choreographed) or the Temporal server (orchestrated) embedded in the
// test process, the orders process given the others' addresses
// (-inventory-url, -payment-url, -shipping-url, -notifications-url). The
// shared scenario suite and the bad-input table then run against the
// orders process's address alone: the catalog, the customers, their
// notifications and the fault settings must answer there as they do on a
// process hosting every service. Last, a service's process is stopped and
// the orders process must answer for it with a 503 problem.
package split
