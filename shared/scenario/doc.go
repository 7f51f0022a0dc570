// Package scenario is the one scenario suite both saga variants must pass.
// It drives a running stack through the REST contract of API.md only (HTTP
// and JSON; it imports no variant), checks the saga's invariants once the
// stack is quiet, and compares the final states two stacks reach.
//
// A variant's test starts its stack, points a Target at it and calls:
//
//	results := scenario.Run(t, tg)   // every scenario as a subtest, invariants after each
//	scenario.RunBadInput(t, tg)      // malformed and hostile requests: 4xx problem+json, nothing changes
//	scenario.CheckAccess(t, tg)      // every endpoint × every kind of credential, as the access rules say
//	scenario.CheckWaitBound(t, tg, n) // on a stack with Limits.MaxWaiting n: waiters past it refused, sagas complete
//
// Credentials: with Target.Keys (the keys the stack verifies tokens
// with) the suite mints short-lived tokens: an operator's for the set-up
// endpoints (products, customers, faults) and the malformed requests,
// and each scenario customer's own, with which it places, reads, cancels
// and lists that customer's orders, so a customer's list holds only its
// orders. A stack run elsewhere takes Target.OperatorToken instead, sent
// with every request; a Target with neither sends no credential, for a
// stack run open.
//
// and the comparison test calls scenario.Compare(t, orchestrated, choreographed),
// or scenario.CompareResults on the results of two Run calls.
//
// Isolation: every scenario creates its own products, customers and
// orders, with ids made of a random run id, the scenario's name and a name
// ("1f2e3d4c-happy_path-mug"), so scenarios never share data and the
// suite can run against a long-lived stack. Fault settings (PUT
// /v1/admin/faults) are stack-wide: scenarios run one after another, each
// resets the faults it set, and nothing else should place orders on the
// stack while a fault scenario runs. The stack must serve
// /v1/admin/faults (fault injection enabled).
//
// Bounds: an order must be final within Target.FinalWithin of being placed
// (DefaultFinalWithin, 30 s, when zero), and once every order of a scenario
// is final the stack must be quiet (every compensation done, nothing
// reserved, stock and credit adding up) within the same bound. With the
// default parameters (BurstOrders 200) the suite takes well under a minute
// against a healthy stack.
//
// The package's own tests run the suite against an in-memory reference
// fake (a test double in fake_test.go) and against deliberately broken
// fakes, to show the assertions pass and fail.
//
// Invariants (CheckInvariants), checked after every scenario:
//   - every product: stock at start == available + reserved + units of the
//     scenario's completed orders; reserved == 0; available >= 0;
//   - every customer: credit at start == credit now + totals of completed
//     orders; credit >= 0;
//   - every completed order: a tracking number, a total, every step done;
//   - every failed or cancelled order: a failure reason, no tracking number,
//     no step left done or pending (done steps were compensated);
//   - every order final within FinalWithin.
package scenario
