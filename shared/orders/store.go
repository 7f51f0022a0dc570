package orders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// querier is a database or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Create stores a new order in its own transaction. See CreateTx.
func (s *Store) Create(ctx context.Context, o *domain.Order) (*domain.Order, bool, error) {
	var (
		stored  *domain.Order
		created bool
	)
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		stored, created, err = s.CreateTx(ctx, tx, o)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return stored, created, nil
}

// CreateTx stores a new order inside the caller's transaction and returns it
// with created=true. When an order with the same id exists and has the same
// request fingerprint, it returns the existing order with created=false and
// changes nothing; with another fingerprint, an errs.Conflict.
//
// The order returned is the order as stored (times at microsecond
// precision). Of concurrent creations of one order id exactly one creates
// it; the others see it as existing.
func (s *Store) CreateTx(ctx context.Context, tx *sqldb.Tx, o *domain.Order) (*domain.Order, bool, error) {
	if o == nil {
		return nil, false, errors.New("creating an order: no order given")
	}
	row, err := toRow(o.State())
	if err != nil {
		return nil, false, fmt.Errorf("creating order %s: %w", o.ID(), err)
	}
	stored, err := row.toOrder()
	if err != nil {
		return nil, false, fmt.Errorf("creating order %s: %w", o.ID(), err)
	}
	// On PostgreSQL a concurrent insert of the same id makes this one wait
	// for that transaction's outcome; on SQLite the transaction already
	// holds the write lock. Either way the loser inserts nothing.
	var id string
	err = tx.QueryRowContext(ctx, `
		INSERT INTO orders (`+orderColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
		ON CONFLICT (order_id) DO NOTHING
		RETURNING order_id`, row.values()...).Scan(&id)
	if err == nil {
		return stored, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, false, fmt.Errorf("creating order %s: %w", o.ID(), err)
	}
	existing, err := loadOrder(ctx, tx, o.ID(), false)
	if err != nil {
		return nil, false, fmt.Errorf("creating order %s: reading the order with its id: %w", o.ID(), err)
	}
	if existing.State().Fingerprint != row.fingerprint {
		return nil, false, errs.E(errs.Conflict, "order %s exists with a different request", o.ID())
	}
	return existing, false, nil
}

// Get returns one order. Errors: errs.NotFound.
func (s *Store) Get(ctx context.Context, id string) (*domain.Order, error) {
	o, err := loadOrder(ctx, s.reads, id, false)
	if err != nil {
		return nil, fmt.Errorf("reading order %s: %w", id, err)
	}
	return o, nil
}

// Update loads the order, applies fn and stores the result, in its own
// transaction. See UpdateTx.
func (s *Store) Update(ctx context.Context, id string, fn func(*domain.Order) error) (*domain.Order, error) {
	var updated *domain.Order
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		updated, err = s.UpdateTx(ctx, tx, id, fn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return updated, nil
}

// UpdateTx loads the order under a row lock inside the caller's transaction,
// applies fn and stores the result. When fn returns an error nothing is
// stored and the error is returned. Errors: errs.NotFound.
//
// fn may be called again when the caller's transaction is retried. When fn
// leaves the order as it was, nothing is written. Once the transaction
// commits, the store's Observer learns of the change, and WaitFinal calls
// waiting for the order in this process wake up when it made the order
// final.
func (s *Store) UpdateTx(ctx context.Context, tx *sqldb.Tx, id string, fn func(*domain.Order) error) (*domain.Order, error) {
	// PostgreSQL locks the row; a SQLite transaction holds the database's
	// write lock from its start.
	o, err := loadOrder(ctx, tx, id, tx.Dialect() == sqldb.Postgres)
	if err != nil {
		return nil, fmt.Errorf("updating order %s: %w", id, err)
	}
	prev := o.State()
	before, err := toRow(prev)
	if err != nil {
		return nil, fmt.Errorf("updating order %s: %w", id, err)
	}
	if err := fn(o); err != nil {
		return nil, err
	}
	after, err := toRow(o.State())
	if err != nil {
		return nil, fmt.Errorf("updating order %s: %w", id, err)
	}
	if after.orderID != id {
		return nil, fmt.Errorf("updating order %s: the update changed its id to %q", id, after.orderID)
	}
	updated, err := after.toOrder()
	if err != nil {
		return nil, fmt.Errorf("updating order %s: %w", id, err)
	}
	if after == before {
		return updated, nil
	}
	// What the domain lets change; the request (customer, lines, address,
	// fingerprint) and the creation time never do.
	res, err := tx.ExecContext(ctx, `
		UPDATE orders SET status = $2, failure_reason = $3, total_cents = $4, tracking_number = $5,
			cancel_requested = $6, prices = $7, steps = $8, updated_at = $9
		WHERE order_id = $1`,
		id, after.status, after.failureReason, after.totalCents, after.trackingNumber,
		after.cancelRequested, after.prices, after.steps, after.updatedAt)
	if err != nil {
		return nil, fmt.Errorf("updating order %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, fmt.Errorf("updating order %s: %w", id, err)
	}
	if n != 1 {
		return nil, fmt.Errorf("updating order %s: %d rows changed, want 1", id, n)
	}
	if updated.Status().Final() { // WaitFinal has nothing to see before
		tx.AfterCommit(func() { s.changes.wake(id) })
	}
	if obs := s.observer; obs != nil {
		next := updated.State()
		tx.AfterCommit(func() { obs.OrderChanged(prev, next) })
	}
	return updated, nil
}

// loadOrder reads one order, under a row lock when lock is true (PostgreSQL
// only). Errors: errs.NotFound.
func loadOrder(ctx context.Context, q querier, id string, lock bool) (*domain.Order, error) {
	query := `SELECT ` + orderColumns + ` FROM orders WHERE order_id = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	var row orderRow
	err := q.QueryRowContext(ctx, query, id).Scan(row.fields()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "order %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the order: %w", err)
	}
	return row.toOrder()
}
