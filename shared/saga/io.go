package saga

import "github.com/ordersaga/ordersaga/shared/domain"

// Input is what a step's action needs to know of the order.
type Input struct {
	OrderID    string
	CustomerID string
	Items      []domain.Item
	ShipTo     domain.Address
	TotalCents domain.Cents // known once the inventory step priced the order
}

// Outcome is what a done step contributes to its order: inventory prices
// it, shipping gives it a tracking number; most steps add nothing.
type Outcome struct {
	Prices         []domain.PricedItem // the priced lines, from the step that prices the order
	TotalCents     domain.Cents        // their total
	TrackingNumber string              // from the step that ships the order
}

// Apply adds what the outcome contributes to the input of the steps after
// it.
func (o Outcome) Apply(in Input) Input {
	if len(o.Prices) > 0 {
		in.TotalCents = o.TotalCents
	}
	return in
}

// Contribution returns the outcome as the order records it.
func (o Outcome) Contribution() domain.Contribution {
	return domain.Contribution{Prices: o.Prices, TrackingNumber: o.TrackingNumber}
}

// Undo says what a compensation found.
type Undo string

// What a compensation may find.
const (
	// Undone: the step's action had taken effect and is now undone (or was
	// undone before: compensations repeat harmlessly).
	Undone Undo = "undone"
	// Tombstone: the action had not run; a tombstone now makes a late
	// action a no-op.
	Tombstone Undo = "tombstone"
	// WasRefused: the action had refused; there was nothing to undo.
	WasRefused Undo = "refused"
)

// UndoOf returns what a compensation found: a tombstone when the action had
// never run, WasRefused when it had refused, Undone otherwise.
func UndoOf(tombstone, refused bool) Undo {
	switch {
	case tombstone:
		return Tombstone
	case refused:
		return WasRefused
	}
	return Undone
}

// StepStatus returns the status a step ends in after a compensation that
// found u.
func (u Undo) StepStatus() domain.StepStatus {
	switch u {
	case Tombstone:
		return domain.StepSkipped
	case WasRefused:
		return domain.StepFailed
	}
	return domain.StepCompensated
}
