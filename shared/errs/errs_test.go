package errs_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/shared/errs"
)

func TestCodeOf_FindsTheCodeThroughWrapping(t *testing.T) {
	cause := errors.New("connection reset")
	err := fmt.Errorf("charging: %w", errs.Wrap(errs.Unavailable, cause, "payment is unavailable"))
	if errs.CodeOf(err) != errs.Unavailable || !errs.Is(err, errs.Unavailable) {
		t.Fatalf("code = %s", errs.CodeOf(err))
	}
	if !errors.Is(err, cause) {
		t.Fatal("cause lost")
	}
	if errs.CodeOf(errors.New("plain")) != errs.Internal {
		t.Fatal("plain error is not internal")
	}
	if errs.CodeOf(nil) != "" || errs.Is(nil, errs.Internal) {
		t.Fatal("nil error has a code")
	}
}

func TestInvalidFields_KeepsEveryField(t *testing.T) {
	err := errs.InvalidFields([]errs.FieldError{{Field: "a", Message: "bad"}, {Field: "b", Message: "worse"}})
	if err.Code != errs.Invalid || len(err.Fields) != 2 || !strings.Contains(err.Error(), "invalid") {
		t.Fatalf("err = %+v", err)
	}
}
