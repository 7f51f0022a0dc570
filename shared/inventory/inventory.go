// Package inventory is the inventory service: products with their price and
// stock, and the reservations the order saga makes against them. It owns its
// own database (tables and migrations in migrations/).
//
// Saga step "inventory": Reserve is the action, Release the compensation and
// Commit the completion. Every operation is idempotent by order id and safe
// in any order of arrival: a Release before its Reserve leaves a tombstone,
// and the late Reserve becomes a no-op reporting domain.ErrCompensated.
package inventory

import (
	"context"
	"errors"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

var errUnimplemented = errors.New("unimplemented")

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
func (r Reservation) Err() error { return errUnimplemented }

// Service is the inventory service.
type Service struct {
	db     *sqldb.DB
	faults *faults.Injector
	now    func() time.Time
}

// Migrations returns the inventory database's migrations.
func Migrations() sqldb.Migrations { return sqldb.Migrations{} }

// New returns the inventory service on db (already migrated). faults may be
// nil; now is the clock.
func New(db *sqldb.DB, f *faults.Injector, now func() time.Time) *Service {
	return &Service{db: db, faults: f, now: now}
}

// SetProduct creates or replaces a product and sets its on-hand stock.
// Errors: errs.Invalid for a bad sku, name, price or stock; errs.Conflict
// when the stock is below what orders have reserved.
func (s *Service) SetProduct(ctx context.Context, in ProductInput) (Product, error) {
	return Product{}, errUnimplemented
}

// Product returns one product. Errors: errs.NotFound.
func (s *Service) Product(ctx context.Context, sku string) (Product, error) {
	return Product{}, errUnimplemented
}

// Products returns every product, by sku.
func (s *Service) Products(ctx context.Context) ([]Product, error) {
	return nil, errUnimplemented
}

// Reserve holds every item of the order or none, pricing it from the
// catalog, in its own transaction. See ReserveTx.
func (s *Service) Reserve(ctx context.Context, orderID string, items []domain.Item) (Reservation, error) {
	return Reservation{}, errUnimplemented
}

// ReserveTx is Reserve inside the caller's transaction. A refusal is not an
// error: it is recorded (status Rejected) and returned, so the caller commits
// it. The returned error is only for faults (injected, database), after which
// the caller must roll back and may retry. A repeated call returns the
// recorded outcome and changes nothing.
func (s *Service) ReserveTx(ctx context.Context, tx *sqldb.Tx, orderID string, items []domain.Item) (Reservation, error) {
	return Reservation{}, errUnimplemented
}

// Release returns the order's held units to available stock, in its own
// transaction. See ReleaseTx.
func (s *Service) Release(ctx context.Context, orderID string) (Reservation, error) {
	return Reservation{}, errUnimplemented
}

// ReleaseTx is Release inside the caller's transaction. Releasing an order
// with no reservation leaves a tombstone (status Released) so that a late
// Reserve is a no-op; releasing twice, or a rejected order, changes nothing.
// Releasing a committed order is an errs.Conflict.
func (s *Service) ReleaseTx(ctx context.Context, tx *sqldb.Tx, orderID string) (Reservation, error) {
	return Reservation{}, errUnimplemented
}

// Commit removes the order's held units for good when the order completes,
// in its own transaction. See CommitTx.
func (s *Service) Commit(ctx context.Context, orderID string) (Reservation, error) {
	return Reservation{}, errUnimplemented
}

// CommitTx is Commit inside the caller's transaction. Committing twice
// changes nothing; committing an order that is not reserved is an
// errs.Conflict.
func (s *Service) CommitTx(ctx context.Context, tx *sqldb.Tx, orderID string) (Reservation, error) {
	return Reservation{}, errUnimplemented
}

// Reservation returns the order's reservation. Errors: errs.NotFound.
func (s *Service) Reservation(ctx context.Context, orderID string) (Reservation, error) {
	return Reservation{}, errUnimplemented
}
