package orders_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

func TestCreateAndGet_RoundTripEveryField(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		placed := newOrder(t, request("o-1"), t0)
		want := atMicros(placed.State())

		stored, created, err := store.Create(context.Background(), placed)
		if err != nil || !created {
			t.Fatalf("Create: created %v, err %v", created, err)
		}
		got := get(t, store, "o-1").State()
		for name, s := range map[string]domain.OrderState{"returned": stored.State(), "read": got} {
			if !reflect.DeepEqual(s, want) {
				t.Fatalf("%s order\n %+v\nwant\n %+v", name, s, want)
			}
		}
		if got.Prices != nil || got.TotalCents != nil {
			t.Fatalf("prices %v, total %v before pricing; want nil", got.Prices, got.TotalCents)
		}
		if got.CreatedAt.Location() != time.UTC || got.Steps[0].At.Location() != time.UTC {
			t.Fatal("times read back are not in UTC")
		}

		// Every field the saga changes survives a round trip too.
		steps := []domain.StepName{domain.StepInventory, domain.StepPayment, domain.StepShipping}
		complete := func(o *domain.Order) error {
			at := t0.Add(1500 * time.Nanosecond)
			prices := []domain.PricedItem{{SKU: "mug", Quantity: 2, PriceCents: 1250}, {SKU: "tee", Quantity: 1, PriceCents: 999}}
			if err := o.SetPrices(prices, at); err != nil {
				return err
			}
			for i, s := range steps {
				if err := o.MarkStep(s, domain.StepDone, at.Add(time.Duration(i)*time.Second)); err != nil {
					return err
				}
			}
			return completeWith(o, "OSABCDEFGHIJKL", at.Add(time.Minute))
		}
		expected, err := domain.Restore(got)
		if err != nil {
			t.Fatal(err)
		}
		if err := complete(expected); err != nil {
			t.Fatal(err)
		}
		want = atMicros(expected.State())
		updated := update(t, store, "o-1", complete)
		got = get(t, store, "o-1").State()
		for name, s := range map[string]domain.OrderState{"returned": updated.State(), "read": got} {
			if !reflect.DeepEqual(s, want) {
				t.Fatalf("%s order after update\n %+v\nwant\n %+v", name, s, want)
			}
		}
		if *got.TotalCents != 3499 || got.TrackingNumber != "OSABCDEFGHIJKL" || got.Status != domain.StatusCompleted {
			t.Fatalf("completed order = %+v", got)
		}
	})
}

func TestUpdate_CancelRequestAndCancel_RoundTrip(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		create(t, store, "o-1", t0)
		update(t, store, "o-1", func(o *domain.Order) error {
			if err := o.MarkStep(domain.StepInventory, domain.StepDone, t0); err != nil {
				return err
			}
			return o.RequestCancel(t0.Add(time.Second))
		})
		if s := get(t, store, "o-1").State(); !s.CancelRequested || s.Status != domain.StatusPending {
			t.Fatalf("after cancel request: %+v", s)
		}
		update(t, store, "o-1", func(o *domain.Order) error {
			if err := o.MarkStep(domain.StepInventory, domain.StepCompensated, t0.Add(2*time.Second)); err != nil {
				return err
			}
			return o.Cancel(t0.Add(3 * time.Second))
		})
		s := get(t, store, "o-1").State()
		if s.Status != domain.StatusCancelled || s.FailureReason != domain.ReasonCancelled || !s.CancelRequested {
			t.Fatalf("cancelled order = %+v", s)
		}
		wantSteps := []domain.StepStatus{domain.StepCompensated, domain.StepSkipped, domain.StepSkipped}
		for i, st := range s.Steps {
			if st.Status != wantSteps[i] {
				t.Fatalf("step %s = %s, want %s", st.Step, st.Status, wantSteps[i])
			}
		}
		if !s.UpdatedAt.Equal(t0.Add(3 * time.Second).Truncate(time.Microsecond)) {
			t.Fatalf("updated_at = %v", s.UpdatedAt)
		}
	})
}

func TestCreate_SameRequestAgain_ReturnsExistingAndChangesNothing(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		first := create(t, store, "o-1", t0)
		update(t, store, "o-1", func(o *domain.Order) error { return o.MarkStep(domain.StepInventory, domain.StepDone, t0) })
		before := get(t, store, "o-1").State()

		// A client's retry builds the order anew, later; the items in another order.
		p := request("o-1")
		p.Items[0], p.Items[1] = p.Items[1], p.Items[0]
		again, created, err := store.Create(context.Background(), newOrder(t, p, t0.Add(time.Minute)))
		if err != nil || created {
			t.Fatalf("repeated Create: created %v, err %v; want the existing order", created, err)
		}
		if !reflect.DeepEqual(again.State(), before) {
			t.Fatalf("repeated Create returned\n %+v\nwant the stored\n %+v", again.State(), before)
		}
		if got := get(t, store, "o-1").State(); !reflect.DeepEqual(got, before) || !got.CreatedAt.Equal(first.State().CreatedAt) {
			t.Fatalf("stored order changed to %+v", got)
		}
	})
}

func TestCreate_SameIDOtherRequest_Conflicts(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		first := create(t, store, "o-1", t0)
		p := request("o-1")
		p.Items[0].Quantity = 3
		_, created, err := store.Create(context.Background(), newOrder(t, p, t0))
		if !errs.Is(err, errs.Conflict) || created {
			t.Fatalf("Create with another body: created %v, err %v; want conflict", created, err)
		}
		var e *errs.Error
		if !errors.As(err, &e) || e.Message != "order o-1 exists with a different request" {
			t.Fatalf("conflict message = %q", e.Message)
		}
		if got := get(t, store, "o-1"); !reflect.DeepEqual(got.State(), first.State()) {
			t.Fatalf("stored order changed to %+v", got.State())
		}
	})
}

func TestCreate_ConcurrentSameID_ExactlyOneCreates(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		const callers = 8
		var (
			wg      sync.WaitGroup
			created = make([]bool, callers)
			got     = make([]*domain.Order, callers)
			errList = make([]error, callers)
		)
		for i := range callers {
			o := newOrder(t, request("o-race"), t0.Add(time.Duration(i)*time.Millisecond))
			wg.Go(func() { got[i], created[i], errList[i] = store.Create(context.Background(), o) })
		}
		wg.Wait()
		n := 0
		for i := range callers {
			if errList[i] != nil {
				t.Fatalf("caller %d: %v", i, errList[i])
			}
			if created[i] {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d callers created the order, want 1", n)
		}
		stored := get(t, store, "o-race").State()
		for i := range callers {
			if !reflect.DeepEqual(got[i].State(), stored) {
				t.Fatalf("caller %d got %+v, stored is %+v", i, got[i].State(), stored)
			}
		}
		var rows int
		if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM orders`).Scan(&rows); err != nil || rows != 1 {
			t.Fatalf("%d orders stored (err %v), want 1", rows, err)
		}
	})
}

func TestGetAndUpdate_UnknownOrder_NotFound(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		ctx := context.Background()
		if _, err := store.Get(ctx, "nope"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("Get: err = %v, want not found", err)
		}
		called := false
		_, err := store.Update(ctx, "nope", func(*domain.Order) error { called = true; return nil })
		if !errs.Is(err, errs.NotFound) || called {
			t.Fatalf("Update: err = %v, fn called %v; want not found without calling fn", err, called)
		}
	})
}

func TestUpdate_FnFails_StoresNothing(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		ctx := context.Background()
		create(t, store, "o-1", t0)
		before := get(t, store, "o-1").State()
		errRefused := errors.New("refused")
		_, err := store.Update(ctx, "o-1", func(o *domain.Order) error {
			if err := o.MarkStep(domain.StepInventory, domain.StepDone, t0.Add(time.Hour)); err != nil {
				return err
			}
			return errRefused
		})
		if !errors.Is(err, errRefused) {
			t.Fatalf("Update: err = %v, want fn's error", err)
		}
		if got := get(t, store, "o-1").State(); !reflect.DeepEqual(got, before) {
			t.Fatalf("failed update stored\n %+v\nwant\n %+v", got, before)
		}

		// A refusal of the domain is returned as it is.
		update(t, store, "o-1", func(o *domain.Order) error { return o.Fail(domain.ReasonOutOfStock, t0) })
		failed := get(t, store, "o-1").State()
		_, err = store.Update(ctx, "o-1", func(o *domain.Order) error { return completeWith(o, "OS1", t0) })
		if !errors.Is(err, domain.ErrFinal) || !errs.Is(err, errs.Conflict) {
			t.Fatalf("completing a failed order: err = %v, want ErrFinal conflict", err)
		}
		if got := get(t, store, "o-1").State(); !reflect.DeepEqual(got, failed) {
			t.Fatalf("refused update stored %+v", got)
		}
	})
}

func TestUpdateTx_RolledBack_StoresNothing(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		ctx := context.Background()
		create(t, store, "o-1", t0)
		before := get(t, store, "o-1").State()
		errAbort := errors.New("abort")
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			o, err := store.UpdateTx(ctx, tx, "o-1", func(o *domain.Order) error { return o.Fail(domain.ReasonOutOfStock, t0) })
			if err != nil {
				return err
			}
			if o.Status() != domain.StatusFailed {
				t.Errorf("UpdateTx returned status %s, want failed", o.Status())
			}
			if _, _, err := store.CreateTx(ctx, tx, newOrder(t, request("o-2"), t0)); err != nil {
				return err
			}
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatalf("InTx = %v, want the abort", err)
		}
		if got := get(t, store, "o-1").State(); !reflect.DeepEqual(got, before) {
			t.Fatalf("rolled-back update stored %+v", got)
		}
		if _, err := store.Get(ctx, "o-2"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("rolled-back create: err = %v, want not found", err)
		}
	})
}

func TestUpdate_ConcurrentChangesOfOneOrder_NoneIsLost(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		ids := []string{"o-1", "o-2", "o-3", "o-4"}
		for _, id := range ids {
			create(t, store, id, t0)
		}
		steps := []domain.StepName{domain.StepInventory, domain.StepPayment, domain.StepShipping}
		var wg sync.WaitGroup
		errList := make(chan error, len(ids)*len(steps))
		for _, id := range ids {
			for _, step := range steps {
				wg.Go(func() {
					_, err := store.Update(context.Background(), id, func(o *domain.Order) error {
						return o.MarkStep(step, domain.StepDone, t0.Add(time.Second))
					})
					errList <- err
				})
			}
		}
		wg.Wait()
		close(errList)
		for err := range errList {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range ids {
			for _, st := range get(t, store, id).State().Steps {
				if st.Status != domain.StepDone {
					t.Fatalf("order %s: step %s is %s, want done (an update was lost)", id, st.Step, st.Status)
				}
			}
		}
	})
}

func TestCreate_ConflictMessageNamesNoInternals(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		create(t, store, "o-1", t0)
		p := request("o-1")
		p.CustomerID = "c-2"
		_, _, err := store.Create(context.Background(), newOrder(t, p, t0))
		var e *errs.Error
		if !errors.As(err, &e) || strings.Contains(e.Message, "fingerprint") || strings.Contains(e.Message, "c-1") {
			t.Fatalf("conflict = %v", err)
		}
	})
}

func TestUpdate_RefusedStep_KeepsTheReasonTheServiceGave(t *testing.T) {
	eachDB(t, func(t *testing.T, _ *sqldb.DB, store *orders.Store) {
		create(t, store, "o-1", t0)
		update(t, store, "o-1", func(o *domain.Order) error {
			if err := o.MarkStep(domain.StepInventory, domain.StepDone, t0); err != nil {
				return err
			}
			return o.Refuse(domain.StepPayment, "card_expired", t0)
		})
		step, reason, ok := get(t, store, "o-1").Refusal()
		if !ok || step != domain.StepPayment || reason != "card_expired" {
			t.Fatalf("stored refusal = %s %q %v, want payment card_expired", step, reason, ok)
		}
	})
}
