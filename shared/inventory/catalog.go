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

// validate lists every bad field of a product input, by API name.
func (in ProductInput) validate() error {
	var fields []errs.FieldError
	add := func(field, msg string) { fields = append(fields, errs.FieldError{Field: field, Message: msg}) }
	if !domain.ValidID(in.SKU) {
		add("sku", domain.IDRule)
	}
	switch {
	case strings.TrimSpace(in.Name) == "":
		add("name", "is required")
	case utf8.RuneCountInString(in.Name) > MaxNameLength:
		add("name", fmt.Sprintf("must be at most %d characters", MaxNameLength))
	}
	if in.PriceCents < 0 || in.PriceCents > domain.MaxPriceCents {
		add("price_cents", fmt.Sprintf("must be from 0 to %d", domain.MaxPriceCents))
	}
	if in.Stock < 0 || in.Stock > domain.MaxStock {
		add("stock", fmt.Sprintf("must be from 0 to %d", domain.MaxStock))
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
		cur, found, err := loadProduct(ctx, tx, in.SKU)
		if err != nil {
			return fmt.Errorf("setting product %s: %w", in.SKU, err)
		}
		if found {
			if _, err := cur.Stock().Restock(in.Stock); err != nil {
				return fmt.Errorf("setting product %s: %w", in.SKU, err)
			}
		}
		// The upsert keeps what is reserved and makes the rest available.
		// Its WHERE guards against the reservations that race with it: it
		// refuses a stock below the units reserved when it runs.
		p, err = scanProduct(tx.QueryRowContext(ctx, `
			INSERT INTO products (sku, name, price_cents, available, reserved)
			VALUES ($1, $2, $3, $4, 0)
			ON CONFLICT (sku) DO UPDATE SET
				name = excluded.name,
				price_cents = excluded.price_cents,
				available = excluded.available - products.reserved
			WHERE products.reserved <= excluded.available
			RETURNING `+productColumns,
			in.SKU, in.Name, int64(in.PriceCents), in.Stock))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.Conflict, "stock %d of product %s is below the units orders reserved while it was set", in.Stock, in.SKU)
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
	p, found, err := loadProduct(ctx, s.db, sku)
	if err != nil {
		return Product{}, fmt.Errorf("reading product %s: %w", sku, err)
	}
	if !found {
		return Product{}, errs.E(errs.NotFound, "product %s does not exist", sku)
	}
	return p, nil
}

// loadProduct reads one product, and reports whether it exists.
func loadProduct(ctx context.Context, q querier, sku string) (Product, bool, error) {
	p, err := scanProduct(q.QueryRowContext(ctx, `SELECT `+productColumns+` FROM products WHERE sku = $1`, sku))
	if errors.Is(err, sql.ErrNoRows) {
		return Product{}, false, nil
	}
	if err != nil {
		return Product{}, false, err
	}
	return p, true, nil
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
