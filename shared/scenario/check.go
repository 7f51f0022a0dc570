package scenario

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// ProblemTypeBase prefixes every problem type URI the contract documents
// (openapi.yaml, served at GET /openapi.yaml).
const ProblemTypeBase = "https://ordersaga.dev/problems/"

// problemTypes maps the 4xx statuses the suite provokes to their documented
// problem type.
var problemTypes = map[int]string{
	http.StatusBadRequest:            ProblemTypeBase + "validation",
	http.StatusNotFound:              ProblemTypeBase + "not-found",
	http.StatusMethodNotAllowed:      ProblemTypeBase + "method-not-allowed",
	http.StatusConflict:              ProblemTypeBase + "conflict",
	http.StatusRequestEntityTooLarge: ProblemTypeBase + "request-too-large",
	http.StatusUnsupportedMediaType:  ProblemTypeBase + "unsupported-media-type",
}

// problemError describes what is wrong with r as a problem document with
// the status and, when fields is not nil, exactly those field errors (in
// any order); "" when nothing is.
func problemError(r response, status int, fields []string) string {
	if r.Status != status {
		return fmt.Sprintf("status %d, want %d; answer %v", r.Status, status, r)
	}
	if mt := r.mediaType(); mt != mediaProblem {
		return fmt.Sprintf("Content-Type %q, want %s; answer %v", r.Header.Get("Content-Type"), mediaProblem, r)
	}
	var p Problem
	if err := r.decode(&p); err != nil {
		return err.Error()
	}
	if want, ok := problemTypes[status]; ok && p.Type != want {
		return fmt.Sprintf("problem type %q, want %q; answer %v", p.Type, want, r)
	}
	if p.Type == "" || p.Title == "" || p.Detail == "" || p.Status != status {
		return fmt.Sprintf("problem lacks type, title or detail, or its status is not %d: %+v", status, p)
	}
	got := make([]string, 0, len(p.Errors))
	for _, e := range p.Errors {
		if e.Message == "" {
			return fmt.Sprintf("field error %q has no message: %v", e.Field, r)
		}
		got = append(got, e.Field)
	}
	if fields != nil {
		want := slices.Clone(fields)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			return fmt.Sprintf("problem names fields %q, want %q; answer %v", got, want, r)
		}
	}
	return ""
}

// expectProblem reports through tb when r is not the problem document
// problemError describes.
func expectProblem(tb testing.TB, what string, r response, status int, fields ...string) {
	tb.Helper()
	if msg := problemError(r, status, fields); msg != "" {
		tb.Errorf("%s: %s", what, msg)
	}
}

// anyOf is the set of step statuses a check accepts.
type anyOf []domain.StepStatus

// want is the final state a scenario expects of one order. Steps lists,
// for inventory, payment and shipping in turn, the statuses accepted.
type want struct {
	status domain.Status
	reason domain.FailureReason
	steps  [3]anyOf
}

// stepOrder is the saga's steps in the order they run.
var stepOrder = [3]domain.StepName{domain.StepInventory, domain.StepPayment, domain.StepShipping}

// Expected final states.
var (
	wantCompleted = want{status: domain.StatusCompleted,
		steps: [3]anyOf{{domain.StepDone}, {domain.StepDone}, {domain.StepDone}}}
	wantOutOfStock = want{status: domain.StatusFailed, reason: domain.ReasonOutOfStock,
		steps: [3]anyOf{{domain.StepFailed}, {domain.StepSkipped}, {domain.StepSkipped}}}
	wantPaymentDeclined = want{status: domain.StatusFailed, reason: domain.ReasonPaymentDeclined,
		steps: [3]anyOf{{domain.StepCompensated}, {domain.StepFailed}, {domain.StepSkipped}}}
	wantShippingUnavailable = want{status: domain.StatusFailed, reason: domain.ReasonShippingUnavailable,
		steps: [3]anyOf{{domain.StepCompensated}, {domain.StepCompensated}, {domain.StepFailed}}}
)

// wantCancelledAt is a cancelled order's expected state when the cancel
// arrived while the step at index i ran: earlier steps compensated, that
// step compensated (it may have taken effect) or skipped, later ones
// skipped.
func wantCancelledAt(i int) want {
	w := want{status: domain.StatusCancelled, reason: domain.ReasonCancelled}
	for j := range w.steps {
		switch {
		case j < i:
			w.steps[j] = anyOf{domain.StepCompensated}
		case j == i:
			w.steps[j] = anyOf{domain.StepCompensated, domain.StepSkipped}
		default:
			w.steps[j] = anyOf{domain.StepSkipped}
		}
	}
	return w
}

// expectOrder reports through tb how the named order of r differs from w.
func expectOrder(tb testing.TB, r Result, name string, w want) {
	tb.Helper()
	o, ok := r.Orders[name]
	if !ok {
		tb.Errorf("order %s: missing from the result", name)
		return
	}
	if o.Status != w.status || o.FailureReason != w.reason {
		tb.Errorf("order %s (%s): status %q, failure_reason %q; want %q, %q (steps %v)",
			name, o.ID, o.Status, o.FailureReason, w.status, w.reason, o.Steps)
	}
	got := Order{Steps: o.Steps}
	for i, step := range stepOrder {
		if s := got.step(step); !slices.Contains(w.steps[i], s) {
			tb.Errorf("order %s (%s): step %s is %q, want one of %v (steps %v)", name, o.ID, step, s, w.steps[i], o.Steps)
		}
	}
}

// expectStock reports through tb when the product's stock did not change by
// delta units.
func expectStock(tb testing.TB, r Result, product string, delta int64) {
	tb.Helper()
	p, ok := r.Products[product]
	if !ok {
		tb.Errorf("product %s: missing from the result", product)
		return
	}
	if got := p.StockDelta(); got != delta {
		tb.Errorf("product %s: stock changed by %d, want %d (%+v)", p.SKU, got, delta, p)
	}
}

// expectCredit reports through tb when the customer's credit did not change
// by delta cents.
func expectCredit(tb testing.TB, r Result, customer string, delta int64) {
	tb.Helper()
	c, ok := r.Customers[customer]
	if !ok {
		tb.Errorf("customer %s: missing from the result", customer)
		return
	}
	if got := c.CreditDelta(); got != delta {
		tb.Errorf("customer %s: credit changed by %d, want %d (%+v)", c.ID, got, delta, c)
	}
}
