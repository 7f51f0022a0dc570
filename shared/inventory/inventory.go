// Package inventory is the inventory service: products with their price and
// stock, and the reservations the order saga makes against them. It owns its
// own database (tables and migrations in migrations/).
//
// Saga step "inventory": Reserve is the action, Release the compensation and
// Commit the completion. Every operation is idempotent by order id and safe
// in any order of arrival: a Release before its Reserve leaves a tombstone,
// and the late Reserve becomes a no-op reporting domain.ErrCompensated.
//
// Stock moves with conditional updates (available never drops below zero,
// whatever the concurrency), touching products in sku order so concurrent
// orders cannot deadlock.
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
