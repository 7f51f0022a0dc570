// Package saga defines the order saga once, as data, for both variants: the
// ordered steps, each with its service, its action, its compensation and the
// failure reason its refusal stands for; and Participants, which runs a
// step's action or compensation against the service that owns it.
//
// The orchestrated variant runs these steps from one Temporal workflow; the
// choreographed variant runs the same actions as reactions to events. Either
// way the business rules live in the services (shared/inventory,
// shared/payment, shared/shipping), not in the variant.
package saga

import (
	"slices"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// Action names an action or a compensation of a step.
type Action string

// The saga's actions and compensations.
const (
	ReserveInventory Action = "ReserveInventory"
	ReleaseInventory Action = "ReleaseInventory"
	CommitInventory  Action = "CommitInventory"
	ChargePayment    Action = "ChargePayment"
	RefundPayment    Action = "RefundPayment"
	CreateShipment   Action = "CreateShipment"
	CancelShipment   Action = "CancelShipment"
)

// Step is one step of the saga.
type Step struct {
	Name         domain.StepName
	Action       Action               // does the step's work
	Compensation Action               // undoes it; safe to run even if Action never ran
	Refusal      domain.FailureReason // why the order fails when Action refuses
}

// Steps returns the saga's steps in the order they run: inventory, payment,
// shipping. Compensations run in the reverse order.
func Steps() []Step {
	return []Step{
		{Name: domain.StepInventory, Action: ReserveInventory, Compensation: ReleaseInventory, Refusal: domain.ReasonOutOfStock},
		{Name: domain.StepPayment, Action: ChargePayment, Compensation: RefundPayment, Refusal: domain.ReasonPaymentDeclined},
		{Name: domain.StepShipping, Action: CreateShipment, Compensation: CancelShipment, Refusal: domain.ReasonShippingUnavailable},
	}
}

// Completion is the action run once every step is done: inventory's held
// units leave the warehouse for good.
const Completion = CommitInventory

// StepOf returns the step with the given name.
func StepOf(name domain.StepName) (Step, bool) {
	for _, s := range Steps() {
		if s.Name == name {
			return s, true
		}
	}
	return Step{}, false
}

// ToCompensate returns the steps to compensate, in the order to compensate
// them, when the saga stops at step stoppedAt. When the step at which it
// stopped refused (a business failure), that step left nothing to undo and is
// not included; when the saga was cancelled while that step ran, the step
// may have taken effect and is included. stoppedAt "" means after the last
// step (every step is compensated).
func ToCompensate(stoppedAt domain.StepName, refused bool) []Step {
	var todo []Step
	for _, s := range Steps() {
		if s.Name == stoppedAt {
			if !refused {
				todo = append(todo, s)
			}
			break
		}
		todo = append(todo, s)
	}
	slices.Reverse(todo)
	return todo
}
