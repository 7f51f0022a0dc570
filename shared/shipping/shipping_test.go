package shipping_test

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/shipping"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

var trackingPattern = regexp.MustCompile(`^OS[A-Z2-7]{12}$`)

func TestNew_ServesDefaultsAndConfiguredCountriesButNeverAQ(t *testing.T) {
	svc := shipping.New(nil, shipping.Config{Countries: []string{"AQ", " ch ", "BR", ""}}, nil, testTime)
	for _, c := range shipping.DefaultCountries() {
		if !svc.Serves(c) {
			t.Errorf("default country %s not served", c)
		}
	}
	for _, c := range []string{"CH", "BR"} {
		if !svc.Serves(c) {
			t.Errorf("configured country %s not served", c)
		}
	}
	for _, c := range []string{"AQ", "IT", "", "de"} {
		if svc.Serves(c) {
			t.Errorf("%q served", c)
		}
	}
	plain := shipping.New(nil, shipping.Config{}, nil, testTime)
	if plain.Serves("CH") {
		t.Error("CH served without being configured")
	}
	if !plain.Serves("US") {
		t.Error("US not served without configuration")
	}
}

func TestShip_ServedCountry_CreatesShipmentWithTrackingNumber(t *testing.T) {
	cfg := shipping.Config{Countries: []string{"CH"}}
	eachDB(t, cfg, nil, func(t *testing.T, db *sqldb.DB, svc *shipping.Service) {
		seen := map[string]bool{}
		for i, country := range append(shipping.DefaultCountries(), "CH") {
			id := "o-" + country
			sh := ship(t, svc, id, country)
			if sh.Status != shipping.Created || sh.Err() != nil || sh.Tombstone {
				t.Fatalf("shipment %d to %s = %+v (err %v), want created", i, country, sh, sh.Err())
			}
			if !trackingPattern.MatchString(sh.TrackingNumber) {
				t.Fatalf("tracking number %q does not look like OS + 12 base32 characters", sh.TrackingNumber)
			}
			if seen[sh.TrackingNumber] {
				t.Fatalf("tracking number %s handed out twice", sh.TrackingNumber)
			}
			seen[sh.TrackingNumber] = true
			want := shipping.Shipment{OrderID: id, Country: country, TrackingNumber: sh.TrackingNumber,
				Status: shipping.Created, UpdatedAt: testTime().Truncate(time.Microsecond)}
			if got := stored(t, svc, id); got != want {
				t.Fatalf("stored %+v, want %+v", got, want)
			}
			if got := sh; got != want {
				t.Fatalf("returned %+v, want %+v", got, want)
			}
		}
	})
}

func TestShip_UnservedCountry_RecordsRejection(t *testing.T) {
	cfg := shipping.Config{Countries: []string{"AQ"}} // AQ is never served, whatever the config
	eachDB(t, cfg, nil, func(t *testing.T, db *sqldb.DB, svc *shipping.Service) {
		for _, country := range []string{"AQ", "IT"} {
			id := "o-" + country
			sh := ship(t, svc, id, country)
			if sh.Status != shipping.Rejected || sh.TrackingNumber != "" {
				t.Fatalf("shipment to %s = %+v, want rejected without tracking number", country, sh)
			}
			if err := sh.Err(); !errors.Is(err, domain.ErrShippingUnavailable) {
				t.Fatalf("Err() = %v, want ErrShippingUnavailable", err)
			}
			if r, ok := domain.ReasonOf(sh.Err()); !ok || r != domain.ReasonShippingUnavailable {
				t.Fatalf("ReasonOf(Err()) = %q %v", r, ok)
			}
			if got := stored(t, svc, id); got != sh {
				t.Fatalf("stored %+v, want %+v", got, sh)
			}
			if again := ship(t, svc, id, "DE"); again != sh {
				t.Fatalf("repeated ship (to a served country) = %+v, want the recorded refusal %+v", again, sh)
			}
		}
	})
}

func TestShip_Repeated_ReturnsSameTrackingNumber(t *testing.T) {
	eachDB(t, shipping.Config{}, nil, func(t *testing.T, db *sqldb.DB, svc *shipping.Service) {
		first := ship(t, svc, "o-1", "DE")
		for range 3 {
			if again := ship(t, svc, "o-1", "DE"); again != first {
				t.Fatalf("repeated ship = %+v, want %+v", again, first)
			}
		}
		if n := countShipments(t, db); n != 1 {
			t.Fatalf("%d shipments recorded, want 1", n)
		}
	})
}

func TestCancel_CreatedShipment_CancelsAndKeepsTrackingNumber(t *testing.T) {
	eachDB(t, shipping.Config{}, nil, func(t *testing.T, db *sqldb.DB, svc *shipping.Service) {
		created := ship(t, svc, "o-1", "FR")
		sh := cancel(t, svc, "o-1")
		if sh.Status != shipping.Cancelled || sh.Tombstone || sh.TrackingNumber != created.TrackingNumber || sh.Country != "FR" {
			t.Fatalf("cancelled shipment = %+v, want cancelled with tracking number %s", sh, created.TrackingNumber)
		}
		if got := stored(t, svc, "o-1"); got != sh {
			t.Fatalf("stored %+v, want %+v", got, sh)
		}
		// A Ship after the compensation is a no-op reporting it.
		late := ship(t, svc, "o-1", "FR")
		if late != sh || !errors.Is(late.Err(), domain.ErrCompensated) {
			t.Fatalf("ship after cancel = %+v (err %v), want the cancelled record and ErrCompensated", late, late.Err())
		}
	})
}

func TestCancel_Twice_ChangesNothing(t *testing.T) {
	eachDB(t, shipping.Config{}, nil, func(t *testing.T, db *sqldb.DB, svc *shipping.Service) {
		ship(t, svc, "o-1", "GB")
		first := cancel(t, svc, "o-1")
		if second := cancel(t, svc, "o-1"); second != first {
			t.Fatalf("second cancel = %+v, want %+v", second, first)
		}
		if got := stored(t, svc, "o-1"); got != first {
			t.Fatalf("stored %+v, want %+v", got, first)
		}
	})
}

func TestCancel_BeforeShip_LeavesTombstoneAndLateShipIsNoop(t *testing.T) {
	eachDB(t, shipping.Config{}, nil, func(t *testing.T, db *sqldb.DB, svc *shipping.Service) {
		tomb := cancel(t, svc, "o-1")
		if tomb.Status != shipping.Cancelled || !tomb.Tombstone || tomb.TrackingNumber != "" {
			t.Fatalf("early cancel = %+v, want a tombstone", tomb)
		}
		late := ship(t, svc, "o-1", "DE")
		if late != tomb {
			t.Fatalf("late ship = %+v, want the tombstone %+v", late, tomb)
		}
		if !errors.Is(late.Err(), domain.ErrCompensated) {
			t.Fatalf("late ship Err() = %v, want ErrCompensated", late.Err())
		}
		if again := cancel(t, svc, "o-1"); again != tomb {
			t.Fatalf("cancel after tombstone = %+v, want %+v", again, tomb)
		}
		if n := countShipments(t, db); n != 1 {
			t.Fatalf("%d shipments recorded, want 1", n)
		}
	})
}

func TestCancel_RejectedShipment_ChangesNothing(t *testing.T) {
	eachDB(t, shipping.Config{}, nil, func(t *testing.T, db *sqldb.DB, svc *shipping.Service) {
		rejected := ship(t, svc, "o-1", "AQ")
		if sh := cancel(t, svc, "o-1"); sh != rejected {
			t.Fatalf("cancel of a rejected shipment = %+v, want it unchanged %+v", sh, rejected)
		}
		if got := stored(t, svc, "o-1"); got != rejected {
			t.Fatalf("stored %+v, want %+v", got, rejected)
		}
	})
}

func TestShipTx_RolledBack_LeavesNothing(t *testing.T) {
	eachDB(t, shipping.Config{}, nil, func(t *testing.T, db *sqldb.DB, svc *shipping.Service) {
		ctx := context.Background()
		errAbort := errors.New("abort")
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			sh, err := svc.ShipTx(ctx, tx, "o-1", address("DE"))
			if err != nil {
				return err
			}
			if sh.Status != shipping.Created {
				t.Errorf("ShipTx = %+v, want created", sh)
			}
			if _, err := svc.CancelTx(ctx, tx, "o-2"); err != nil {
				return err
			}
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatalf("InTx = %v, want the abort", err)
		}
		for _, id := range []string{"o-1", "o-2"} {
			if _, err := svc.Shipment(ctx, id); !errs.Is(err, errs.NotFound) {
				t.Fatalf("shipment of %s after rollback: err = %v, want not found", id, err)
			}
		}
		// The order can still ship afterwards.
		if sh := ship(t, svc, "o-1", "DE"); sh.Status != shipping.Created {
			t.Fatalf("ship after rollback = %+v, want created", sh)
		}
	})
}

func TestShip_Concurrent_CreatesExactlyOneShipment(t *testing.T) {
	eachDB(t, shipping.Config{}, nil, func(t *testing.T, db *sqldb.DB, svc *shipping.Service) {
		const callers = 8
		var (
			wg      sync.WaitGroup
			results = make([]shipping.Shipment, callers)
			errList = make([]error, callers)
		)
		for i := range callers {
			wg.Go(func() {
				results[i], errList[i] = svc.Ship(context.Background(), "o-race", address("NL"))
			})
		}
		wg.Wait()
		for i := range callers {
			if errList[i] != nil {
				t.Fatalf("caller %d: %v", i, errList[i])
			}
			if results[i] != results[0] || results[i].Status != shipping.Created {
				t.Fatalf("caller %d got %+v, caller 0 got %+v; want one created shipment", i, results[i], results[0])
			}
		}
		if n := countShipments(t, db); n != 1 {
			t.Fatalf("%d shipments recorded, want 1", n)
		}
		if got := stored(t, svc, "o-race"); got != results[0] {
			t.Fatalf("stored %+v, want %+v", got, results[0])
		}
	})
}

func TestShipAndCancel_InjectedFault_FailUnavailableBeforeChangingAnything(t *testing.T) {
	var in *faults.Injector
	always := func() *faults.Injector {
		in = faults.New("shipping", 1)
		if err := in.Set(faults.Setting{ErrorRate: 1}); err != nil {
			t.Fatal(err)
		}
		return in
	}
	eachDB(t, shipping.Config{}, always, func(t *testing.T, db *sqldb.DB, svc *shipping.Service) {
		ctx := context.Background()
		if _, err := svc.Ship(ctx, "o-1", address("DE")); !errs.Is(err, errs.Unavailable) || !errors.Is(err, faults.ErrInjected) {
			t.Fatalf("Ship: err = %v, want an injected unavailable", err)
		}
		if _, err := svc.Cancel(ctx, "o-2"); !errs.Is(err, errs.Unavailable) {
			t.Fatalf("Cancel: err = %v, want unavailable", err)
		}
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			_, err := svc.ShipTx(ctx, tx, "o-3", address("DE"))
			return err
		})
		if !errs.Is(err, errs.Unavailable) {
			t.Fatalf("ShipTx: err = %v, want unavailable", err)
		}
		if n := countShipments(t, db); n != 0 {
			t.Fatalf("%d shipments recorded after failed calls, want 0", n)
		}
		// Once the faults stop, the same calls succeed.
		if err := in.Set(faults.Setting{}); err != nil {
			t.Fatal(err)
		}
		if sh := ship(t, svc, "o-1", "DE"); sh.Status != shipping.Created {
			t.Fatalf("ship after faults = %+v", sh)
		}
	})
}

func TestShip_RetriedThroughLostReplies_EndsWithOneShipment(t *testing.T) {
	half := func() *faults.Injector {
		in := faults.New("shipping", 7)
		if err := in.Set(faults.Setting{ErrorRate: 0.5}); err != nil {
			t.Fatal(err)
		}
		return in
	}
	eachDB(t, shipping.Config{}, half, func(t *testing.T, db *sqldb.DB, svc *shipping.Service) {
		ctx := context.Background()
		retry := func(op func() (shipping.Shipment, error)) shipping.Shipment {
			t.Helper()
			for range 200 {
				sh, err := op()
				if err == nil {
					return sh
				}
				if !errs.Is(err, errs.Unavailable) {
					t.Fatalf("a fault that is not unavailable: %v", err)
				}
			}
			t.Fatal("no call succeeded in 200 attempts")
			return shipping.Shipment{}
		}
		for _, id := range []string{"o-1", "o-2", "o-3", "o-4", "o-5"} {
			sh := retry(func() (shipping.Shipment, error) { return svc.Ship(ctx, id, address("JP")) })
			if got := stored(t, svc, id); got != sh || sh.Status != shipping.Created {
				t.Fatalf("order %s: retried ship returned %+v, stored %+v", id, sh, got)
			}
			c := retry(func() (shipping.Shipment, error) { return svc.Cancel(ctx, id) })
			if c.Status != shipping.Cancelled || c.Tombstone || c.TrackingNumber != sh.TrackingNumber {
				t.Fatalf("order %s: retried cancel returned %+v", id, c)
			}
		}
		if n := countShipments(t, db); n != 5 {
			t.Fatalf("%d shipments recorded, want 5", n)
		}
	})
}

func TestShipment_UnknownOrBadOrderID(t *testing.T) {
	eachDB(t, shipping.Config{}, nil, func(t *testing.T, db *sqldb.DB, svc *shipping.Service) {
		ctx := context.Background()
		if _, err := svc.Shipment(ctx, "nope"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("unknown order: err = %v, want not found", err)
		}
		if _, err := svc.Ship(ctx, "", address("DE")); !errs.Is(err, errs.Invalid) {
			t.Fatalf("ship with empty order id: err = %v, want invalid", err)
		}
		if _, err := svc.Cancel(ctx, "bad id!"); !errs.Is(err, errs.Invalid) {
			t.Fatalf("cancel with bad order id: err = %v, want invalid", err)
		}
		if n := countShipments(t, db); n != 0 {
			t.Fatalf("%d shipments recorded, want 0", n)
		}
	})
}

func TestShipmentErr_UnknownStatusIsAnError(t *testing.T) {
	if err := (shipping.Shipment{OrderID: "o-1"}).Err(); err == nil ||
		errors.Is(err, domain.ErrCompensated) || errors.Is(err, domain.ErrShippingUnavailable) {
		t.Fatalf("Err() of a zero shipment = %v, want a plain error", err)
	}
}
