// Package orders is the order service's store: every order as the client
// sees it (status, steps, prices, tracking number), in the order service's
// own database (tables and migrations in migrations/). Both saga variants
// keep it up to date as their saga runs; the REST API reads from it.
package orders

import (
	"context"
	"errors"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

var errUnimplemented = errors.New("unimplemented")

// MaxListLimit bounds the page size of List.
const MaxListLimit = 200

// Filter selects a page of orders for List.
type Filter struct {
	Status domain.Status // "" for every status
	Limit  int           // 1 to MaxListLimit; 0 means 50
	Cursor string        // from the previous Page; "" for the first page
}

// Page is one page of orders, newest first.
type Page struct {
	Orders     []*domain.Order
	NextCursor string // "" on the last page
}

// Store is the order store. It is safe for concurrent use.
type Store struct {
	db  *sqldb.DB
	now func() time.Time
}

// Migrations returns the order database's migrations.
func Migrations() sqldb.Migrations { return sqldb.Migrations{} }

// New returns the store on db (already migrated); now is the clock.
func New(db *sqldb.DB, now func() time.Time) *Store {
	return &Store{db: db, now: now}
}

// DB returns the store's database, for callers that write other tables
// (an outbox) in the same transaction as an order.
func (s *Store) DB() *sqldb.DB { return s.db }

// Create stores a new order in its own transaction. See CreateTx.
func (s *Store) Create(ctx context.Context, o *domain.Order) (*domain.Order, bool, error) {
	return nil, false, errUnimplemented
}

// CreateTx stores a new order inside the caller's transaction and returns it
// with created=true. When an order with the same id exists and has the same
// request fingerprint, it returns the existing order with created=false and
// changes nothing; with another fingerprint, an errs.Conflict.
func (s *Store) CreateTx(ctx context.Context, tx *sqldb.Tx, o *domain.Order) (*domain.Order, bool, error) {
	return nil, false, errUnimplemented
}

// Get returns one order. Errors: errs.NotFound.
func (s *Store) Get(ctx context.Context, id string) (*domain.Order, error) {
	return nil, errUnimplemented
}

// List returns a page of orders, newest first. Errors: errs.Invalid for a
// bad cursor, limit or status.
func (s *Store) List(ctx context.Context, f Filter) (Page, error) {
	return Page{}, errUnimplemented
}

// Update loads the order, applies fn and stores the result, in its own
// transaction. See UpdateTx.
func (s *Store) Update(ctx context.Context, id string, fn func(*domain.Order) error) (*domain.Order, error) {
	return nil, errUnimplemented
}

// UpdateTx loads the order under a row lock inside the caller's transaction,
// applies fn and stores the result. When fn returns an error nothing is
// stored and the error is returned. Errors: errs.NotFound.
func (s *Store) UpdateTx(ctx context.Context, tx *sqldb.Tx, id string, fn func(*domain.Order) error) (*domain.Order, error) {
	return nil, errUnimplemented
}

// WaitFinal returns the order once its status is final, or the order as it
// is when ctx ends (with no error). Changes stored through this Store wake
// it at once; it also polls, for changes made by another process.
func (s *Store) WaitFinal(ctx context.Context, id string) (*domain.Order, error) {
	return nil, errUnimplemented
}
