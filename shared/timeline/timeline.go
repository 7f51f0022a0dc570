// Package timeline is an order's timeline as both saga variants tell it
// (GET /v1/orders/{order_id}/timeline): the chronological list of what
// happened to the order, each entry naming the service it happened at.
// The orchestrated variant builds it from the order's workflow history;
// the choreographed variant from the events its order service published
// and consumed. The kinds of entry are shared; which kinds a variant can
// tell is stated with each kind.
package timeline

import (
	"slices"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// Kind says what an entry is about.
type Kind string

// The kinds of entry. "Both" means both variants emit it.
const (
	// KindOrderPlaced: the order was accepted and its saga set off (both).
	KindOrderPlaced Kind = "order_placed"
	// KindStepStarted: a step's action was handed to its service
	// (orchestrated only: the choreographed order service does not see a
	// service start).
	KindStepStarted Kind = "step_started"
	// KindStepDone: a step's action took effect (both).
	KindStepDone Kind = "step_done"
	// KindStepFailed: a step's action refused, or was given up (both).
	KindStepFailed Kind = "step_failed"
	// KindCompensationStarted: a step's compensation was handed to its
	// service (orchestrated only).
	KindCompensationStarted Kind = "compensation_started"
	// KindStepCompensated: a step's compensation ran (both).
	KindStepCompensated Kind = "step_compensated"
	// KindEventPublished: an event was published, at its occurred_at
	// (choreographed only).
	KindEventPublished Kind = "event_published"
	// KindEventConsumed: the order service handled an event (choreographed
	// only).
	KindEventConsumed Kind = "event_consumed"
	// KindOrderFinal: the order reached its final status (both).
	KindOrderFinal Kind = "order_final"
	// KindStepRetrying: a step's work keeps failing with faults and is
	// being retried, or was parked on the dead-letter topic, as the order
	// is read (both; the last entry of a pending order).
	KindStepRetrying Kind = "step_retrying"
)

// Kinds returns every kind, in the order a saga meets them.
func Kinds() []Kind {
	return []Kind{KindOrderPlaced, KindStepStarted, KindStepDone, KindStepFailed, KindCompensationStarted,
		KindStepCompensated, KindEventPublished, KindEventConsumed, KindOrderFinal, KindStepRetrying}
}

// Details of step_compensated entries, worded the same in both variants.
const (
	// DetailUndone: the step's action had taken effect and is undone.
	DetailUndone = "undone"
	// DetailTombstone: the step's action had not run; it now never will.
	DetailTombstone = "nothing to undo: the action had not run and now never will"
)

// Entry is one thing that happened to an order.
type Entry struct {
	At time.Time
	// Service is where it happened: orders, inventory, payment or shipping.
	Service string
	Kind    Kind
	// Step is the saga step the entry is about, if any.
	Step domain.StepName
	// Event is the event type of an event entry (choreographed).
	Event string
	// Status is the order's final status, on KindOrderFinal.
	Status domain.Status
	// Detail is a short text for a person: an activity name, a failure
	// reason, a compensation's outcome. Optional.
	Detail string
}

// Sort orders entries by time. Entries of the same time keep the order
// they are given in, which is the order they happened in.
func Sort(entries []Entry) {
	slices.SortStableFunc(entries, func(a, b Entry) int { return a.At.Compare(b.At) })
}
