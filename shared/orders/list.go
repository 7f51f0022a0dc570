package orders

import (
	"context"
	"fmt"
	"github.com/ordersaga/ordersaga/shared/listcursor"
	"strconv"
	"strings"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
)

// List returns a page of orders, newest first, of one status and one
// customer when the filter names them. Errors: errs.Invalid for a bad
// cursor, limit or status.
//
// Orders are ordered by creation time, then by order id, both descending.
// The cursor names the last order of a page, so the next page starts right
// after it whatever was created in between.
func (s *Store) List(ctx context.Context, f Filter) (Page, error) {
	limit, after, err := f.check()
	if err != nil {
		return Page{}, err
	}
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Status != "" {
		where = append(where, "status = "+arg(string(f.Status)))
	}
	if f.CustomerID != "" {
		where = append(where, "customer_id = "+arg(f.CustomerID))
	}
	if after != nil {
		where = append(where, "(created_at, order_id) < ("+arg(after.At)+", "+arg(after.ID)+")")
	}
	query := `SELECT ` + orderColumns + ` FROM orders`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY created_at DESC, order_id DESC LIMIT ` + arg(limit+1)

	rows, err := s.reads.QueryContext(ctx, query, args...)
	if err != nil {
		return Page{}, fmt.Errorf("listing orders: %w", err)
	}
	defer rows.Close()
	var (
		page Page
		last orderRow
	)
	for rows.Next() {
		if len(page.Orders) == limit { // one more exists: there is a next page
			page.NextCursor = listcursor.Encode(listcursor.Position{At: last.createdAt, ID: last.orderID})
			break
		}
		var row orderRow
		if err := rows.Scan(row.fields()...); err != nil {
			return Page{}, fmt.Errorf("listing orders: %w", err)
		}
		o, err := row.toOrder()
		if err != nil {
			return Page{}, fmt.Errorf("listing orders: %w", err)
		}
		page.Orders = append(page.Orders, o)
		last = row
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("listing orders: %w", err)
	}
	return page, nil
}

// check validates the filter and returns its page size and the position
// after which the page starts (nil for the first page).
func (f Filter) check() (limit int, after *listcursor.Position, err error) {
	var fields []errs.FieldError
	add := func(field, msg string) { fields = append(fields, errs.FieldError{Field: field, Message: msg}) }
	limit = f.Limit
	switch {
	case limit == 0:
		limit = defaultListLimit
	case limit < 1 || limit > MaxListLimit:
		add("limit", fmt.Sprintf("must be from 1 to %d", MaxListLimit))
	}
	if f.Status != "" && !f.Status.Valid() {
		add("status", fmt.Sprintf("must be one of %s, %s, %s or %s",
			domain.StatusPending, domain.StatusCompleted, domain.StatusFailed, domain.StatusCancelled))
	}
	if f.Cursor != "" {
		c, ok := listcursor.Decode(f.Cursor)
		if ok {
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
