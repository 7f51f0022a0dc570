package inventory_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

func TestSetProduct_CreatesAndReplacesProduct(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		ctx := context.Background()
		created, err := svc.SetProduct(ctx, inventory.ProductInput{SKU: "mug", Name: "Mug", PriceCents: 1250, Stock: 40})
		if err != nil {
			t.Fatal(err)
		}
		want := inventory.Product{SKU: "mug", Name: "Mug", PriceCents: 1250, Available: 40}
		if created != want {
			t.Fatalf("created = %+v, want %+v", created, want)
		}

		replaced, err := svc.SetProduct(ctx, inventory.ProductInput{SKU: "mug", Name: "Big mug", PriceCents: 1500, Stock: 7})
		if err != nil {
			t.Fatal(err)
		}
		want = inventory.Product{SKU: "mug", Name: "Big mug", PriceCents: 1500, Available: 7}
		if replaced != want {
			t.Fatalf("replaced = %+v, want %+v", replaced, want)
		}
		if got, err := svc.Product(ctx, "mug"); err != nil || got != want {
			t.Fatalf("Product = %+v, %v; want %+v", got, err, want)
		}
	})
}

func TestSetProduct_Restock_KeepsReservedUnits(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		setProduct(t, svc, "mug", 100, 10)
		reserve(t, svc, "o-1", item("mug", 4))

		setProduct(t, svc, "mug", 100, 25)
		wantStock(t, svc, "mug", 21, 4)

		setProduct(t, svc, "mug", 100, 4) // exactly what is reserved
		wantStock(t, svc, "mug", 0, 4)
	})
}

func TestSetProduct_StockBelowReserved_IsConflictAndChangesNothing(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		ctx := context.Background()
		setProduct(t, svc, "mug", 100, 10)
		reserve(t, svc, "o-1", item("mug", 4))

		_, err := svc.SetProduct(ctx, inventory.ProductInput{SKU: "mug", Name: "Renamed", PriceCents: 1, Stock: 3})

		if !errs.Is(err, errs.Conflict) {
			t.Fatalf("err = %v, want conflict", err)
		}
		p, err := svc.Product(ctx, "mug")
		if err != nil {
			t.Fatal(err)
		}
		if want := (inventory.Product{SKU: "mug", Name: "Product mug", PriceCents: 100, Available: 6, Reserved: 4}); p != want {
			t.Fatalf("product = %+v, want unchanged %+v", p, want)
		}
	})
}

func TestSetProduct_InvalidInput_NamesEveryBadField(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		ctx := context.Background()
		cases := []struct {
			in     inventory.ProductInput
			fields []string
		}{
			{inventory.ProductInput{SKU: "", Name: "Mug"}, []string{"sku"}},
			{inventory.ProductInput{SKU: "bad sku!", Name: "Mug"}, []string{"sku"}},
			{inventory.ProductInput{SKU: strings.Repeat("a", 65), Name: "Mug"}, []string{"sku"}},
			{inventory.ProductInput{SKU: "mug", Name: "  "}, []string{"name"}},
			{inventory.ProductInput{SKU: "mug", Name: strings.Repeat("é", inventory.MaxNameLength+1)}, []string{"name"}},
			{inventory.ProductInput{SKU: "mug", Name: "Mug", PriceCents: -1}, []string{"price_cents"}},
			{inventory.ProductInput{SKU: "mug", Name: "Mug", Stock: -1}, []string{"stock"}},
			{inventory.ProductInput{SKU: "", Name: "", PriceCents: -5, Stock: -5}, []string{"sku", "name", "price_cents", "stock"}},
		}
		for _, c := range cases {
			_, err := svc.SetProduct(ctx, c.in)
			if got := fieldNames(err); !errs.Is(err, errs.Invalid) || !reflect.DeepEqual(got, c.fields) {
				t.Errorf("SetProduct(%+v): err = %v (fields %v), want invalid %v", c.in, err, got, c.fields)
			}
		}
		if page, err := svc.Products(ctx, inventory.ProductFilter{}); err != nil || len(page.Products) != 0 {
			t.Fatalf("products after invalid input = %v, %v; want none", page.Products, err)
		}
		if _, err := svc.SetProduct(ctx, inventory.ProductInput{SKU: "mug", Name: strings.Repeat("é", inventory.MaxNameLength)}); err != nil {
			t.Fatalf("a name of exactly %d characters: %v", inventory.MaxNameLength, err)
		}
	})
}

func TestProduct_Unknown_IsNotFound(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		if _, err := svc.Product(context.Background(), "nope"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("err = %v, want not found", err)
		}
	})
}

func TestProducts_ListsEveryProductBySku(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		ctx := context.Background()
		if page, err := svc.Products(ctx, inventory.ProductFilter{}); err != nil || page.Products == nil || len(page.Products) != 0 || page.NextCursor != "" {
			t.Fatalf("empty catalog = %#v, %v; want an empty list", page, err)
		}
		setProduct(t, svc, "tee", 999, 5)
		setProduct(t, svc, "cap", 500, 0)
		setProduct(t, svc, "mug", 1250, 10)

		page, err := svc.Products(ctx, inventory.ProductFilter{})
		if err != nil || page.NextCursor != "" {
			t.Fatalf("Products = %+v, %v; want one page", page, err)
		}
		ps := page.Products
		var skus []string
		for _, p := range ps {
			skus = append(skus, p.SKU)
		}
		if want := []string{"cap", "mug", "tee"}; !reflect.DeepEqual(skus, want) {
			t.Fatalf("skus = %v, want %v", skus, want)
		}
		if ps[1] != (inventory.Product{SKU: "mug", Name: "Product mug", PriceCents: 1250, Available: 10}) {
			t.Fatalf("mug = %+v", ps[1])
		}
	})
}
