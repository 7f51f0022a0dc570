package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

func TestReserve_HoldsEveryItemAndPricesTheOrder(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		setProduct(t, svc, "mug", 1250, 10)
		setProduct(t, svc, "tee", 999, 5)

		r := reserve(t, svc, "o-1", item("tee", 3), item("mug", 2))

		want := inventory.Reservation{
			OrderID: "o-1",
			Status:  inventory.Reserved,
			Items: []domain.PricedItem{
				{SKU: "tee", Quantity: 3, PriceCents: 999},
				{SKU: "mug", Quantity: 2, PriceCents: 1250},
			},
			TotalCents: 3*999 + 2*1250,
			UpdatedAt:  testTime().Truncate(1000),
		}
		if !reflect.DeepEqual(r, want) {
			t.Fatalf("reserve = %+v, want %+v", r, want)
		}
		if err := r.Err(); err != nil {
			t.Fatalf("Err() = %v, want nil", err)
		}
		wantStock(t, svc, "mug", 8, 2)
		wantStock(t, svc, "tee", 2, 3)
		stored, err := svc.Reservation(context.Background(), "o-1")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(stored, want) {
			t.Fatalf("stored reservation = %+v, want %+v", stored, want)
		}
	})
}

func TestReserve_SecondSkuShort_HoldsNothing(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		setProduct(t, svc, "a-first", 100, 10)
		setProduct(t, svc, "b-second", 100, 1)

		// a-first is moved before b-second is found short.
		r := reserve(t, svc, "o-1", item("a-first", 2), item("b-second", 5))

		if r.Status != inventory.Rejected || len(r.Items) != 0 || r.TotalCents != 0 {
			t.Fatalf("reserve = %+v, want rejected with no items", r)
		}
		if !errors.Is(r.Err(), domain.ErrOutOfStock) {
			t.Fatalf("Err() = %v, want ErrOutOfStock", r.Err())
		}
		wantStock(t, svc, "a-first", 10, 0)
		wantStock(t, svc, "b-second", 1, 0)
		stored, err := svc.Reservation(context.Background(), "o-1")
		if err != nil || stored.Status != inventory.Rejected {
			t.Fatalf("stored reservation = %+v, %v; want rejected", stored, err)
		}
	})
}

func TestReserve_UnknownSku_IsRejected(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		setProduct(t, svc, "mug", 100, 10)

		r := reserve(t, svc, "o-1", item("mug", 1), item("no-such-sku", 1))

		if r.Status != inventory.Rejected || !errors.Is(r.Err(), domain.ErrOutOfStock) {
			t.Fatalf("reserve = %+v (Err %v), want rejected out of stock", r, r.Err())
		}
		wantStock(t, svc, "mug", 10, 0)
	})
}

func TestReserve_ExactlyTheAvailableUnits_IsHeld(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		setProduct(t, svc, "mug", 100, 3)

		if r := reserve(t, svc, "o-1", item("mug", 3)); r.Status != inventory.Reserved {
			t.Fatalf("reserve = %+v, want reserved", r)
		}
		wantStock(t, svc, "mug", 0, 3)
		if r := reserve(t, svc, "o-2", item("mug", 1)); r.Status != inventory.Rejected {
			t.Fatalf("reserve with nothing left = %+v, want rejected", r)
		}
	})
}

func TestReserve_Repeated_ReturnsRecordedOutcomeAndMovesStockOnce(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		setProduct(t, svc, "mug", 1250, 10)
		first := reserve(t, svc, "o-1", item("mug", 2))

		again := reserve(t, svc, "o-1", item("mug", 2))
		otherItems := reserve(t, svc, "o-1", item("mug", 7))

		if !reflect.DeepEqual(again, first) {
			t.Fatalf("repeated reserve = %+v, want %+v", again, first)
		}
		if !reflect.DeepEqual(otherItems, first) {
			t.Fatalf("reserve with other items = %+v, want the recorded %+v", otherItems, first)
		}
		wantStock(t, svc, "mug", 8, 2)
	})
}

func TestReserve_RepeatedAfterRejection_StaysRejectedEvenAfterRestock(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		setProduct(t, svc, "mug", 100, 1)
		first := reserve(t, svc, "o-1", item("mug", 2))
		setProduct(t, svc, "mug", 100, 50)

		again := reserve(t, svc, "o-1", item("mug", 2))

		if first.Status != inventory.Rejected || !reflect.DeepEqual(again, first) {
			t.Fatalf("reserve = %+v then %+v, want the same rejection", first, again)
		}
		wantStock(t, svc, "mug", 50, 0)
	})
}

func TestReserve_InvalidRequest_IsInvalidAndRecordsNothing(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		setProduct(t, svc, "mug", 100, 10)
		cases := []struct {
			name    string
			orderID string
			items   []domain.Item
			fields  []string
		}{
			{"no items", "o-1", nil, []string{"items"}},
			{"zero quantity", "o-1", []domain.Item{item("mug", 0)}, []string{"items[0].quantity"}},
			{"negative quantity", "o-1", []domain.Item{item("mug", -3)}, []string{"items[0].quantity"}},
			{"repeated sku", "o-1", []domain.Item{item("mug", 1), item("mug", 1)}, []string{"items[1].sku"}},
			{"bad order id", "o 1", []domain.Item{item("mug", 1)}, []string{"order_id"}},
		}
		for _, c := range cases {
			_, err := svc.Reserve(context.Background(), c.orderID, c.items)
			if got := fieldNames(err); !errs.Is(err, errs.Invalid) || !reflect.DeepEqual(got, c.fields) {
				t.Errorf("%s: err = %v (fields %v), want invalid %v", c.name, err, got, c.fields)
			}
		}
		wantStock(t, svc, "mug", 10, 0)
		if _, err := svc.Reservation(context.Background(), "o-1"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("reservation after invalid requests: err = %v, want not found", err)
		}
	})
}

func TestSetProduct_PriceOrStockOverTheLimit_IsInvalid(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		for _, in := range []inventory.ProductInput{
			{SKU: "gold", Name: "Gold", PriceCents: domain.MaxPriceCents + 1, Stock: 1},
			{SKU: "gold", Name: "Gold", PriceCents: 1, Stock: domain.MaxStock + 1},
		} {
			if _, err := svc.SetProduct(context.Background(), in); !errs.Is(err, errs.Invalid) {
				t.Errorf("SetProduct(%+v): err = %v, want invalid", in, err)
			}
		}
	})
}

func TestReserve_TotalOverflowing64Bits_IsInvalidAndHoldsNothing(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, db *sqldb.DB, svc *inventory.Service) {
		// A price stored before the limits existed: the API refuses it now.
		setProduct(t, svc, "gold", 1, 10)
		sqltest.MustExec(t, db, fmt.Sprintf(`UPDATE products SET price_cents = %d WHERE sku = 'gold'`, domain.Cents(1)<<62))

		_, err := svc.Reserve(context.Background(), "o-1", []domain.Item{item("gold", 4)})

		if !errs.Is(err, errs.Invalid) || !errors.Is(err, domain.ErrOverflow) {
			t.Fatalf("err = %v, want invalid wrapping ErrOverflow", err)
		}
		wantStock(t, svc, "gold", 10, 0)
	})
}

func TestRelease_ReturnsHeldUnits(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		setProduct(t, svc, "mug", 1250, 10)
		setProduct(t, svc, "tee", 999, 5)
		held := reserve(t, svc, "o-1", item("mug", 2), item("tee", 5))

		r := release(t, svc, "o-1")

		if r.Status != inventory.Released || r.Tombstone || !reflect.DeepEqual(r.Items, held.Items) || r.TotalCents != held.TotalCents {
			t.Fatalf("release = %+v, want released with the held items %+v", r, held.Items)
		}
		if !errors.Is(r.Err(), domain.ErrCompensated) {
			t.Fatalf("Err() = %v, want ErrCompensated", r.Err())
		}
		wantStock(t, svc, "mug", 10, 0)
		wantStock(t, svc, "tee", 5, 0)
	})
}

func TestRelease_Twice_ReturnsUnitsOnce(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		setProduct(t, svc, "mug", 100, 10)
		reserve(t, svc, "o-1", item("mug", 4))
		reserve(t, svc, "o-2", item("mug", 3)) // held by another order

		first := release(t, svc, "o-1")
		second := release(t, svc, "o-1")

		if !reflect.DeepEqual(second, first) {
			t.Fatalf("second release = %+v, want %+v", second, first)
		}
		wantStock(t, svc, "mug", 7, 3)
	})
}

func TestRelease_BeforeReserve_LeavesTombstoneAndLateReserveIsNoop(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		setProduct(t, svc, "mug", 100, 10)

		tomb := release(t, svc, "o-1")
		if tomb.Status != inventory.Released || !tomb.Tombstone || len(tomb.Items) != 0 {
			t.Fatalf("early release = %+v, want a released tombstone", tomb)
		}

		late := reserve(t, svc, "o-1", item("mug", 2))

		if !reflect.DeepEqual(late, tomb) {
			t.Fatalf("late reserve = %+v, want the tombstone %+v", late, tomb)
		}
		if !errors.Is(late.Err(), domain.ErrCompensated) {
			t.Fatalf("late reserve Err() = %v, want ErrCompensated", late.Err())
		}
		wantStock(t, svc, "mug", 10, 0)
		if again := release(t, svc, "o-1"); !reflect.DeepEqual(again, tomb) {
			t.Fatalf("release after the tombstone = %+v, want %+v", again, tomb)
		}
		wantStock(t, svc, "mug", 10, 0)
	})
}

func TestRelease_AfterRejection_ChangesNothing(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		setProduct(t, svc, "mug", 100, 1)
		rejected := reserve(t, svc, "o-1", item("mug", 5))

		r := release(t, svc, "o-1")

		if !reflect.DeepEqual(r, rejected) {
			t.Fatalf("release of a rejected order = %+v, want unchanged %+v", r, rejected)
		}
		wantStock(t, svc, "mug", 1, 0)
	})
}

func TestRelease_AfterCommit_IsConflict(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		setProduct(t, svc, "mug", 100, 10)
		reserve(t, svc, "o-1", item("mug", 2))
		commit(t, svc, "o-1")

		_, err := svc.Release(context.Background(), "o-1")

		if !errs.Is(err, errs.Conflict) {
			t.Fatalf("release after commit: err = %v, want conflict", err)
		}
		wantStock(t, svc, "mug", 8, 0)
	})
}

func TestCommit_RemovesReservedUnitsForGood(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		setProduct(t, svc, "mug", 1250, 10)
		setProduct(t, svc, "tee", 999, 5)
		held := reserve(t, svc, "o-1", item("mug", 2), item("tee", 1))

		r := commit(t, svc, "o-1")

		if r.Status != inventory.Committed || !reflect.DeepEqual(r.Items, held.Items) {
			t.Fatalf("commit = %+v, want committed with %+v", r, held.Items)
		}
		if err := r.Err(); err != nil {
			t.Fatalf("Err() = %v, want nil", err)
		}
		wantStock(t, svc, "mug", 8, 0)
		wantStock(t, svc, "tee", 4, 0)
	})
}

func TestCommit_Twice_RemovesUnitsOnce(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		setProduct(t, svc, "mug", 100, 10)
		reserve(t, svc, "o-1", item("mug", 2))
		reserve(t, svc, "o-2", item("mug", 3))

		first := commit(t, svc, "o-1")
		second := commit(t, svc, "o-1")

		if !reflect.DeepEqual(second, first) {
			t.Fatalf("second commit = %+v, want %+v", second, first)
		}
		wantStock(t, svc, "mug", 5, 3)
	})
}

func TestCommit_WithoutHeldUnits_IsConflict(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		setProduct(t, svc, "mug", 100, 1)
		reserve(t, svc, "rejected", item("mug", 5))
		reserve(t, svc, "released", item("mug", 1))
		release(t, svc, "released")
		release(t, svc, "tombstone")

		for _, id := range []string{"never-reserved", "rejected", "released", "tombstone"} {
			if _, err := svc.Commit(context.Background(), id); !errs.Is(err, errs.Conflict) {
				t.Errorf("commit of %s: err = %v, want conflict", id, err)
			}
		}
		wantStock(t, svc, "mug", 1, 0)
		if _, err := svc.Reservation(context.Background(), "never-reserved"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("commit of an unknown order left a record: err = %v, want not found", err)
		}
	})
}

func TestReservation_Unknown_IsNotFound(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		if _, err := svc.Reservation(context.Background(), "nope"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("err = %v, want not found", err)
		}
	})
}

func TestReserveTx_CallerRollsBack_LeavesNothing(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, db *sqldb.DB, svc *inventory.Service) {
		ctx := context.Background()
		setProduct(t, svc, "mug", 100, 10)
		errAbandon := errors.New("caller abandons its transaction")

		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			r, err := svc.ReserveTx(ctx, tx, "o-1", []domain.Item{item("mug", 4)})
			if err != nil {
				return err
			}
			if r.Status != inventory.Reserved {
				t.Errorf("reserve inside the transaction = %+v, want reserved", r)
			}
			return errAbandon
		})

		if !errors.Is(err, errAbandon) {
			t.Fatalf("InTx = %v, want the caller's error", err)
		}
		wantStock(t, svc, "mug", 10, 0)
		if _, err := svc.Reservation(ctx, "o-1"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("reservation after rollback: err = %v, want not found", err)
		}
	})
}

func TestTxOperations_CommittedWithCallersWork_AreDurable(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, db *sqldb.DB, svc *inventory.Service) {
		ctx := context.Background()
		setProduct(t, svc, "mug", 100, 10)
		steps := []func(tx *sqldb.Tx) (inventory.Reservation, error){
			func(tx *sqldb.Tx) (inventory.Reservation, error) {
				return svc.ReserveTx(ctx, tx, "o-1", []domain.Item{item("mug", 4)})
			},
			func(tx *sqldb.Tx) (inventory.Reservation, error) {
				return svc.ReserveTx(ctx, tx, "o-2", []domain.Item{item("mug", 3)})
			},
			func(tx *sqldb.Tx) (inventory.Reservation, error) { return svc.CommitTx(ctx, tx, "o-1") },
			func(tx *sqldb.Tx) (inventory.Reservation, error) { return svc.ReleaseTx(ctx, tx, "o-2") },
		}
		for i, step := range steps {
			if err := db.InTx(ctx, func(tx *sqldb.Tx) error { _, err := step(tx); return err }); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		wantStock(t, svc, "mug", 6, 0)
	})
}

// fieldNames lists the fields of an errs.Invalid error.
func fieldNames(err error) []string {
	var e *errs.Error
	if !errors.As(err, &e) {
		return nil
	}
	var names []string
	for _, f := range e.Fields {
		names = append(names, f.Field)
	}
	return names
}
