package inventory_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Products pages through the catalog by sku: every product exactly once,
// pages of the limit asked, a cursor on every page but the last, and a
// product added behind the cursor between two pages neither repeated nor
// shifting the rest.
func TestProducts_PagesBySku(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		ctx := context.Background()
		var want []string
		for i := range 7 {
			sku := fmt.Sprintf("p-%02d", 6-i) // created out of order
			setProduct(t, svc, sku, 100, 1)
			want = append(want, sku)
		}
		slices.Sort(want)

		var got []string
		var sizes []int
		cursor := ""
		for range 10 {
			page, err := svc.Products(ctx, inventory.ProductFilter{Limit: 3, Cursor: cursor})
			if err != nil {
				t.Fatalf("Products(cursor %q): %v", cursor, err)
			}
			sizes = append(sizes, len(page.Products))
			for _, p := range page.Products {
				got = append(got, p.SKU)
			}
			if cursor == "" {
				setProduct(t, svc, "a-before", 100, 1) // sorts before every page still to come
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("paged skus = %v, want %v", got, want)
		}
		if !slices.Equal(sizes, []int{3, 3, 1}) {
			t.Fatalf("page sizes = %v, want [3 3 1]", sizes)
		}

		all, err := svc.Products(ctx, inventory.ProductFilter{Limit: inventory.MaxProductsLimit})
		if err != nil || len(all.Products) != 8 || all.NextCursor != "" {
			t.Fatalf("one page of up to %d = %d products, cursor %q, %v; want all 8 and no cursor",
				inventory.MaxProductsLimit, len(all.Products), all.NextCursor, err)
		}
		exact, err := svc.Products(ctx, inventory.ProductFilter{Limit: 8})
		if err != nil || len(exact.Products) != 8 || exact.NextCursor != "" {
			t.Fatalf("a page exactly the catalog's size = %d products, cursor %q, %v; want no cursor", len(exact.Products), exact.NextCursor, err)
		}
	})
}

// A limit out of 1..MaxProductsLimit or a cursor the service did not issue
// is invalid, naming the field.
func TestProducts_BadLimitOrCursor_Invalid(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		cases := []struct {
			f      inventory.ProductFilter
			fields []string
		}{
			{inventory.ProductFilter{Limit: -1}, []string{"limit"}},
			{inventory.ProductFilter{Limit: inventory.MaxProductsLimit + 1}, []string{"limit"}},
			{inventory.ProductFilter{Cursor: "not base64!"}, []string{"cursor"}},
			{inventory.ProductFilter{Cursor: "bXVn"}, []string{"cursor"}}, // "mug", without the prefix
			{inventory.ProductFilter{Limit: 1000, Cursor: "%%"}, []string{"limit", "cursor"}},
		}
		for _, c := range cases {
			_, err := svc.Products(context.Background(), c.f)
			if got := fieldNames(err); !errs.Is(err, errs.Invalid) || !slices.Equal(got, c.fields) {
				t.Errorf("Products(%+v): err = %v (fields %v), want invalid %v", c.f, err, got, c.fields)
			}
		}
	})
}
