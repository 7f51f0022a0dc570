package scenario

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// Result is the final state a scenario left on a stack once it was quiet.
// Orders, products and customers are keyed by the names the scenario gave
// them (not their run-specific ids), so results of two stacks compare.
type Result struct {
	Scenario string // the scenario's name
	Target   string // the stack's name
	// Elapsed runs from the first order placed to the last order seen
	// final.
	Elapsed time.Duration
	// FinalWithin is the bound the orders were held to.
	FinalWithin time.Duration
	// Racy marks a scenario whose per-order outcomes depend on timing
	// (orders racing for stock); Compare then compares only how many
	// orders it placed, and logs the other differences.
	Racy bool
	// Steps are the steps of the saga the target runs, in order (the
	// default saga's when nil).
	Steps []domain.StepName

	Orders    map[string]OrderResult
	Products  map[string]ProductResult
	Customers map[string]CustomerResult
}

// stepNames returns the steps of the saga the target runs, in order.
func (r Result) stepNames() []domain.StepName {
	if len(r.Steps) == 0 {
		return saga.Default().Names()
	}
	return r.Steps
}

// OrderResult is one order's final state.
type OrderResult struct {
	ID             string
	CustomerID     string
	Items          []OrderItem
	TotalCents     *int64
	Status         domain.Status
	FailureReason  domain.FailureReason
	Steps          []Step
	TrackingNumber string
	// Took runs from just before the order was placed to when the suite
	// first saw it final; 0 when it never was.
	Took time.Duration
}

// order returns the order's status and steps as the API showed them.
func (o OrderResult) order() Order { return Order{Status: o.Status, Steps: o.Steps} }

// ProductResult is one product's stock at the start and at the end.
type ProductResult struct {
	SKU        string
	PriceCents int64
	Initial    int64 // the stock the scenario set
	Available  int64
	Reserved   int64
}

// StockDelta is how the product's stock changed: available + reserved now
// minus the stock at the start (negative when units left the warehouse).
func (p ProductResult) StockDelta() int64 { return p.Available + p.Reserved - p.Initial }

// CustomerResult is one customer's credit at the start and at the end.
type CustomerResult struct {
	ID      string
	Initial int64
	Credit  int64
}

// CreditDelta is how the customer's credit changed (negative when charged).
func (c CustomerResult) CreditDelta() int64 { return c.Credit - c.Initial }

// OrderNames returns the names of the result's orders, sorted.
func (r Result) OrderNames() []string { return slices.Sorted(maps.Keys(r.Orders)) }

// Count returns how many orders ended with the status.
func (r Result) Count(s domain.Status) int {
	n := 0
	for _, o := range r.Orders {
		if o.Status == s {
			n++
		}
	}
	return n
}

// MaxTook returns the longest time an order took to become final.
func (r Result) MaxTook() time.Duration {
	var m time.Duration
	for _, o := range r.Orders {
		m = max(m, o.Took)
	}
	return m
}

// CheckInvariants reports through tb every invariant r breaks (see the
// package documentation). It does not stop at the first.
func CheckInvariants(tb testing.TB, r Result) {
	tb.Helper()
	for _, v := range violations(r) {
		tb.Error(v.msg)
	}
}

// violation is one broken invariant. timing marks the bound on how long an
// order took, which no later state can repair.
type violation struct {
	msg    string
	timing bool
}

// violations lists every invariant r breaks.
func violations(r Result) []violation {
	var out []violation
	add := func(format string, args ...any) {
		out = append(out, violation{msg: "invariant: " + fmt.Sprintf(format, args...)})
	}
	completedUnits := map[string]int64{}  // sku → units of completed orders
	completedCredit := map[string]int64{} // customer id → totals of completed orders
	for _, name := range r.OrderNames() {
		o := r.Orders[name]
		out = append(out, orderViolations(r, name, o)...)
		if o.Status != domain.StatusCompleted {
			continue
		}
		for _, it := range o.Items {
			completedUnits[it.SKU] += it.Quantity
		}
		if o.TotalCents != nil {
			completedCredit[o.CustomerID] += *o.TotalCents
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Products)) {
		p := r.Products[name]
		if got := p.Available + p.Reserved + completedUnits[p.SKU]; got != p.Initial {
			add("product %s: stock at start %d != available %d + reserved %d + completed units %d (= %d)",
				p.SKU, p.Initial, p.Available, p.Reserved, completedUnits[p.SKU], got)
		}
		if p.Reserved != 0 {
			add("product %s: %d units still reserved once quiet, want 0", p.SKU, p.Reserved)
		}
		if p.Available < 0 {
			add("product %s: available %d is negative (oversold)", p.SKU, p.Available)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Customers)) {
		c := r.Customers[name]
		if got := c.Credit + completedCredit[c.ID]; got != c.Initial {
			add("customer %s: credit at start %d != credit now %d + completed totals %d (= %d)",
				c.ID, c.Initial, c.Credit, completedCredit[c.ID], got)
		}
		if c.Credit < 0 {
			add("customer %s: credit %d is negative (overcharged)", c.ID, c.Credit)
		}
	}
	return out
}

// orderViolations lists the invariants one order breaks.
func orderViolations(r Result, name string, o OrderResult) []violation {
	var out []violation
	add := func(format string, args ...any) {
		out = append(out, violation{msg: "invariant: " + fmt.Sprintf(format, args...)})
	}
	if !o.Status.Final() {
		add("order %s (%s) is %q, not final within %v", name, o.ID, o.Status, r.FinalWithin)
		return out
	}
	if o.Took > r.FinalWithin {
		out = append(out, violation{timing: true,
			msg: fmt.Sprintf("invariant: order %s (%s) took %v to become final, over the bound %v", name, o.ID, o.Took, r.FinalWithin)})
	}
	if steps := r.stepNames(); len(o.Steps) != len(steps) {
		add("order %s (%s) has steps %v, want %v", name, o.ID, o.Steps, steps)
	}
	switch o.Status {
	case domain.StatusCompleted:
		if o.TrackingNumber == "" {
			add("completed order %s (%s) has no tracking number", name, o.ID)
		}
		if o.TotalCents == nil {
			add("completed order %s (%s) has no total_cents", name, o.ID)
		}
		if o.FailureReason != "" {
			add("completed order %s (%s) has failure_reason %q", name, o.ID, o.FailureReason)
		}
		for _, s := range o.Steps {
			if s.Status != domain.StepDone {
				add("completed order %s (%s): step %s is %q, want done", name, o.ID, s.Step, s.Status)
			}
		}
	case domain.StatusFailed, domain.StatusCancelled:
		if o.FailureReason == "" {
			add("%s order %s (%s) has no failure_reason", o.Status, name, o.ID)
		}
		if o.Status == domain.StatusCancelled && o.FailureReason != domain.ReasonCancelled {
			add("cancelled order %s (%s) has failure_reason %q, want %q", name, o.ID, o.FailureReason, domain.ReasonCancelled)
		}
		if o.TrackingNumber != "" {
			add("%s order %s (%s) holds a shipment (tracking number %q)", o.Status, name, o.ID, o.TrackingNumber)
		}
		for _, s := range o.Steps {
			if s.Status == domain.StepDone || s.Status == domain.StepPending {
				add("%s order %s (%s): step %s is still %q (done steps must be compensated)", o.Status, name, o.ID, s.Step, s.Status)
			}
		}
	}
	return out
}

// quiet reports whether r shows a stack with nothing left to do for the
// scenario: every order settled and every invariant but the time bound
// holding.
func quiet(r Result) bool {
	for _, o := range r.Orders {
		if !settled(o.order()) {
			return false
		}
	}
	for _, v := range violations(r) {
		if !v.timing {
			return false
		}
	}
	return true
}
