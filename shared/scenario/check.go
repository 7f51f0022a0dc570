package scenario

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// ProblemTypeBase prefixes every problem type URI the contract documents
// (openapi.yaml, served at GET /openapi.yaml).
const ProblemTypeBase = "https://ordersaga.dev/problems/"

// problemTypes maps the 4xx and 503 statuses the suite provokes to their
// documented problem type.
var problemTypes = map[int]string{
	http.StatusBadRequest:            ProblemTypeBase + "validation",
	http.StatusUnauthorized:          ProblemTypeBase + "unauthorized",
	http.StatusForbidden:             ProblemTypeBase + "forbidden",
	http.StatusNotFound:              ProblemTypeBase + "not-found",
	http.StatusMethodNotAllowed:      ProblemTypeBase + "method-not-allowed",
	http.StatusConflict:              ProblemTypeBase + "conflict",
	http.StatusRequestEntityTooLarge: ProblemTypeBase + "request-too-large",
	http.StatusUnsupportedMediaType:  ProblemTypeBase + "unsupported-media-type",
	http.StatusServiceUnavailable:    ProblemTypeBase + "unavailable",
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
	if !strings.HasPrefix(p.Type, ProblemTypeBase) {
		return fmt.Sprintf("problem type %q is not under %s; answer %v", p.Type, ProblemTypeBase, r)
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

// Want is the final state a scenario expects of one order: its status and
// reason, and the step at which the saga stopped ("" when it completed),
// from which each step's expected status follows for any saga (see
// stepsWanted).
type Want struct {
	status    domain.Status
	reason    domain.FailureReason
	stoppedAt domain.StepName
}

// Expected final states.
var (
	wantOutOfStock          = WantRefused(domain.StepInventory, domain.ReasonOutOfStock)
	wantPaymentDeclined     = WantRefused(domain.StepPayment, domain.ReasonPaymentDeclined)
	wantShippingUnavailable = WantRefused(domain.StepShipping, domain.ReasonShippingUnavailable)
)

// WantCompleted is a completed order's expected state: every step done.
func WantCompleted() Want { return Want{status: domain.StatusCompleted} }

// WantRefused is a failed order's expected state when step refused with
// reason: the steps before it compensated, it failed, the later ones
// skipped.
func WantRefused(step domain.StepName, reason domain.FailureReason) Want {
	return Want{status: domain.StatusFailed, reason: reason, stoppedAt: step}
}

// WantCancelledAt is a cancelled order's expected state when the cancel
// arrived while step ran: earlier steps compensated, that step compensated
// (it may have taken effect) or skipped, later ones skipped.
func WantCancelledAt(step domain.StepName) Want {
	return Want{status: domain.StatusCancelled, reason: domain.ReasonCancelled, stoppedAt: step}
}

// stepsWanted returns, for each of the saga's steps in turn, the statuses
// w accepts.
func (w Want) stepsWanted(steps []domain.StepName) []anyOf {
	out := make([]anyOf, len(steps))
	stopped := slices.Index(steps, w.stoppedAt)
	for i := range steps {
		switch {
		case w.status == domain.StatusCompleted:
			out[i] = anyOf{domain.StepDone}
		case i < stopped:
			out[i] = anyOf{domain.StepCompensated}
		case i == stopped && w.status == domain.StatusFailed:
			out[i] = anyOf{domain.StepFailed}
		case i == stopped:
			out[i] = anyOf{domain.StepCompensated, domain.StepSkipped}
		default:
			out[i] = anyOf{domain.StepSkipped}
		}
	}
	return out
}

// ExpectOrder reports through tb how the named order of r differs from w.
func ExpectOrder(tb testing.TB, r Result, name string, w Want) {
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
	steps := r.stepNames()
	for i, accepted := range w.stepsWanted(steps) {
		if s := got.step(steps[i]); !slices.Contains(accepted, s) {
			tb.Errorf("order %s (%s): step %s is %q, want one of %v (steps %v)", name, o.ID, steps[i], s, accepted, o.Steps)
		}
	}
}

// ExpectStock reports through tb when the product's stock did not change by
// delta units.
func ExpectStock(tb testing.TB, r Result, product string, delta int64) {
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

// ExpectCredit reports through tb when the customer's credit did not change
// by delta cents.
func ExpectCredit(tb testing.TB, r Result, customer string, delta int64) {
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
