package saga_test

import (
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

func equal(a, b []domain.StepName) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSteps_RunInventoryPaymentShippingWithTheirCompensations(t *testing.T) {
	got := saga.Steps()
	want := []saga.Step{
		{Name: domain.StepInventory, Action: saga.ReserveInventory, Compensation: saga.ReleaseInventory, Refusal: domain.ReasonOutOfStock},
		{Name: domain.StepPayment, Action: saga.ChargePayment, Compensation: saga.RefundPayment, Refusal: domain.ReasonPaymentDeclined},
		{Name: domain.StepShipping, Action: saga.CreateShipment, Compensation: saga.CancelShipment, Refusal: domain.ReasonShippingUnavailable},
	}
	if len(got) != len(want) {
		t.Fatalf("steps = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestToCompensate_ReverseOrderIncludingTheStepOnlyWhenCancelled(t *testing.T) {
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
		if got := names(saga.ToCompensate(c.at, c.refused)); !equal(got, c.want) {
			t.Errorf("ToCompensate(%q, refused=%v) = %v, want %v", c.at, c.refused, got, c.want)
		}
	}
}

func TestStepOf(t *testing.T) {
	s, ok := saga.StepOf(domain.StepPayment)
	if !ok || s.Compensation != saga.RefundPayment {
		t.Fatalf("StepOf(payment) = %+v, %v", s, ok)
	}
	if _, ok := saga.StepOf("warehouse"); ok {
		t.Fatal("unknown step found")
	}
}
