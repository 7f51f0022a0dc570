package domain

import (
	"errors"
)

// Refusal is a business refusal of a saga step: the step took no effect and
// the order fails with Reason. A service may refuse with any reason its
// step declares; callers find it with ReasonOf.
type Refusal struct {
	Reason  FailureReason
	Message string
}

// Error implements error.
func (r *Refusal) Error() string { return r.Message }

// Refuse returns a refusal with reason and a message for logs.
func Refuse(reason FailureReason, message string) *Refusal {
	return &Refusal{Reason: reason, Message: message}
}

// Sentinel outcomes of the domain. Business failures of a saga step wrap one
// of these refusals; callers test with errors.Is, or ReasonOf for any
// refusal.
var (
	// ErrOutOfStock: a sku is unknown or has too little available stock.
	ErrOutOfStock = Refuse(ReasonOutOfStock, "out of stock")
	// ErrPaymentDeclined: the customer is unknown or has too little credit.
	ErrPaymentDeclined = Refuse(ReasonPaymentDeclined, "payment declined")
	// ErrShippingUnavailable: the destination country is not served.
	ErrShippingUnavailable = Refuse(ReasonShippingUnavailable, "shipping unavailable")
)

var (
	// ErrCompensated: the action arrived after its compensation already ran
	// (or was recorded as a tombstone); the action was not carried out.
	ErrCompensated = errors.New("already compensated")
	// ErrOverflow: an amount does not fit in 64 bits.
	ErrOverflow = errors.New("amount overflows")
	// ErrFinal: the order is already final and cannot change.
	ErrFinal = errors.New("order is final")
)

// ReasonOf returns the failure reason of a business refusal in err's
// chain, and false when err holds none.
func ReasonOf(err error) (FailureReason, bool) {
	var r *Refusal
	if errors.As(err, &r) && r.Reason != "" {
		return r.Reason, true
	}
	return "", false
}
