package domain

import "errors"

// Sentinel outcomes of the domain. Business failures of a saga step wrap one
// of these; callers test with errors.Is.
var (
	// ErrOutOfStock: a sku is unknown or has too little available stock.
	ErrOutOfStock = errors.New("out of stock")
	// ErrPaymentDeclined: the customer is unknown or has too little credit.
	ErrPaymentDeclined = errors.New("payment declined")
	// ErrShippingUnavailable: the destination country is not served.
	ErrShippingUnavailable = errors.New("shipping unavailable")
	// ErrCompensated: the action arrived after its compensation already ran
	// (or was recorded as a tombstone); the action was not carried out.
	ErrCompensated = errors.New("already compensated")
	// ErrOverflow: an amount does not fit in 64 bits.
	ErrOverflow = errors.New("amount overflows")
	// ErrFinal: the order is already final and cannot change.
	ErrFinal = errors.New("order is final")
)

// ReasonOf returns the failure reason a business error stands for, and false
// when err is not a business failure of a saga step.
func ReasonOf(err error) (FailureReason, bool) {
	switch {
	case errors.Is(err, ErrOutOfStock):
		return ReasonOutOfStock, true
	case errors.Is(err, ErrPaymentDeclined):
		return ReasonPaymentDeclined, true
	case errors.Is(err, ErrShippingUnavailable):
		return ReasonShippingUnavailable, true
	}
	return "", false
}
