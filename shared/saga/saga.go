// Package saga describes the order saga once, as data, for both variants:
// the ordered steps, each with the service that owns it, its action, its
// compensation, its completion (if any) and the reasons it may refuse with.
// Everything else derives from this description: the order's step list, the
// scenario suite's expected order, the orchestrated workflow's loop, its
// activities and task queues, the choreographed event table, the timelines,
// the metrics labels and the OpenAPI enums.
//
// A step's service is named like the step: the inventory step is owned by
// the inventory service, whose process role, Temporal task queue, Kafka
// topic and consumer group all carry that name. The business rules live in
// the services (shared/inventory, shared/payment, shared/shipping), which
// take part in the saga through package participant.
//
// Adding a step is one new service package and one entry in Default (or,
// for an experiment or a test, Saga.Insert).
package saga

import (
	"errors"
	"fmt"
	"slices"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// Action names an action, a compensation or a completion of a step. It is
// also the activity type of the orchestrated variant.
type Action string

// The actions, compensations and completions of the default saga.
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
	// Name names the step and the service that owns it.
	Name domain.StepName
	// Action does the step's work. It may refuse with one of Refusals.
	Action Action
	// Compensation undoes Action; it is safe to run before, or without,
	// the action, which then becomes a no-op.
	Compensation Action
	// Completion, when set, runs once every step is done and the order
	// completes (inventory's held units leave the warehouse for good).
	Completion Action
	// Refusals are the business reasons Action may refuse with; the order
	// fails with the one the service gave.
	Refusals []domain.FailureReason
}

// Refuses reports whether reason is one of the step's refusals.
func (s Step) Refuses(reason domain.FailureReason) bool { return slices.Contains(s.Refusals, reason) }

// Saga is an ordered list of steps. Build one with New or Default; it is
// not changed once built.
type Saga struct {
	steps []Step
}

// Default returns the shop's saga: inventory, payment, shipping.
func Default() *Saga {
	s, err := New(
		Step{Name: domain.StepInventory, Action: ReserveInventory, Compensation: ReleaseInventory, Completion: CommitInventory,
			Refusals: []domain.FailureReason{domain.ReasonOutOfStock}},
		Step{Name: domain.StepPayment, Action: ChargePayment, Compensation: RefundPayment,
			Refusals: []domain.FailureReason{domain.ReasonPaymentDeclined}},
		Step{Name: domain.StepShipping, Action: CreateShipment, Compensation: CancelShipment,
			Refusals: []domain.FailureReason{domain.ReasonShippingUnavailable}},
	)
	if err != nil { // the literal above is checked by the package's tests
		panic(fmt.Sprintf("the default saga: %v", err))
	}
	return s
}

// Reserved names no step may take: the order service's own.
const ordersService = "orders"

// New checks the steps and returns the saga that runs them in order. Step
// names, and all action names, must be unique; a step needs an action, a
// compensation and at least one refusal.
func New(steps ...Step) (*Saga, error) {
	if len(steps) == 0 {
		return nil, errors.New("a saga needs at least one step")
	}
	names := map[domain.StepName]bool{}
	actions := map[Action]bool{}
	reasons := map[domain.FailureReason]domain.StepName{}
	for i, s := range steps {
		switch {
		case !domain.ValidStepName(s.Name):
			return nil, fmt.Errorf("step %d: name %q is not a lower-case word", i, s.Name)
		case s.Name == ordersService:
			return nil, fmt.Errorf("step %d: %q is the order service's name", i, s.Name)
		case names[s.Name]:
			return nil, fmt.Errorf("step %s appears twice", s.Name)
		case s.Action == "" || s.Compensation == "":
			return nil, fmt.Errorf("step %s: needs an action and a compensation", s.Name)
		case len(s.Refusals) == 0:
			return nil, fmt.Errorf("step %s: names no reason it may refuse with", s.Name)
		}
		names[s.Name] = true
		for _, a := range []Action{s.Action, s.Compensation, s.Completion} {
			if a == "" {
				continue
			}
			if actions[a] {
				return nil, fmt.Errorf("step %s: action %s is used twice", s.Name, a)
			}
			actions[a] = true
		}
		for _, r := range s.Refusals {
			if r == domain.ReasonCancelled || r == domain.ReasonStepUnavailable || r == domain.ReasonRejected || r == "" {
				return nil, fmt.Errorf("step %s: %q is not a refusal reason", s.Name, r)
			}
			if other, ok := reasons[r]; ok && other != s.Name {
				return nil, fmt.Errorf("steps %s and %s both refuse with %s", other, s.Name, r)
			}
			reasons[r] = s.Name
		}
		s.Refusals = slices.Clone(s.Refusals)
		steps[i] = s
	}
	return &Saga{steps: slices.Clone(steps)}, nil
}

// Insert returns a new saga with step run right after the step named after
// ("" to run it first).
func (g *Saga) Insert(after domain.StepName, step Step) (*Saga, error) {
	at := 0
	if after != "" {
		i := g.index(after)
		if i < 0 {
			return nil, fmt.Errorf("inserting step %s: no step %s", step.Name, after)
		}
		at = i + 1
	}
	return New(slices.Insert(slices.Clone(g.steps), at, step)...)
}

// Steps returns the steps in the order they run. Compensations run in the
// reverse order.
func (g *Saga) Steps() []Step {
	out := slices.Clone(g.steps)
	for i := range out {
		out[i].Refusals = slices.Clone(out[i].Refusals)
	}
	return out
}

// Names returns the step names in the order they run: an order's steps.
func (g *Saga) Names() []domain.StepName {
	out := make([]domain.StepName, len(g.steps))
	for i, s := range g.steps {
		out[i] = s.Name
	}
	return out
}

// Step returns the step with the given name.
func (g *Saga) Step(name domain.StepName) (Step, bool) {
	if i := g.index(name); i >= 0 {
		return g.Steps()[i], true
	}
	return Step{}, false
}

// Index returns the position of the named step, or -1.
func (g *Saga) index(name domain.StepName) int {
	return slices.IndexFunc(g.steps, func(s Step) bool { return s.Name == name })
}

// Before returns the step that runs just before the named one, and false
// for the first step (or an unknown name).
func (g *Saga) Before(name domain.StepName) (Step, bool) {
	if i := g.index(name); i > 0 {
		return g.Steps()[i-1], true
	}
	return Step{}, false
}

// After returns the step that runs just after the named one, and false for
// the last step (or an unknown name).
func (g *Saga) After(name domain.StepName) (Step, bool) {
	if i := g.index(name); i >= 0 && i+1 < len(g.steps) {
		return g.Steps()[i+1], true
	}
	return Step{}, false
}

// Last returns the last step: the first to compensate on a cancel.
func (g *Saga) Last() Step { return g.Steps()[len(g.steps)-1] }

// Upto returns the steps before the named one, in the order they run; every
// step for "".
func (g *Saga) Upto(name domain.StepName) []Step {
	if name == "" {
		return g.Steps()
	}
	i := g.index(name)
	if i < 0 {
		return nil
	}
	return g.Steps()[:i]
}

// ToCompensate returns the steps to compensate, in the order to compensate
// them, when the saga stops at step stoppedAt. When the step at which it
// stopped refused (a business failure), that step left nothing to undo and is
// not included; when the saga was cancelled while that step ran, the step
// may have taken effect and is included. stoppedAt "" means after the last
// step (every step is compensated).
func (g *Saga) ToCompensate(stoppedAt domain.StepName, refused bool) []Step {
	todo := g.Upto(stoppedAt)
	if stoppedAt != "" && !refused {
		if s, ok := g.Step(stoppedAt); ok {
			todo = append(todo, s)
		}
	}
	slices.Reverse(todo)
	return todo
}

// StepOfAction returns the step whose action, compensation or completion is
// a.
func (g *Saga) StepOfAction(a Action) (Step, bool) {
	for _, s := range g.Steps() {
		if a == s.Action || a == s.Compensation || (a == s.Completion && a != "") {
			return s, true
		}
	}
	return Step{}, false
}

// Completions returns the steps that have a completion, in the order they
// run.
func (g *Saga) Completions() []Step {
	var out []Step
	for _, s := range g.Steps() {
		if s.Completion != "" {
			out = append(out, s)
		}
	}
	return out
}

// Reasons returns every reason an order of this saga may fail or be
// cancelled with: each step's refusals in step order, then the reasons any
// step may fail with (FailureModelReasons) and domain.ReasonCancelled.
func (g *Saga) Reasons() []domain.FailureReason {
	var out []domain.FailureReason
	for _, s := range g.steps {
		out = append(out, s.Refusals...)
	}
	out = append(out, FailureModelReasons()...)
	return append(out, domain.ReasonCancelled)
}

// FailureModelReasons are the reasons any step fails with, whatever its
// service: domain.ReasonStepUnavailable when it kept failing with faults
// past its deadline, domain.ReasonRejected when it found the order's data
// invalid.
func FailureModelReasons() []domain.FailureReason {
	return []domain.FailureReason{domain.ReasonStepUnavailable, domain.ReasonRejected}
}

// Fails reports whether reason is one the step may fail with: one of its
// refusals, or one of FailureModelReasons.
func (s Step) Fails(reason domain.FailureReason) bool {
	return s.Refuses(reason) || slices.Contains(FailureModelReasons(), reason)
}

// StepOfReason returns the step that refuses with reason.
func (g *Saga) StepOfReason(reason domain.FailureReason) (Step, bool) {
	for _, s := range g.Steps() {
		if s.Refuses(reason) {
			return s, true
		}
	}
	return Step{}, false
}
