// Package inventory is the inventory service: products with their price and
// stock, and the reservations the order saga makes against them. It owns its
// own database (tables and migrations in migrations/).
//
// Saga step "inventory": Reserve is the action, Release the compensation and
// Commit the completion. Every operation is idempotent by order id and safe
// in any order of arrival: a Release before its Reserve leaves a tombstone,
// and the late Reserve becomes a no-op reporting domain.ErrCompensated.
//
// The rules live in small types: Stock decides whether a product has the
// units an order asks for, and Reservation which moves its status allows
// (and what a tombstone means). The service reads the records, decides with
// them, and writes with conditional updates that guard against a concurrent
// writer (available never drops below zero, whatever the concurrency),
// touching products in sku order so concurrent orders cannot deadlock.
//
// Fault injection: every saga operation (Reserve, Release, Commit and their
// Tx forms) first asks the fault injector, which may add latency or fail the
// call with an errs.Unavailable error before anything changed. The forms
// that run their own transaction ask it a second time after the commit: a
// failure then stands for a lost reply (the effect happened, the caller sees
// errs.Unavailable and retries), which idempotency by order id absorbs.
package inventory

import (
	"fmt"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/sagametrics"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Product is a product of the catalog with its stock.
type Product struct {
	SKU        string
	Name       string
	PriceCents domain.Cents
	Available  int64 // on hand and free
	Reserved   int64 // held by orders in flight
}

// ProductInput sets a product: its name, price and on-hand stock (available
// plus reserved).
type ProductInput struct {
	SKU        string
	Name       string
	PriceCents domain.Cents
	Stock      int64
}

// ReservationStatus is where one order's reservation stands.
type ReservationStatus string

// Reservation statuses.
const (
	Reserved  ReservationStatus = "reserved"  // units held for the order
	Rejected  ReservationStatus = "rejected"  // refused: out of stock; nothing held
	Released  ReservationStatus = "released"  // compensated, or a tombstone left by an early release
	Committed ReservationStatus = "committed" // the order completed: the units left for good
)

// Reservation is the outcome of the saga's inventory step for one order.
type Reservation struct {
	OrderID    string
	Status     ReservationStatus
	Items      []domain.PricedItem // priced lines; empty when rejected or a tombstone
	TotalCents domain.Cents
	// Tombstone is true when a Release found no reservation to undo and
	// recorded its own: nothing was ever held for the order.
	Tombstone bool
	UpdatedAt time.Time
}

// Err returns the business outcome of a Reserve as an error: nil when the
// units are held (or committed), an error wrapping domain.ErrOutOfStock when
// rejected, and one wrapping domain.ErrCompensated when released.
func (r Reservation) Err() error {
	switch r.Status {
	case Reserved, Committed:
		return nil
	case Rejected:
		return fmt.Errorf("reserving order %s: %w", r.OrderID, domain.ErrOutOfStock)
	case Released:
		return fmt.Errorf("reserving order %s: its reservation was released: %w", r.OrderID, domain.ErrCompensated)
	}
	return fmt.Errorf("reserving order %s: unknown reservation status %q", r.OrderID, r.Status)
}

// Service is the inventory service.
type Service struct {
	db     *sqldb.DB
	faults *faults.Injector
	now    func() time.Time
	steps  *sagametrics.Steps // times Reserve and Release; nil for none
}

// New returns the inventory service on db (already migrated). faults may be
// nil; now is the clock.
func New(db *sqldb.DB, f *faults.Injector, now func() time.Time) *Service {
	return &Service{db: db, faults: f, now: now}
}

// SetStepMetrics makes the service time each run of the inventory step's
// action (Reserve) and compensation (Release) with m (nil: not at all).
// Call it before the service is used.
func (s *Service) SetStepMetrics(m *sagametrics.Steps) { s.steps = m }

// undid reports whether a Release undid a reservation.
func (r Reservation) undid() bool { return r.Status == Released && !r.Tombstone }

// releaseTombstone returns the record a Release leaves for an order that has
// no reservation: nothing was ever held, and a late Reserve finds the order
// compensated (its Err wraps domain.ErrCompensated) and holds nothing.
func releaseTombstone(orderID string, at time.Time) Reservation {
	return Reservation{OrderID: orderID, Status: Released, Tombstone: true, UpdatedAt: at}
}

// release returns the reservation once released at at, and whether that
// moves it: only a reserved order's units go back to stock. A reservation
// released before (or a tombstone) or rejected stays as it is, with nothing
// held; a committed one cannot be released, its units having left: an
// errs.Conflict error.
func (r Reservation) release(at time.Time) (Reservation, bool, error) {
	switch r.Status {
	case Reserved:
		r.Status, r.UpdatedAt = Released, at
		return r, true, nil
	case Released, Rejected:
		return r, false, nil
	case Committed:
		return r, false, errs.E(errs.Conflict, "order %s is committed: its units left the warehouse", r.OrderID)
	}
	return r, false, fmt.Errorf("releasing order %s: unknown reservation status %q", r.OrderID, r.Status)
}

// commit returns the reservation once committed at at, and whether that
// moves it: only a reserved order's units leave the stock for good.
// Committing again changes nothing; a rejected or released reservation
// cannot be committed: an errs.Conflict error.
func (r Reservation) commit(at time.Time) (Reservation, bool, error) {
	switch r.Status {
	case Reserved:
		r.Status, r.UpdatedAt = Committed, at
		return r, true, nil
	case Committed:
		return r, false, nil
	case Rejected, Released:
		return r, false, errs.E(errs.Conflict, "order %s cannot be committed: its reservation is %s", r.OrderID, r.Status)
	}
	return r, false, fmt.Errorf("committing order %s: unknown reservation status %q", r.OrderID, r.Status)
}
