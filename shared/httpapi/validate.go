package httpapi

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
)

// maxNameLength bounds product and customer names, in characters.
const maxNameLength = 200

// fieldErrors collects a request's bad fields.
type fieldErrors []errs.FieldError

func (f *fieldErrors) add(field, format string, args ...any) {
	*f = append(*f, errs.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// merge adds the field errors of an errs.Invalid error; it returns any other
// error unchanged (and nil when it added them).
func (f *fieldErrors) merge(err error) error {
	e, ok := errors.AsType[*errs.Error](err)
	if err == nil || !ok || e.Code != errs.Invalid || len(e.Fields) == 0 {
		return err
	}
	*f = append(*f, e.Fields...)
	return nil
}

// err returns an errs.Invalid error listing the fields, or nil.
func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return errs.InvalidFields(f)
}

func (f *fieldErrors) id(field, v string) {
	if !domain.ValidID(v) {
		f.add(field, domain.IDRule)
	}
}

func (f *fieldErrors) name(field string, v *string) {
	switch {
	case v == nil || strings.TrimSpace(*v) == "":
		f.add(field, "is required")
	case utf8.RuneCountInString(*v) > maxNameLength:
		f.add(field, "must be at most %d characters", maxNameLength)
	}
}

// upTo checks that v is given and from 0 to max.
func (f *fieldErrors) upTo(field string, v *int64, max int64) {
	switch {
	case v == nil:
		f.add(field, "is required")
	case *v < 0 || *v > max:
		f.add(field, "must be from 0 to %d", max)
	}
}

// pathID checks an id taken from the URL path.
func pathID(field, v string) error {
	var f fieldErrors
	f.id(field, v)
	return f.err()
}
