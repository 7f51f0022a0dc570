package payment_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

func TestCharge_LowersCredit(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, _ *sqldb.DB, svc *payment.Service) {
		setCustomer(t, svc, "c-1", 10000)

		p := charge(t, svc, "o-1", "c-1", 2500)

		want := payment.Payment{OrderID: "o-1", CustomerID: "c-1", AmountCents: 2500, Status: payment.Charged, UpdatedAt: testTime().Truncate(1000)}
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("charge = %+v, want %+v", p, want)
		}
		if err := p.Err(); err != nil {
			t.Fatalf("Err() = %v, want nil", err)
		}
		wantCredit(t, svc, "c-1", 7500)
		if stored, err := svc.Payment(context.Background(), "o-1"); err != nil || !reflect.DeepEqual(stored, want) {
			t.Fatalf("stored payment = %+v, %v; want %+v", stored, err, want)
		}
	})
}

func TestCharge_ExactlyTheCreditLeft_IsCharged(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, _ *sqldb.DB, svc *payment.Service) {
		setCustomer(t, svc, "c-1", 1000)

		if p := charge(t, svc, "o-1", "c-1", 1000); p.Status != payment.Charged {
			t.Fatalf("charge = %+v, want charged", p)
		}
		wantCredit(t, svc, "c-1", 0)
	})
}

func TestCharge_UnknownCustomer_IsDeclined(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, _ *sqldb.DB, svc *payment.Service) {
		setCustomer(t, svc, "c-1", 10000)

		p := charge(t, svc, "o-1", "nobody", 100)

		if p.Status != payment.Declined || !errors.Is(p.Err(), domain.ErrPaymentDeclined) {
			t.Fatalf("charge = %+v (Err %v), want declined", p, p.Err())
		}
		wantCredit(t, svc, "c-1", 10000)
		if stored, err := svc.Payment(context.Background(), "o-1"); err != nil || stored.Status != payment.Declined {
			t.Fatalf("stored payment = %+v, %v; want declined", stored, err)
		}
	})
}

func TestCharge_TooLittleCredit_IsDeclinedAndCreditUnchanged(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, _ *sqldb.DB, svc *payment.Service) {
		setCustomer(t, svc, "c-1", 999)

		p := charge(t, svc, "o-1", "c-1", 1000)

		if p.Status != payment.Declined || !errors.Is(p.Err(), domain.ErrPaymentDeclined) {
			t.Fatalf("charge = %+v (Err %v), want declined", p, p.Err())
		}
		wantCredit(t, svc, "c-1", 999)
	})
}

func TestCharge_Repeated_ReturnsRecordedOutcomeAndChargesOnce(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, _ *sqldb.DB, svc *payment.Service) {
		setCustomer(t, svc, "c-1", 10000)
		first := charge(t, svc, "o-1", "c-1", 2500)

		again := charge(t, svc, "o-1", "c-1", 2500)
		otherAmount := charge(t, svc, "o-1", "c-1", 10)

		if !reflect.DeepEqual(again, first) || !reflect.DeepEqual(otherAmount, first) {
			t.Fatalf("repeated charges = %+v, %+v; want the recorded %+v", again, otherAmount, first)
		}
		wantCredit(t, svc, "c-1", 7500)
	})
}

func TestCharge_RepeatedAfterDecline_StaysDeclinedEvenAfterTopUp(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, _ *sqldb.DB, svc *payment.Service) {
		setCustomer(t, svc, "c-1", 10)
		first := charge(t, svc, "o-1", "c-1", 100)
		setCustomer(t, svc, "c-1", 1000)

		again := charge(t, svc, "o-1", "c-1", 100)

		if first.Status != payment.Declined || !reflect.DeepEqual(again, first) {
			t.Fatalf("charge = %+v then %+v, want the same decline", first, again)
		}
		wantCredit(t, svc, "c-1", 1000)
	})
}

func TestCharge_InvalidRequest_IsInvalidAndRecordsNothing(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, _ *sqldb.DB, svc *payment.Service) {
		ctx := context.Background()
		setCustomer(t, svc, "c-1", 1000)
		cases := []struct {
			orderID, customerID string
			amount              domain.Cents
			fields              []string
		}{
			{"o-1", "c-1", -1, []string{"amount_cents"}},
			{"o 1", "c-1", 1, []string{"order_id"}},
			{"o-1", "", 1, []string{"customer_id"}},
		}
		for _, c := range cases {
			_, err := svc.Charge(ctx, c.orderID, c.customerID, c.amount)
			if got := fieldNames(err); !errs.Is(err, errs.Invalid) || !reflect.DeepEqual(got, c.fields) {
				t.Errorf("Charge(%q, %q, %d): err = %v (fields %v), want invalid %v", c.orderID, c.customerID, c.amount, err, got, c.fields)
			}
		}
		wantCredit(t, svc, "c-1", 1000)
		if _, err := svc.Payment(ctx, "o-1"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("payment after invalid requests: err = %v, want not found", err)
		}
	})
}

func TestRefund_RestoresCredit(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, _ *sqldb.DB, svc *payment.Service) {
		setCustomer(t, svc, "c-1", 10000)
		charged := charge(t, svc, "o-1", "c-1", 2500)

		p := refund(t, svc, "o-1")

		if p.Status != payment.Refunded || p.Tombstone || p.AmountCents != charged.AmountCents || p.CustomerID != "c-1" {
			t.Fatalf("refund = %+v, want refunded 2500 to c-1", p)
		}
		if !errors.Is(p.Err(), domain.ErrCompensated) {
			t.Fatalf("Err() = %v, want ErrCompensated", p.Err())
		}
		wantCredit(t, svc, "c-1", 10000)
	})
}

func TestRefund_Twice_RestoresCreditOnce(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, _ *sqldb.DB, svc *payment.Service) {
		setCustomer(t, svc, "c-1", 10000)
		charge(t, svc, "o-1", "c-1", 2500)
		charge(t, svc, "o-2", "c-1", 1000)

		first := refund(t, svc, "o-1")
		second := refund(t, svc, "o-1")

		if !reflect.DeepEqual(second, first) {
			t.Fatalf("second refund = %+v, want %+v", second, first)
		}
		wantCredit(t, svc, "c-1", 9000)
	})
}

func TestRefund_BeforeCharge_LeavesTombstoneAndLateChargeIsNoop(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, _ *sqldb.DB, svc *payment.Service) {
		setCustomer(t, svc, "c-1", 10000)

		tomb := refund(t, svc, "o-1")
		if tomb.Status != payment.Refunded || !tomb.Tombstone || tomb.AmountCents != 0 {
			t.Fatalf("early refund = %+v, want a refunded tombstone", tomb)
		}

		late := charge(t, svc, "o-1", "c-1", 2500)

		if !reflect.DeepEqual(late, tomb) {
			t.Fatalf("late charge = %+v, want the tombstone %+v", late, tomb)
		}
		if !errors.Is(late.Err(), domain.ErrCompensated) {
			t.Fatalf("late charge Err() = %v, want ErrCompensated", late.Err())
		}
		wantCredit(t, svc, "c-1", 10000)
		if again := refund(t, svc, "o-1"); !reflect.DeepEqual(again, tomb) {
			t.Fatalf("refund after the tombstone = %+v, want %+v", again, tomb)
		}
		wantCredit(t, svc, "c-1", 10000)
	})
}

func TestRefund_AfterDecline_ChangesNothing(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, _ *sqldb.DB, svc *payment.Service) {
		setCustomer(t, svc, "c-1", 100)
		declined := charge(t, svc, "o-1", "c-1", 1000)

		p := refund(t, svc, "o-1")

		if !reflect.DeepEqual(p, declined) {
			t.Fatalf("refund of a declined order = %+v, want unchanged %+v", p, declined)
		}
		wantCredit(t, svc, "c-1", 100)
	})
}

func TestPayment_Unknown_IsNotFound(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, _ *sqldb.DB, svc *payment.Service) {
		if _, err := svc.Payment(context.Background(), "nope"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("err = %v, want not found", err)
		}
	})
}

func TestChargeTx_CallerRollsBack_LeavesNothing(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *sqldb.DB, svc *payment.Service) {
		ctx := context.Background()
		setCustomer(t, svc, "c-1", 1000)
		errAbandon := errors.New("caller abandons its transaction")

		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			p, err := svc.ChargeTx(ctx, tx, "o-1", "c-1", 400)
			if err != nil {
				return err
			}
			if p.Status != payment.Charged {
				t.Errorf("charge inside the transaction = %+v, want charged", p)
			}
			return errAbandon
		})

		if !errors.Is(err, errAbandon) {
			t.Fatalf("InTx = %v, want the caller's error", err)
		}
		wantCredit(t, svc, "c-1", 1000)
		if _, err := svc.Payment(ctx, "o-1"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("payment after rollback: err = %v, want not found", err)
		}
	})
}

func TestRefundTx_CommittedWithCallersWork_IsDurable(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *sqldb.DB, svc *payment.Service) {
		ctx := context.Background()
		setCustomer(t, svc, "c-1", 1000)
		charge(t, svc, "o-1", "c-1", 400)

		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			_, err := svc.RefundTx(ctx, tx, "o-1")
			return err
		})

		if err != nil {
			t.Fatal(err)
		}
		wantCredit(t, svc, "c-1", 1000)
	})
}

func TestCharge_ConcurrentChargesForLastCredit_NeverOverdraw(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, _ *sqldb.DB, svc *payment.Service) {
		const credit, price, buyers = 1000, 100, 50
		setCustomer(t, svc, "c-1", credit)
		got := make([]payment.Payment, buyers)

		errs := race(buyers, func(i int) error {
			var err error
			got[i], err = svc.Charge(context.Background(), fmt.Sprintf("o-%d", i), "c-1", price)
			return err
		})

		charged := 0
		for i, err := range errs {
			if err != nil {
				t.Fatalf("charge %d: %v", i, err)
			}
			switch got[i].Status {
			case payment.Charged:
				charged++
			case payment.Declined:
			default:
				t.Fatalf("charge %d: status %s, want charged or declined", i, got[i].Status)
			}
		}
		if charged != credit/price {
			t.Fatalf("%d charges went through, want exactly %d", charged, credit/price)
		}
		wantCredit(t, svc, "c-1", 0)
	})
}

func TestChargeAndRefund_RacingForOneOrder_LeaveCreditWhole(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, _ *sqldb.DB, svc *payment.Service) {
		ctx := context.Background()
		const orders = 20
		setCustomer(t, svc, "c-1", 10000)

		// Even i charges order i/2, odd i refunds it: whichever comes
		// first, the order ends refunded and the credit is whole.
		errs := race(2*orders, func(i int) error {
			id := fmt.Sprintf("o-%d", i/2)
			if i%2 == 0 {
				_, err := svc.Charge(ctx, id, "c-1", 150)
				return err
			}
			_, err := svc.Refund(ctx, id)
			return err
		})

		for i, err := range errs {
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		for i := range orders {
			p, err := svc.Payment(ctx, fmt.Sprintf("o-%d", i))
			if err != nil || p.Status != payment.Refunded {
				t.Fatalf("order %d: %+v, %v; want refunded", i, p, err)
			}
		}
		wantCredit(t, svc, "c-1", 10000)
	})
}
