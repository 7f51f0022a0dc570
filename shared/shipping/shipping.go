// Package shipping is the shipping service: shipments with tracking numbers
// to the countries it serves. It owns its own database (tables and
// migrations in migrations/).
//
// Saga step "shipping": Ship is the action and Cancel the compensation. Both
// are idempotent by order id and safe in any order of arrival: a Cancel
// before its Ship leaves a tombstone, and the late Ship becomes a no-op
// reporting domain.ErrCompensated.
package shipping

import (
	"context"
	"errors"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

var errUnimplemented = errors.New("unimplemented")

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
func (s Shipment) Err() error { return errUnimplemented }

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

// Service is the shipping service.
type Service struct {
	db     *sqldb.DB
	faults *faults.Injector
	now    func() time.Time
	served map[string]bool
}

// Migrations returns the shipping database's migrations.
func Migrations() sqldb.Migrations { return sqldb.Migrations{} }

// New returns the shipping service on db (already migrated). faults may be
// nil; now is the clock.
func New(db *sqldb.DB, cfg Config, f *faults.Injector, now func() time.Time) *Service {
	return &Service{db: db, faults: f, now: now}
}

// Serves reports whether the service ships to country.
func (s *Service) Serves(country string) bool { return s.served[country] }

// Ship creates the order's shipment with a tracking number, in its own
// transaction. See ShipTx.
func (s *Service) Ship(ctx context.Context, orderID string, to domain.Address) (Shipment, error) {
	return Shipment{}, errUnimplemented
}

// ShipTx is Ship inside the caller's transaction. A refusal is not an error:
// it is recorded (status Rejected) and returned. The returned error is only
// for faults. A repeated call returns the recorded outcome and changes
// nothing.
func (s *Service) ShipTx(ctx context.Context, tx *sqldb.Tx, orderID string, to domain.Address) (Shipment, error) {
	return Shipment{}, errUnimplemented
}

// Cancel cancels the order's shipment, in its own transaction. See CancelTx.
func (s *Service) Cancel(ctx context.Context, orderID string) (Shipment, error) {
	return Shipment{}, errUnimplemented
}

// CancelTx is Cancel inside the caller's transaction. Cancelling an order
// with no shipment leaves a tombstone (status Cancelled) so that a late Ship
// is a no-op; cancelling twice, or a rejected order, changes nothing.
func (s *Service) CancelTx(ctx context.Context, tx *sqldb.Tx, orderID string) (Shipment, error) {
	return Shipment{}, errUnimplemented
}

// Shipment returns the order's shipment. Errors: errs.NotFound.
func (s *Service) Shipment(ctx context.Context, orderID string) (Shipment, error) {
	return Shipment{}, errUnimplemented
}
