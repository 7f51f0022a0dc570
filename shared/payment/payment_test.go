package payment_test

import (
	"errors"
	"testing"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/payment"
)

func TestPaymentErr_ReportsTheBusinessOutcome(t *testing.T) {
	cases := []struct {
		p    payment.Payment
		want error // nil for success
	}{
		{payment.Payment{OrderID: "o-1", Status: payment.Charged}, nil},
		{payment.Payment{OrderID: "o-1", Status: payment.Declined}, domain.ErrPaymentDeclined},
		{payment.Payment{OrderID: "o-1", Status: payment.Refunded}, domain.ErrCompensated},
		{payment.Payment{OrderID: "o-1", Status: payment.Refunded, Tombstone: true}, domain.ErrCompensated},
	}
	for _, c := range cases {
		err := c.p.Err()
		switch {
		case c.want == nil && err != nil:
			t.Errorf("%+v: Err() = %v, want nil", c.p, err)
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%+v: Err() = %v, want it to wrap %v", c.p, err, c.want)
		}
	}
}

func TestPaymentErr_UnknownStatus_IsNoBusinessOutcome(t *testing.T) {
	err := payment.Payment{OrderID: "o-1"}.Err()
	if err == nil {
		t.Fatal("Err() = nil, want an error")
	}
	if _, ok := domain.ReasonOf(err); ok || errors.Is(err, domain.ErrCompensated) {
		t.Fatalf("Err() = %v, want no business outcome", err)
	}
}
