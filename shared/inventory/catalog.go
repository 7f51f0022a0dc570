package inventory

import (
	"context"
	"database/sql"
	"encoding/base64"
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

// MaxProductsLimit bounds the page size of Products.
const MaxProductsLimit = 200

// defaultProductsLimit is the page size of Products when the filter gives
// none.
const defaultProductsLimit = 50

// ProductFilter selects a page of products for Products.
type ProductFilter struct {
	Limit  int    // 1 to MaxProductsLimit; 0 means 50
	Cursor string // from the previous ProductPage; "" for the first page
}

// ProductPage is one page of products, by sku.
type ProductPage struct {
	Products   []Product // never nil
	NextCursor string    // "" on the last page
}

// Products returns a page of products, by sku. The cursor names the last
// product of a page, so the next page starts right after it whatever was
// added in between. Errors: errs.Invalid, naming the field (limit or
// cursor), for a bad limit or a cursor this service did not issue.
func (s *Service) Products(ctx context.Context, f ProductFilter) (ProductPage, error) {
	limit, after, err := f.check()
	if err != nil {
		return ProductPage{}, err
	}
	query := `SELECT ` + productColumns + ` FROM products`
	args := []any{limit + 1}
	if after != "" {
		query += ` WHERE sku > $2`
		args = append(args, after)
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY sku LIMIT $1`, args...)
	if err != nil {
		return ProductPage{}, fmt.Errorf("listing products: %w", err)
	}
	defer rows.Close()
	page := ProductPage{Products: []Product{}}
	for rows.Next() {
		if len(page.Products) == limit { // one more exists: there is a next page
			page.NextCursor = encodeProductCursor(page.Products[limit-1].SKU)
			break
		}
		p, err := scanProduct(rows)
		if err != nil {
			return ProductPage{}, fmt.Errorf("listing products: %w", err)
		}
		page.Products = append(page.Products, p)
	}
	if err := rows.Err(); err != nil {
		return ProductPage{}, fmt.Errorf("listing products: %w", err)
	}
	return page, nil
}

// check validates the filter and returns its page size and the sku after
// which the page starts ("" for the first page).
func (f ProductFilter) check() (limit int, after string, err error) {
	var fields []errs.FieldError
	limit = f.Limit
	switch {
	case limit == 0:
		limit = defaultProductsLimit
	case limit < 1 || limit > MaxProductsLimit:
		fields = append(fields, errs.FieldError{Field: "limit", Message: fmt.Sprintf("must be from 1 to %d", MaxProductsLimit)})
	}
	if f.Cursor != "" {
		sku, ok := decodeProductCursor(f.Cursor)
		if ok {
			after = sku
		} else {
			fields = append(fields, errs.FieldError{Field: "cursor", Message: "is not a cursor this server issued"})
		}
	}
	if len(fields) > 0 {
		return 0, "", errs.InvalidFields(fields)
	}
	return limit, after, nil
}

// productCursorPrefix starts every products cursor, so that an orders
// cursor is not taken for one.
const productCursorPrefix = "sku:"

// encodeProductCursor returns the cursor of the page after sku, an opaque
// URL-safe string.
func encodeProductCursor(sku string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(productCursorPrefix + sku))
}

// decodeProductCursor reads a cursor made by encodeProductCursor.
func decodeProductCursor(c string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", false
	}
	sku, ok := strings.CutPrefix(string(b), productCursorPrefix)
	if !ok || !domain.ValidID(sku) {
		return "", false
	}
	return sku, true
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
