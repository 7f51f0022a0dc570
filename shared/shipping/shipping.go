// Package shipping is the shipping service: shipments with tracking numbers
// to the countries it serves. It owns its own database (tables and
// migrations in migrations/).
//
// Saga step "shipping": Ship is the action and Cancel the compensation. Both
// are idempotent by order id and safe in any order of arrival: a Cancel
// before its Ship leaves a tombstone, and the late Ship becomes a no-op
// reporting domain.ErrCompensated.
//
// The rules live in small types: Coverage decides whether a country is
// served, and Shipment whether a cancel undoes anything (and what a
// tombstone means). The service reads the records, decides with them, and
// writes with conditional updates that guard against a concurrent writer.
//
// The first operation on an order id decides its record: a repeated Ship
// returns the recorded shipment (the same tracking number, or the same
// refusal) and concurrent Ships of one order create exactly one shipment.
//
// Fault injection: every saga operation (Ship, Cancel and their Tx forms)
// first asks the fault injector, which may add latency or fail the call with
// an errs.Unavailable error before anything changed. The forms that run
// their own transaction ask it a second time after the commit: a failure
// then stands for a lost reply (the effect happened, the caller sees
// errs.Unavailable and retries), which idempotency by order id absorbs.
package shipping

import (
	"fmt"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/sagametrics"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// ShipmentStatus is where one order's shipment stands.
type ShipmentStatus string

// Shipment statuses.
const (
	Created   ShipmentStatus = "created"   // a shipment with a tracking number exists
	Rejected  ShipmentStatus = "rejected"  // refused: the country is not served
	Cancelled ShipmentStatus = "cancelled" // compensated, or a tombstone left by an early cancel
)

// Shipment is the outcome of the saga's shipping step for one order.
type Shipment struct {
	OrderID        string
	Country        string
	TrackingNumber string // set when created
	Status         ShipmentStatus
	// Tombstone is true when a Cancel found no shipment to undo and recorded
	// its own: nothing was ever shipped for the order.
	Tombstone bool
	UpdatedAt time.Time
}

// Err returns the business outcome of a Ship as an error: nil when created,
// an error wrapping domain.ErrShippingUnavailable when rejected, and one
// wrapping domain.ErrCompensated when cancelled.
func (s Shipment) Err() error {
	switch s.Status {
	case Created:
		return nil
	case Rejected:
		return fmt.Errorf("shipping order %s to %q: %w", s.OrderID, s.Country, domain.ErrShippingUnavailable)
	case Cancelled:
		return fmt.Errorf("shipping order %s: its shipment is cancelled: %w", s.OrderID, domain.ErrCompensated)
	}
	return fmt.Errorf("shipping order %s: unknown shipment status %q", s.OrderID, s.Status)
}

// Config says which countries the service serves.
type Config struct {
	// Countries lists the ISO 3166-1 alpha-2 codes served. DefaultCountries
	// are always served and AQ never is, whatever this says.
	Countries []string
}

// DefaultCountries returns the countries always served.
func DefaultCountries() []string {
	return []string{"US", "CA", "GB", "DE", "FR", "NL", "JP", "AU"}
}

// neverServed is the country no configuration can make the service serve.
const neverServed = "AQ"

// Service is the shipping service.
type Service struct {
	db       *sqldb.DB
	faults   *faults.Injector
	now      func() time.Time
	coverage Coverage           // the countries served
	steps    *sagametrics.Steps // times Ship and Cancel; nil for none
}

// New returns the shipping service on db (already migrated). faults may be
// nil; now is the clock.
func New(db *sqldb.DB, cfg Config, f *faults.Injector, now func() time.Time) *Service {
	return &Service{db: db, faults: f, now: now, coverage: cfg.Coverage()}
}

// SetStepMetrics makes the service time each run of the shipping step's
// action (Ship) and compensation (Cancel) with m (nil: not at all). Call it
// before the service is used.
func (s *Service) SetStepMetrics(m *sagametrics.Steps) { s.steps = m }

// undid reports whether a Cancel cancelled a shipment.
func (s Shipment) undid() bool { return s.Status == Cancelled && !s.Tombstone }

// Serves reports whether the service ships to country.
func (s *Service) Serves(country string) bool { return s.coverage.Serves(country) }

// cancelTombstone returns the record a Cancel leaves for an order that has
// no shipment: nothing was ever shipped, and a late Ship finds the order
// compensated (its Err wraps domain.ErrCompensated) and ships nothing.
func cancelTombstone(orderID string, at time.Time) Shipment {
	return Shipment{OrderID: orderID, Status: Cancelled, Tombstone: true, UpdatedAt: at}
}

// cancel returns the shipment once cancelled at at, and whether that moves
// it: only a created shipment is cancelled, and keeps its tracking number.
// A shipment cancelled before (or a tombstone) or rejected stays as it is,
// with nothing to undo.
func (s Shipment) cancel(at time.Time) (Shipment, bool, error) {
	switch s.Status {
	case Created:
		s.Status, s.UpdatedAt = Cancelled, at
		return s, true, nil
	case Cancelled, Rejected:
		return s, false, nil
	}
	return s, false, fmt.Errorf("cancelling the shipment of order %s: unknown shipment status %q", s.OrderID, s.Status)
}
