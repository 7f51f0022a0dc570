// Package domain holds the order flow's vocabulary and invariants: orders and
// their line items, money, statuses, failure reasons and the saga's step
// names. It imports no transport and no storage: both saga variants and all
// three services speak in these types.
package domain
