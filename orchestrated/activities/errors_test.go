package activities

import (
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/faults"
)

func TestActionError_MapsRefusalsToStableNonRetryableTypes(t *testing.T) {
	cases := []struct {
		err      error
		wantType string
	}{
		{fmt.Errorf("reserving: %w", domain.ErrOutOfStock), workflow.RefusalType(domain.ReasonOutOfStock)},
		{fmt.Errorf("charging: %w", domain.ErrPaymentDeclined), workflow.RefusalType(domain.ReasonPaymentDeclined)},
		{fmt.Errorf("shipping: %w", domain.ErrShippingUnavailable), workflow.RefusalType(domain.ReasonShippingUnavailable)},
		{fmt.Errorf("charging: %w", domain.ErrCompensated), workflow.ErrTypeCompensated},
	}
	for _, c := range cases {
		var app *temporal.ApplicationError
		if !errors.As(actionError(c.err), &app) {
			t.Fatalf("%v: not an application error", c.err)
		}
		if app.Type() != c.wantType || !app.NonRetryable() {
			t.Errorf("%v: type %q non-retryable %v, want %q non-retryable", c.err, app.Type(), app.NonRetryable(), c.wantType)
		}
		if !errors.Is(app, errors.Unwrap(c.err)) {
			t.Errorf("%v: the domain sentinel is lost", c.err)
		}
	}
}

func TestActionError_LeavesFaultsRetryable(t *testing.T) {
	injected := errs.Wrap(errs.Unavailable, faults.ErrInjected, "payment is unavailable")
	for _, err := range []error{injected, errors.New("connection reset by peer")} {
		got := actionError(err)
		var app *temporal.ApplicationError
		if errors.As(got, &app) && app.NonRetryable() {
			t.Errorf("%v became non-retryable", err)
		}
		if !errors.Is(got, err) {
			t.Errorf("%v was not passed on as it is: %v", err, got)
		}
	}
	if actionError(nil) != nil {
		t.Fatal("nil became an error")
	}
}

func TestStoreError_RejectionsAreNonRetryableFaultsAreNot(t *testing.T) {
	for _, err := range []error{errs.E(errs.NotFound, "no order o-1"), errs.Wrap(errs.Conflict, domain.ErrFinal, "order o-1 is completed")} {
		var app *temporal.ApplicationError
		if !errors.As(storeError(err), &app) || app.Type() != workflow.ErrTypeOrderRejected || !app.NonRetryable() {
			t.Errorf("%v: got %v, want a non-retryable %s", err, storeError(err), workflow.ErrTypeOrderRejected)
		}
	}
	fault := errors.New("database is locked")
	if got := storeError(fault); got != fault {
		t.Errorf("a fault became %v", got)
	}
}
