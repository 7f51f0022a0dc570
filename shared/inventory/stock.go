package inventory

import (
	"fmt"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
)

// Stock is the units of one product: those available, free to reserve, and
// those reserved, held by orders in flight. Together they are the units on
// hand. Neither is ever below zero. Get one from Product.Stock; the zero
// Stock has nothing.
type Stock struct {
	available int64
	reserved  int64
}

// Stock returns the product's units.
func (p Product) Stock() Stock { return Stock{available: p.Available, reserved: p.Reserved} }

// Available returns the units free to reserve.
func (s Stock) Available() int64 { return s.available }

// Reserved returns the units held by orders in flight.
func (s Stock) Reserved() int64 { return s.reserved }

// Reserve returns the stock once qty units moved from available to
// reserved. Asking for more than is available is an error wrapping
// domain.ErrOutOfStock; a quantity below one is an errs.Invalid error.
func (s Stock) Reserve(qty int64) (Stock, error) {
	if qty < 1 {
		return s, errs.E(errs.Invalid, "reserving %d units: the quantity must be 1 or more", qty)
	}
	if qty > s.available {
		return s, fmt.Errorf("reserving %d units with %d available: %w", qty, s.available, domain.ErrOutOfStock)
	}
	return Stock{available: s.available - qty, reserved: s.reserved + qty}, nil
}

// Restock returns the stock with onHand units on hand: what is reserved stays
// held and the rest is available. Fewer units than are reserved is an
// errs.Conflict error, as is a negative count an errs.Invalid one.
func (s Stock) Restock(onHand int64) (Stock, error) {
	if onHand < 0 {
		return s, errs.E(errs.Invalid, "setting %d units on hand: the stock must be 0 or more", onHand)
	}
	if onHand < s.reserved {
		return s, errs.E(errs.Conflict, "stock %d is below the %d units reserved by orders in flight", onHand, s.reserved)
	}
	return Stock{available: onHand - s.reserved, reserved: s.reserved}, nil
}
