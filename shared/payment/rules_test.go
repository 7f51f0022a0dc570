package payment

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
)

func account(credit domain.Cents) Account { return Customer{CreditCents: credit}.Account() }

func TestAccount_Charge_TakesTheAmountFromTheCredit(t *testing.T) {
	tests := []struct {
		name   string
		credit domain.Cents
		amount domain.Cents
		left   domain.Cents
	}{
		{"part of it", 1000, 250, 750},
		{"all of it", 1000, 1000, 0},
		{"nothing", 1000, 0, 1000},
		{"nothing from nothing", 0, 0, 0},
		{"the largest credit", math.MaxInt64, math.MaxInt64, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := account(tt.credit).Charge(tt.amount)
			if err != nil || got.Credit() != tt.left {
				t.Fatalf("Charge(%d) of %d = %d left, %v; want %d left", tt.amount, tt.credit, got.Credit(), err, tt.left)
			}
		})
	}
}

func TestAccount_Charge_DeclinesMoreThanTheCredit(t *testing.T) {
	tests := []struct {
		name   string
		credit domain.Cents
		amount domain.Cents
	}{
		{"one cent too many", 1000, 1001},
		{"no credit", 0, 1},
		{"the zero account", 0, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := account(tt.credit)
			got, err := from.Charge(tt.amount)
			if !errors.Is(err, domain.ErrPaymentDeclined) {
				t.Fatalf("Charge(%d) of %d: error = %v, want one wrapping domain.ErrPaymentDeclined", tt.amount, tt.credit, err)
			}
			if got != from {
				t.Fatalf("a declined Charge changed the credit to %d", got.Credit())
			}
		})
	}
}

func TestAccount_Charge_RejectsANegativeAmount(t *testing.T) {
	for _, amount := range []domain.Cents{-1, math.MinInt64} {
		if _, err := account(1000).Charge(amount); !errs.Is(err, errs.Invalid) || errors.Is(err, domain.ErrPaymentDeclined) {
			t.Errorf("Charge(%d) error = %v, want errs.Invalid", amount, err)
		}
	}
}

func TestAccount_Refund_GivesTheAmountBack(t *testing.T) {
	tests := []struct {
		name   string
		credit domain.Cents
		amount domain.Cents
		want   domain.Cents
	}{
		{"to some credit", 750, 250, 1000},
		{"to none", 0, 250, 250},
		{"nothing", 750, 0, 750},
		{"up to the largest credit", math.MaxInt64 - 5, 5, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := account(tt.credit).Refund(tt.amount)
			if err != nil || got.Credit() != tt.want {
				t.Fatalf("Refund(%d) to %d = %d, %v; want %d", tt.amount, tt.credit, got.Credit(), err, tt.want)
			}
		})
	}
}

func TestAccount_Refund_RefusesToOverflowTheCredit(t *testing.T) {
	from := account(math.MaxInt64 - 5)
	got, err := from.Refund(6)
	if !errors.Is(err, domain.ErrOverflow) || got != from {
		t.Fatalf("Refund(6) to %d = %d, %v; want the credit unchanged and domain.ErrOverflow", from.Credit(), got.Credit(), err)
	}
	if _, err := account(0).Refund(-1); !errs.Is(err, errs.Invalid) {
		t.Fatalf("Refund(-1) error = %v, want errs.Invalid", err)
	}
}

func TestPayment_Refund_GivesBackOnlyACharge(t *testing.T) {
	before := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	later := before.Add(time.Hour)
	payment := func(status PaymentStatus, tombstone bool) Payment {
		return Payment{OrderID: "o-1", CustomerID: "c-1", AmountCents: 500, Status: status, Tombstone: tombstone, UpdatedAt: before}
	}
	tests := []struct {
		name    string
		from    Payment
		moves   bool
		wantErr bool
	}{
		{"charged is refunded", payment(Charged, false), true, false},
		{"refunded again changes nothing", payment(Refunded, false), false, false},
		{"a tombstone stays", payment(Refunded, true), false, false},
		{"declined took nothing", payment(Declined, false), false, false},
		{"an unknown status", payment("lost", false), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, moved, err := tt.from.refund(later)
			if (err != nil) != tt.wantErr || moved != tt.moves {
				t.Fatalf("refund: moved %v, error %v; want moved %v, an error %v", moved, err, tt.moves, tt.wantErr)
			}
			want := tt.from
			if tt.moves {
				want.Status, want.UpdatedAt = Refunded, later
			}
			if !tt.wantErr && got != want {
				t.Fatalf("refund = %+v, want %+v", got, want)
			}
		})
	}
}

func TestRefundTombstone_MakesALateChargeCompensated(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tomb := refundTombstone("o-1", at)
	want := Payment{OrderID: "o-1", Status: Refunded, Tombstone: true, UpdatedAt: at}
	if tomb != want {
		t.Fatalf("tombstone = %+v, want %+v", tomb, want)
	}
	if err := tomb.Err(); !errors.Is(err, domain.ErrCompensated) {
		t.Fatalf("a late Charge meeting the tombstone reports %v, want domain.ErrCompensated", err)
	}
	if tomb.undid() {
		t.Fatal("a tombstone counts as having refunded a charge")
	}
	if _, moved, err := tomb.refund(at); moved || err != nil {
		t.Fatalf("refunding a tombstone again: moved %v, error %v", moved, err)
	}
}
