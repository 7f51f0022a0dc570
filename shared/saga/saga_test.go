package saga_test

import (
	"slices"
	"testing"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/saga"
)

func names(steps []saga.Step) []domain.StepName {
	var out []domain.StepName
	for _, s := range steps {
		out = append(out, s.Name)
	}
	return out
}

// loyalty is a step beyond the default saga's, for the tests.
var loyalty = saga.Step{Name: "loyalty", Action: "AwardPoints", Compensation: "RevokePoints",
	Refusals: []domain.FailureReason{"loyalty_frozen", "loyalty_capped"}}

func TestDefault_RunsInventoryPaymentShippingWithTheirCompensations(t *testing.T) {
	got := saga.Default().Steps()
	want := []saga.Step{
		{Name: domain.StepInventory, Action: saga.ReserveInventory, Compensation: saga.ReleaseInventory, Completion: saga.CommitInventory,
			Refusals: []domain.FailureReason{domain.ReasonOutOfStock}},
		{Name: domain.StepPayment, Action: saga.ChargePayment, Compensation: saga.RefundPayment,
			Refusals: []domain.FailureReason{domain.ReasonPaymentDeclined}},
		{Name: domain.StepShipping, Action: saga.CreateShipment, Compensation: saga.CancelShipment,
			Refusals: []domain.FailureReason{domain.ReasonShippingUnavailable}},
	}
	if len(got) != len(want) {
		t.Fatalf("steps = %v", got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.Action != w.Action || g.Compensation != w.Compensation || g.Completion != w.Completion || !slices.Equal(g.Refusals, w.Refusals) {
			t.Errorf("step %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestToCompensate_ReverseOrderIncludingTheStepOnlyWhenCancelled(t *testing.T) {
	g := saga.Default()
	inv, pay, ship := domain.StepInventory, domain.StepPayment, domain.StepShipping
	cases := []struct {
		at      domain.StepName
		refused bool
		want    []domain.StepName
	}{
		{inv, true, nil},
		{pay, true, []domain.StepName{inv}},
		{ship, true, []domain.StepName{pay, inv}},
		{inv, false, []domain.StepName{inv}},
		{pay, false, []domain.StepName{pay, inv}},
		{ship, false, []domain.StepName{ship, pay, inv}},
		{"", false, []domain.StepName{ship, pay, inv}},
	}
	for _, c := range cases {
		if got := names(g.ToCompensate(c.at, c.refused)); !slices.Equal(got, c.want) {
			t.Errorf("ToCompensate(%q, refused=%v) = %v, want %v", c.at, c.refused, got, c.want)
		}
	}
}

func TestInsert_PutsANewStepInItsPlaceAndEverythingFollows(t *testing.T) {
	g, err := saga.Default().Insert(domain.StepPayment, loyalty)
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.StepName{domain.StepInventory, domain.StepPayment, "loyalty", domain.StepShipping}
	if !slices.Equal(g.Names(), want) {
		t.Fatalf("names = %v, want %v", g.Names(), want)
	}
	if got := names(g.ToCompensate(domain.StepShipping, true)); !slices.Equal(got, []domain.StepName{"loyalty", domain.StepPayment, domain.StepInventory}) {
		t.Fatalf("compensations after a shipping refusal = %v", got)
	}
	if s, ok := g.Before(domain.StepShipping); !ok || s.Name != "loyalty" {
		t.Fatalf("before shipping = %v %v", s.Name, ok)
	}
	if s, ok := g.After(domain.StepPayment); !ok || s.Name != "loyalty" {
		t.Fatalf("after payment = %v %v", s.Name, ok)
	}
	if s, ok := g.StepOfAction("RevokePoints"); !ok || s.Name != "loyalty" {
		t.Fatalf("step of RevokePoints = %v %v", s.Name, ok)
	}
	if s, ok := g.StepOfReason("loyalty_capped"); !ok || s.Name != "loyalty" {
		t.Fatalf("step of loyalty_capped = %v %v", s.Name, ok)
	}
	reasons := g.Reasons()
	if !slices.Contains(reasons, "loyalty_frozen") || reasons[len(reasons)-1] != domain.ReasonCancelled {
		t.Fatalf("reasons = %v", reasons)
	}
	if len(saga.Default().Names()) != 3 {
		t.Fatal("Insert changed the saga it was called on")
	}
}

func TestNew_RefusesIncoherentSteps(t *testing.T) {
	base := saga.Default().Steps()
	cases := map[string]saga.Step{
		"repeated name":         {Name: domain.StepPayment, Action: "X", Compensation: "Y", Refusals: []domain.FailureReason{"x"}},
		"the order service":     {Name: "orders", Action: "X", Compensation: "Y", Refusals: []domain.FailureReason{"x"}},
		"not a word":            {Name: "Loyalty Points", Action: "X", Compensation: "Y", Refusals: []domain.FailureReason{"x"}},
		"no compensation":       {Name: "loyalty", Action: "X", Refusals: []domain.FailureReason{"x"}},
		"no refusal":            {Name: "loyalty", Action: "X", Compensation: "Y"},
		"a reused action":       {Name: "loyalty", Action: saga.ChargePayment, Compensation: "Y", Refusals: []domain.FailureReason{"x"}},
		"another step's reason": {Name: "loyalty", Action: "X", Compensation: "Y", Refusals: []domain.FailureReason{domain.ReasonOutOfStock}},
		"cancelled as a reason": {Name: "loyalty", Action: "X", Compensation: "Y", Refusals: []domain.FailureReason{domain.ReasonCancelled}},
	}
	for name, bad := range cases {
		if _, err := saga.New(append(base, bad)...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := saga.New(); err == nil {
		t.Error("an empty saga was accepted")
	}
	if _, err := saga.New(append(base, loyalty)...); err != nil {
		t.Errorf("a coherent fourth step was refused: %v", err)
	}
}

func TestUndo_StepStatus(t *testing.T) {
	for u, want := range map[saga.Undo]domain.StepStatus{
		saga.Undone: domain.StepCompensated, saga.Tombstone: domain.StepSkipped, saga.WasRefused: domain.StepFailed,
	} {
		if got := u.StepStatus(); got != want {
			t.Errorf("%s → %s, want %s", u, got, want)
		}
	}
}
