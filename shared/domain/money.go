package domain

import (
	"fmt"
	"math"
)

// Cents is an amount of money in integer cents of the one currency the shop
// uses. Arithmetic on Cents is exact; Mul and Add refuse to overflow.
type Cents int64

// Add returns c+d or an error when the sum does not fit in an int64.
func (c Cents) Add(d Cents) (Cents, error) {
	if (d > 0 && c > math.MaxInt64-d) || (d < 0 && c < math.MinInt64-d) {
		return 0, fmt.Errorf("adding %d to %d cents: %w", d, c, ErrOverflow)
	}
	return c + d, nil
}

// Mul returns c*n or an error when the product does not fit in an int64.
func (c Cents) Mul(n int64) (Cents, error) {
	if c == 0 || n == 0 {
		return 0, nil
	}
	p := c * Cents(n)
	if p/Cents(n) != c {
		return 0, fmt.Errorf("multiplying %d cents by %d: %w", c, n, ErrOverflow)
	}
	return p, nil
}

// Limits of amounts and counts a client may set, chosen so that no sum the
// saga computes can overflow: an order's total is at most MaxItems ×
// MaxQuantity × MaxPriceCents (5 × 10^13 cents), and a credit plus every
// refund stays far below the int64 limit.
const (
	MaxPriceCents  Cents = 1_000_000_000         // 10 million in the shop's currency
	MaxCreditCents Cents = 1_000_000_000_000_000 // 10^13 in the shop's currency
	MaxStock             = 1_000_000_000
)
