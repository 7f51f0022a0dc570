package events

import (
	"strings"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// Kind is what a step event reports.
type Kind string

// The kinds of step events.
const (
	KindDone      Kind = "done"      // the step's action took effect
	KindRefused   Kind = "refused"   // the step's action refused (a business failure)
	KindUndone    Kind = "undone"    // the step's compensation ran
	KindCompleted Kind = "completed" // the step's completion ran (the order completed)
)

// StepTypes are the event types of one step.
type StepTypes struct {
	Done      Type
	Refused   Type
	Undone    Type
	Completed Type // "" when the step has no completion
}

// defaultSagaTypes are the names the default saga's step events carry,
// in the words of each service.
var defaultSagaTypes = map[domain.StepName]StepTypes{
	domain.StepInventory: {InventoryReserved, InventoryRejected, InventoryReleased, InventoryCommitted},
	domain.StepPayment:   {PaymentCompleted, PaymentDeclined, PaymentRefunded, ""},
	domain.StepShipping:  {ShipmentCreated, ShipmentFailed, ShipmentCancelled, ""},
}

// TypesOf returns the event types of a step: for the default saga's steps
// the names above; for any other step, derived from its name (loyalty:
// LoyaltyDone, LoyaltyRefused, LoyaltyUndone, LoyaltyCompleted).
func TypesOf(step saga.Step) StepTypes {
	if t, ok := defaultSagaTypes[step.Name]; ok {
		return t
	}
	var b strings.Builder
	for _, w := range strings.Split(string(step.Name), "_") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	p := b.String()
	t := StepTypes{Done: Type(p + "Done"), Refused: Type(p + "Refused"), Undone: Type(p + "Undone")}
	if step.Completion != "" {
		t.Completed = Type(p + "Completed")
	}
	return t
}

// StepEventRef is what a step event type stands for.
type StepEventRef struct {
	Step saga.Step
	Kind Kind
}

// Table is the event table of a saga: each step's events, what each event
// reports, and which event triggers each step's action and compensation.
// It is derived from the saga alone.
type Table struct {
	saga   *saga.Saga
	byType map[Type]StepEventRef
}

// NewTable returns the event table of saga g (saga.Default() when nil).
func NewTable(g *saga.Saga) *Table {
	if g == nil {
		g = saga.Default()
	}
	t := &Table{saga: g, byType: map[Type]StepEventRef{}}
	for _, s := range g.Steps() {
		ts := TypesOf(s)
		for kind, typ := range map[Kind]Type{KindDone: ts.Done, KindRefused: ts.Refused, KindUndone: ts.Undone, KindCompleted: ts.Completed} {
			if typ != "" {
				t.byType[typ] = StepEventRef{Step: s, Kind: kind}
			}
		}
	}
	return t
}

// Saga returns the saga the table describes.
func (t *Table) Saga() *saga.Saga { return t.saga }

// Lookup returns the step and kind of a step event type, and false for an
// order service's event or an unknown type.
func (t *Table) Lookup(typ Type) (StepEventRef, bool) {
	r, ok := t.byType[typ]
	return r, ok
}

// Types returns every event type of the saga: the order service's, then
// each step's.
func (t *Table) Types() []Type {
	out := OrderTypes()
	for _, s := range t.saga.Steps() {
		ts := TypesOf(s)
		out = append(out, ts.Done, ts.Refused, ts.Undone)
		if ts.Completed != "" {
			out = append(out, ts.Completed)
		}
	}
	return out
}

// Producer returns the service that emits events of type typ, and false
// for an unknown type.
func (t *Table) Producer(typ Type) (Service, bool) {
	if r, ok := t.byType[typ]; ok {
		return ServiceOf(r.Step.Name), true
	}
	for _, o := range OrderTypes() {
		if o == typ {
			return Orders, true
		}
	}
	return "", false
}

// ActionTrigger returns the event that starts a step's action: OrderPlaced
// for the first step, the previous step's done event for the others.
func (t *Table) ActionTrigger(step domain.StepName) Type {
	if prev, ok := t.saga.Before(step); ok {
		return TypesOf(prev).Done
	}
	return OrderPlaced
}

// UndoTriggers returns the events that start a step's compensation, so
// that compensations run in reverse: the next step's refusal and
// compensation; for the last step, the cancel request (the first link of
// the cancel chain).
func (t *Table) UndoTriggers(step domain.StepName) []Type {
	if next, ok := t.saga.After(step); ok {
		ts := TypesOf(next)
		return []Type{ts.Refused, ts.Undone}
	}
	return []Type{OrderCancelRequested}
}
