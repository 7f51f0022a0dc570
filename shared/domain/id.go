package domain

import (
	"regexp"

	"github.com/ordersaga/ordersaga/shared/errs"
)

// MaxIDLength is the longest order, sku or customer id.
const MaxIDLength = 64

// IDRule says, in the words of a field error, what an order, sku or
// customer id must look like.
const IDRule = "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'"

var idPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ValidID reports whether s is a valid order, sku or customer id:
// 1 to 64 characters of [A-Za-z0-9._-].
func ValidID(s string) bool { return idPattern.MatchString(s) }

// InvalidID returns the errs.Invalid error of a bad id in field.
func InvalidID(field string) error {
	return errs.InvalidFields([]errs.FieldError{{Field: field, Message: IDRule}})
}
