package inventory_test

import (
	"errors"
	"testing"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/inventory"
)

func TestReservationErr_ReportsTheBusinessOutcome(t *testing.T) {
	cases := []struct {
		status inventory.ReservationStatus
		want   error // nil for success
	}{
		{inventory.Reserved, nil},
		{inventory.Committed, nil},
		{inventory.Rejected, domain.ErrOutOfStock},
		{inventory.Released, domain.ErrCompensated},
	}
	for _, c := range cases {
		err := inventory.Reservation{OrderID: "o-1", Status: c.status}.Err()
		switch {
		case c.want == nil && err != nil:
			t.Errorf("%s: Err() = %v, want nil", c.status, err)
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%s: Err() = %v, want it to wrap %v", c.status, err, c.want)
		}
	}
	tomb := inventory.Reservation{OrderID: "o-1", Status: inventory.Released, Tombstone: true}
	if !errors.Is(tomb.Err(), domain.ErrCompensated) {
		t.Errorf("tombstone: Err() = %v, want ErrCompensated", tomb.Err())
	}
}

func TestReservationErr_UnknownStatus_IsNoBusinessOutcome(t *testing.T) {
	err := inventory.Reservation{OrderID: "o-1", Status: "lost"}.Err()
	if err == nil {
		t.Fatal("Err() = nil, want an error")
	}
	if _, ok := domain.ReasonOf(err); ok || errors.Is(err, domain.ErrCompensated) {
		t.Fatalf("Err() = %v, want no business outcome", err)
	}
}
