package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// MaxNameLength bounds a customer's name, in characters.
const MaxNameLength = 200

// validate lists every bad field of a customer input, by API name.
func (in CustomerInput) validate() error {
	var fields []errs.FieldError
	add := func(field, msg string) { fields = append(fields, errs.FieldError{Field: field, Message: msg}) }
	if !domain.ValidID(in.ID) {
		add("id", domain.IDRule)
	}
	switch {
	case strings.TrimSpace(in.Name) == "":
		add("name", "is required")
	case utf8.RuneCountInString(in.Name) > MaxNameLength:
		add("name", fmt.Sprintf("must be at most %d characters", MaxNameLength))
	}
	if in.CreditCents < 0 || in.CreditCents > domain.MaxCreditCents {
		add("credit_cents", fmt.Sprintf("must be from 0 to %d", domain.MaxCreditCents))
	}
	if len(fields) > 0 {
		return errs.InvalidFields(fields)
	}
	return nil
}

// SetCustomer creates or replaces a customer and sets its spendable credit.
// Errors: errs.Invalid for a bad id, name or credit.
func (s *Service) SetCustomer(ctx context.Context, in CustomerInput) (Customer, error) {
	if err := in.validate(); err != nil {
		return Customer{}, err
	}
	var c Customer
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		c, err = scanCustomer(tx.QueryRowContext(ctx, `
			INSERT INTO customers (id, name, credit_cents) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, credit_cents = excluded.credit_cents
			RETURNING `+customerColumns,
			in.ID, in.Name, int64(in.CreditCents)))
		if err != nil {
			return fmt.Errorf("setting customer %s: %w", in.ID, err)
		}
		return nil
	})
	if err != nil {
		return Customer{}, err
	}
	return c, nil
}

// Customer returns one customer. Errors: errs.NotFound.
func (s *Service) Customer(ctx context.Context, id string) (Customer, error) {
	c, found, err := loadCustomer(ctx, s.db, id)
	if err != nil {
		return Customer{}, fmt.Errorf("reading customer %s: %w", id, err)
	}
	if !found {
		return Customer{}, errs.E(errs.NotFound, "customer %s does not exist", id)
	}
	return c, nil
}

// loadCustomer reads one customer, and reports whether it exists.
func loadCustomer(ctx context.Context, q querier, id string) (Customer, bool, error) {
	c, err := scanCustomer(q.QueryRowContext(ctx, `SELECT `+customerColumns+` FROM customers WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Customer{}, false, nil
	}
	if err != nil {
		return Customer{}, false, err
	}
	return c, true, nil
}

// customerColumns are the columns scanCustomer reads, in its order.
const customerColumns = `id, name, credit_cents`

func scanCustomer(r *sql.Row) (Customer, error) {
	var (
		c      Customer
		credit int64
	)
	if err := r.Scan(&c.ID, &c.Name, &credit); err != nil {
		return Customer{}, err
	}
	c.CreditCents = domain.Cents(credit)
	return c, nil
}
