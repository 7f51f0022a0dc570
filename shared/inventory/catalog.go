package inventory

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

// MaxNameLength bounds a product's name, in characters.
const MaxNameLength = 200

// idRule says what an id must look like.
const idRule = "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'"

// validate lists every bad field of a product input, by API name.
func (in ProductInput) validate() error {
	var fields []errs.FieldError
	add := func(field, msg string) { fields = append(fields, errs.FieldError{Field: field, Message: msg}) }
	if !domain.ValidID(in.SKU) {
		add("sku", idRule)
	}
	switch {
	case strings.TrimSpace(in.Name) == "":
		add("name", "is required")
	case utf8.RuneCountInString(in.Name) > MaxNameLength:
		add("name", fmt.Sprintf("must be at most %d characters", MaxNameLength))
	}
	if in.PriceCents < 0 {
		add("price_cents", "must be 0 or more")
	}
	if in.Stock < 0 {
		add("stock", "must be 0 or more")
	}
	if len(fields) > 0 {
		return errs.InvalidFields(fields)
	}
	return nil
}

// SetProduct creates or replaces a product and sets its on-hand stock.
// Errors: errs.Invalid for a bad sku, name, price or stock; errs.Conflict
// when the stock is below what orders have reserved.
func (s *Service) SetProduct(ctx context.Context, in ProductInput) (Product, error) {
	if err := in.validate(); err != nil {
		return Product{}, err
	}
	var p Product
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		// The upsert keeps what is reserved and makes the rest available;
		// its WHERE refuses a stock below the reserved units, atomically
		// with the reservations that race with it.
		row := tx.QueryRowContext(ctx, `
			INSERT INTO products (sku, name, price_cents, available, reserved)
			VALUES ($1, $2, $3, $4, 0)
			ON CONFLICT (sku) DO UPDATE SET
				name = excluded.name,
				price_cents = excluded.price_cents,
				available = excluded.available - products.reserved
			WHERE products.reserved <= excluded.available
			RETURNING `+productColumns,
			in.SKU, in.Name, int64(in.PriceCents), in.Stock)
		var err error
		p, err = scanProduct(row)
		if errors.Is(err, sql.ErrNoRows) {
			var reserved int64
			if err := tx.QueryRowContext(ctx, `SELECT reserved FROM products WHERE sku = $1`, in.SKU).Scan(&reserved); err != nil {
				return fmt.Errorf("reading reserved stock of product %s: %w", in.SKU, err)
			}
			return errs.E(errs.Conflict, "stock %d of product %s is below the %d units reserved by orders in flight", in.Stock, in.SKU, reserved)
		}
		if err != nil {
			return fmt.Errorf("setting product %s: %w", in.SKU, err)
		}
		return nil
	})
	if err != nil {
		return Product{}, err
	}
	return p, nil
}

// Product returns one product. Errors: errs.NotFound.
func (s *Service) Product(ctx context.Context, sku string) (Product, error) {
	p, err := scanProduct(s.db.QueryRowContext(ctx, `SELECT `+productColumns+` FROM products WHERE sku = $1`, sku))
	if errors.Is(err, sql.ErrNoRows) {
		return Product{}, errs.E(errs.NotFound, "product %s does not exist", sku)
	}
	if err != nil {
		return Product{}, fmt.Errorf("reading product %s: %w", sku, err)
	}
	return p, nil
}

// Products returns every product, by sku.
func (s *Service) Products(ctx context.Context) ([]Product, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+productColumns+` FROM products ORDER BY sku`)
	if err != nil {
		return nil, fmt.Errorf("listing products: %w", err)
	}
	defer rows.Close()
	ps := []Product{}
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, fmt.Errorf("listing products: %w", err)
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing products: %w", err)
	}
	return ps, nil
}

// productColumns are the columns scanProduct reads, in its order.
const productColumns = `sku, name, price_cents, available, reserved`

// scanner is a row or rows positioned on a row.
type scanner interface {
	Scan(dest ...any) error
}

func scanProduct(r scanner) (Product, error) {
	var (
		p     Product
		price int64
	)
	if err := r.Scan(&p.SKU, &p.Name, &price, &p.Available, &p.Reserved); err != nil {
		return Product{}, err
	}
	p.PriceCents = domain.Cents(price)
	return p, nil
}
