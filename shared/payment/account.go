package payment

import (
	"fmt"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
)

// Account is what a customer can still spend: its credit, never below zero.
// Get one from Customer.Account; the zero Account has no credit.
type Account struct {
	credit domain.Cents
}

// Account returns the customer's account.
func (c Customer) Account() Account { return Account{credit: c.CreditCents} }

// Credit returns what is left to spend.
func (a Account) Credit() domain.Cents { return a.credit }

// Charge returns the account once amount is taken from its credit. More
// than the credit is an error wrapping domain.ErrPaymentDeclined; a
// negative amount is an errs.Invalid error.
func (a Account) Charge(amount domain.Cents) (Account, error) {
	if amount < 0 {
		return a, errs.E(errs.Invalid, "charging %d cents: the amount must be 0 or more", amount)
	}
	if amount > a.credit {
		return a, fmt.Errorf("charging %d cents with %d cents of credit: %w", amount, a.credit, domain.ErrPaymentDeclined)
	}
	left, err := a.credit.Add(-amount)
	if err != nil {
		return a, fmt.Errorf("charging %d cents: %w", amount, err)
	}
	return Account{credit: left}, nil
}

// Refund returns the account once amount is given back to its credit. A
// credit that would not fit in 64 bits is an error wrapping
// domain.ErrOverflow; a negative amount is an errs.Invalid error.
func (a Account) Refund(amount domain.Cents) (Account, error) {
	if amount < 0 {
		return a, errs.E(errs.Invalid, "refunding %d cents: the amount must be 0 or more", amount)
	}
	credit, err := a.credit.Add(amount)
	if err != nil {
		return a, fmt.Errorf("refunding %d cents: %w", amount, err)
	}
	return Account{credit: credit}, nil
}
