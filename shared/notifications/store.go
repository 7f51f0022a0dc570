package notifications

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/ordersaga/ordersaga/shared/listcursor"
	"strconv"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// MaxListLimit is the largest page List returns.
const MaxListLimit = 200

// defaultListLimit is the page size when a filter gives none.
const defaultListLimit = 50

// Filter selects a page of one customer's notifications.
type Filter struct {
	CustomerID string // required
	Limit      int    // 1 to MaxListLimit; 0 means 50
	Cursor     string // from the previous Page; "" for the first page
}

// Page is one page of a customer's notifications, newest first.
type Page struct {
	Notifications []Notification
	NextCursor    string // "" on the last page
}

// Store is the notification database. It is safe for concurrent use.
type Store struct {
	db  *sqldb.DB
	now func() time.Time
}

// NewStore returns the store on db (migrated with Migrations); now is the
// clock (time.Now when nil).
func NewStore(db *sqldb.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

// DB returns the store's database, for callers that record a notification
// in a transaction of their own (RecordTx).
func (s *Store) DB() *sqldb.DB { return s.db }

// Record stores n unless its order already has a notification, and
// reports whether it did: a customer is notified once per order, however
// often the ending is reported.
func (s *Store) Record(ctx context.Context, n Notification) (bool, error) {
	var stored bool
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		stored, err = s.RecordTx(ctx, tx, n)
		return err
	})
	return stored, err
}

// RecordTx is Record in the caller's transaction.
func (s *Store) RecordTx(ctx context.Context, tx *sqldb.Tx, n Notification) (bool, error) {
	res, err := tx.ExecContext(ctx, `
		INSERT INTO notifications (order_id, customer_id, status, reason, tracking_number, total_cents, message, ended_at, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (order_id) DO NOTHING`,
		n.OrderID, n.CustomerID, string(n.Status), string(n.Reason), n.TrackingNumber, int64(n.TotalCents), n.Message,
		n.EndedAt.UnixMicro(), s.now().UnixMicro())
	if err != nil {
		return false, fmt.Errorf("recording the notification of order %s: %w", n.OrderID, err)
	}
	rows, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("recording the notification of order %s: %w", n.OrderID, err)
	}
	return rows == 1, nil
}

// RememberCustomerTx records whose order orderID is, for a notifier that
// learns it before the order ends; a second call for the same order
// changes nothing.
func (s *Store) RememberCustomerTx(ctx context.Context, tx *sqldb.Tx, orderID, customerID string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO order_customers (order_id, customer_id) VALUES ($1, $2) ON CONFLICT (order_id) DO NOTHING`,
		orderID, customerID)
	if err != nil {
		return fmt.Errorf("remembering the customer of order %s: %w", orderID, err)
	}
	return nil
}

// CustomerOfTx returns the customer RememberCustomerTx recorded for
// orderID. Errors: errs.NotFound when none was.
func (s *Store) CustomerOfTx(ctx context.Context, tx *sqldb.Tx, orderID string) (string, error) {
	var id string
	err := tx.QueryRowContext(ctx, `SELECT customer_id FROM order_customers WHERE order_id = $1`, orderID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.E(errs.NotFound, "the customer of order %s is not known", orderID)
	}
	if err != nil {
		return "", fmt.Errorf("reading the customer of order %s: %w", orderID, err)
	}
	return id, nil
}

// columns are the columns scan reads, in its order.
const columns = `order_id, customer_id, status, reason, tracking_number, total_cents, message, ended_at, recorded_at`

// scanner is a row or rows.
type scanner interface{ Scan(dest ...any) error }

func scan(r scanner) (Notification, error) {
	var (
		n                 Notification
		status, reason    string
		total             int64
		ended, recordedAt int64
	)
	if err := r.Scan(&n.OrderID, &n.CustomerID, &status, &reason, &n.TrackingNumber, &total, &n.Message, &ended, &recordedAt); err != nil {
		return Notification{}, err
	}
	n.Status, n.Reason, n.TotalCents = domain.Status(status), domain.FailureReason(reason), domain.Cents(total)
	n.EndedAt, n.RecordedAt = time.UnixMicro(ended).UTC(), time.UnixMicro(recordedAt).UTC()
	return n, nil
}

// Get returns the notification of one order. Errors: errs.NotFound.
func (s *Store) Get(ctx context.Context, orderID string) (Notification, error) {
	n, err := scan(s.db.QueryRowContext(ctx, `SELECT `+columns+` FROM notifications WHERE order_id = $1`, orderID))
	if errors.Is(err, sql.ErrNoRows) {
		return Notification{}, errs.E(errs.NotFound, "order %s has no notification", orderID)
	}
	if err != nil {
		return Notification{}, fmt.Errorf("reading the notification of order %s: %w", orderID, err)
	}
	return n, nil
}

// List returns a page of one customer's notifications, newest first (by
// the time the order ended, then order id). Errors: errs.Invalid naming
// the limit or cursor field.
func (s *Store) List(ctx context.Context, f Filter) (Page, error) {
	limit, after, err := f.check()
	if err != nil {
		return Page{}, err
	}
	args := []any{f.CustomerID}
	query := `SELECT ` + columns + ` FROM notifications WHERE customer_id = $1`
	if after != nil {
		args = append(args, after.At, after.ID)
		query += ` AND (ended_at, order_id) < ($2, $3)`
	}
	args = append(args, limit+1)
	query += ` ORDER BY ended_at DESC, order_id DESC LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return Page{}, fmt.Errorf("listing the notifications of customer %s: %w", f.CustomerID, err)
	}
	defer rows.Close()
	var page Page
	for rows.Next() {
		if len(page.Notifications) == limit {
			last := page.Notifications[limit-1]
			page.NextCursor = listcursor.Encode(listcursor.Position{At: last.EndedAt.UnixMicro(), ID: last.OrderID})
			break
		}
		n, err := scan(rows)
		if err != nil {
			return Page{}, fmt.Errorf("listing the notifications of customer %s: %w", f.CustomerID, err)
		}
		page.Notifications = append(page.Notifications, n)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("listing the notifications of customer %s: %w", f.CustomerID, err)
	}
	return page, nil
}

// All returns every notification, by order id: the projection as a whole,
// to compare a rebuilt one with the live one.
func (s *Store) All(ctx context.Context) ([]Notification, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+columns+` FROM notifications ORDER BY order_id`)
	if err != nil {
		return nil, fmt.Errorf("reading every notification: %w", err)
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		n, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("reading every notification: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading every notification: %w", err)
	}
	return out, nil
}

// Count returns how many notifications are stored.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications`).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting notifications: %w", err)
	}
	return n, nil
}

// ResetTx deletes every notification and every remembered customer, in
// the caller's transaction: the start of a rebuild.
func (s *Store) ResetTx(ctx context.Context, tx *sqldb.Tx) error {
	for _, table := range []string{"notifications", "order_customers"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
			return fmt.Errorf("emptying %s: %w", table, err)
		}
	}
	return nil
}

// check validates the filter and returns its page size and the position
// after which the page starts (nil for the first page).
func (f Filter) check() (limit int, after *listcursor.Position, err error) {
	var fields []errs.FieldError
	add := func(field, msg string) { fields = append(fields, errs.FieldError{Field: field, Message: msg}) }
	if !domain.ValidID(f.CustomerID) {
		add("id", "must be a customer id")
	}
	limit = f.Limit
	switch {
	case limit == 0:
		limit = defaultListLimit
	case limit < 1 || limit > MaxListLimit:
		add("limit", fmt.Sprintf("must be from 1 to %d", MaxListLimit))
	}
	if f.Cursor != "" {
		if c, ok := listcursor.Decode(f.Cursor); ok {
			after = &c
		} else {
			add("cursor", "is not a cursor this server issued")
		}
	}
	if len(fields) > 0 {
		return 0, nil, errs.InvalidFields(fields)
	}
	return limit, after, nil
}
