package inventory

import (
	"errors"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
)

func stock(available, reserved int64) Stock {
	return Product{Available: available, Reserved: reserved}.Stock()
}

func TestStock_Reserve_MovesUnitsFromAvailableToReserved(t *testing.T) {
	tests := []struct {
		name                   string
		from                   Stock
		qty                    int64
		available, reservedNow int64
	}{
		{"some of it", stock(5, 2), 3, 2, 5},
		{"all that is available", stock(4, 0), 4, 0, 4},
		{"one unit", stock(1, 9), 1, 0, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.from.Reserve(tt.qty)
			if err != nil {
				t.Fatalf("Reserve(%d) = %v", tt.qty, err)
			}
			if got.Available() != tt.available || got.Reserved() != tt.reservedNow {
				t.Fatalf("Reserve(%d) left %d available, %d reserved; want %d, %d", tt.qty, got.Available(), got.Reserved(), tt.available, tt.reservedNow)
			}
		})
	}
}

func TestStock_Reserve_RefusesMoreThanAvailable(t *testing.T) {
	tests := []struct {
		name string
		from Stock
		qty  int64
	}{
		{"one too many", stock(3, 0), 4},
		{"reserved units are not available", stock(1, 10), 2},
		{"none left", stock(0, 5), 1},
		{"the zero stock", Stock{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.from.Reserve(tt.qty)
			if !errors.Is(err, domain.ErrOutOfStock) {
				t.Fatalf("Reserve(%d) error = %v, want one wrapping domain.ErrOutOfStock", tt.qty, err)
			}
			if got != tt.from {
				t.Fatalf("a refused Reserve changed the stock to %+v", got)
			}
		})
	}
}

func TestStock_Reserve_RejectsQuantitiesBelowOne(t *testing.T) {
	for _, qty := range []int64{0, -1, -1 << 63} {
		if _, err := stock(5, 0).Reserve(qty); !errs.Is(err, errs.Invalid) || errors.Is(err, domain.ErrOutOfStock) {
			t.Errorf("Reserve(%d) error = %v, want errs.Invalid", qty, err)
		}
	}
}

func TestStock_Restock_KeepsReservedUnitsAndFreesTheRest(t *testing.T) {
	tests := []struct {
		name                string
		from                Stock
		onHand              int64
		available, reserved int64
	}{
		{"more than before", stock(2, 3), 10, 7, 3},
		{"exactly what is reserved", stock(2, 3), 3, 0, 3},
		{"a new product", Stock{}, 8, 8, 0},
		{"none of a new product", Stock{}, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.from.Restock(tt.onHand)
			if err != nil {
				t.Fatalf("Restock(%d) = %v", tt.onHand, err)
			}
			if got.Available() != tt.available || got.Reserved() != tt.reserved {
				t.Fatalf("Restock(%d) left %d available, %d reserved; want %d, %d", tt.onHand, got.Available(), got.Reserved(), tt.available, tt.reserved)
			}
		})
	}
}

func TestStock_Restock_RefusesFewerUnitsThanReserved(t *testing.T) {
	from := stock(5, 3)
	got, err := from.Restock(2)
	if !errs.Is(err, errs.Conflict) {
		t.Fatalf("Restock(2) with 3 reserved: error = %v, want errs.Conflict", err)
	}
	if got != from {
		t.Fatalf("a refused Restock changed the stock to %+v", got)
	}
	if _, err := (Stock{}).Restock(-1); !errs.Is(err, errs.Invalid) {
		t.Fatalf("Restock(-1) error = %v, want errs.Invalid", err)
	}
}

// before is when the reservations of these tests last changed, later when
// they move.
func before() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
func later() time.Time  { return before().Add(time.Hour) }

func reservation(status ReservationStatus, tombstone bool) Reservation {
	return Reservation{
		OrderID: "o-1", Status: status, Tombstone: tombstone, UpdatedAt: before(),
		Items: []domain.PricedItem{{SKU: "a", Quantity: 2, PriceCents: 100}}, TotalCents: 200,
	}
}

// move is Reservation.release or Reservation.commit.
type move func(Reservation, time.Time) (Reservation, bool, error)

// checkMove checks one transition of a reservation from status from: that it
// moves to status to, or stays as it is (to == ""), or fails with code.
func checkMove(t *testing.T, m move, from Reservation, to ReservationStatus, code errs.Code) {
	t.Helper()
	got, moved, err := m(from, later())
	switch {
	case code != "":
		if !errs.Is(err, code) || moved {
			t.Fatalf("from %s: moved %v, error %v; want an errs.%s error", from.Status, moved, err, code)
		}
	case to == "":
		if err != nil || moved || got.Status != from.Status || !got.UpdatedAt.Equal(before()) {
			t.Fatalf("from %s: %s at %v, moved %v, error %v; want it unchanged", from.Status, got.Status, got.UpdatedAt, moved, err)
		}
	default:
		if err != nil || !moved || got.Status != to || !got.UpdatedAt.Equal(later()) {
			t.Fatalf("from %s: %s at %v, moved %v, error %v; want %s at %v", from.Status, got.Status, got.UpdatedAt, moved, err, to, later())
		}
		if len(got.Items) != 1 || got.TotalCents != 200 {
			t.Fatalf("from %s: the move lost the items: %+v", from.Status, got)
		}
	}
}

func TestReservation_Release_GivesBackOnlyAReservedOrder(t *testing.T) {
	tests := []struct {
		name string
		from Reservation
		to   ReservationStatus // "" when it stays
		code errs.Code         // set when it fails
	}{
		{"reserved is released", reservation(Reserved, false), Released, ""},
		{"released again changes nothing", reservation(Released, false), "", ""},
		{"a tombstone stays", reservation(Released, true), "", ""},
		{"rejected held nothing", reservation(Rejected, false), "", ""},
		{"committed units left the warehouse", reservation(Committed, false), "", errs.Conflict},
		{"an unknown status", reservation("lost", false), "", errs.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkMove(t, Reservation.release, tt.from, tt.to, tt.code) })
	}
}

func TestReservation_Commit_TakesOnlyAReservedOrder(t *testing.T) {
	tests := []struct {
		name string
		from Reservation
		to   ReservationStatus
		code errs.Code
	}{
		{"reserved is committed", reservation(Reserved, false), Committed, ""},
		{"committed again changes nothing", reservation(Committed, false), "", ""},
		{"rejected has nothing to commit", reservation(Rejected, false), "", errs.Conflict},
		{"released has nothing to commit", reservation(Released, false), "", errs.Conflict},
		{"a tombstone has nothing to commit", reservation(Released, true), "", errs.Conflict},
		{"an unknown status", reservation("lost", false), "", errs.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkMove(t, Reservation.commit, tt.from, tt.to, tt.code) })
	}
}

func TestReleaseTombstone_MakesALateReserveCompensated(t *testing.T) {
	tomb := releaseTombstone("o-1", later())
	if !tomb.Tombstone || tomb.Status != Released || len(tomb.Items) != 0 || tomb.TotalCents != 0 || !tomb.UpdatedAt.Equal(later()) {
		t.Fatalf("tombstone = %+v", tomb)
	}
	if err := tomb.Err(); !errors.Is(err, domain.ErrCompensated) {
		t.Fatalf("a late Reserve meeting the tombstone reports %v, want domain.ErrCompensated", err)
	}
	if tomb.undid() {
		t.Fatal("a tombstone counts as having undone a reservation")
	}
	if _, moved, err := tomb.release(later()); moved || err != nil {
		t.Fatalf("releasing a tombstone again: moved %v, error %v", moved, err)
	}
}
