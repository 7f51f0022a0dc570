package allinone

import (
	"context"
	"fmt"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/node"
	"github.com/ordersaga/ordersaga/shared/payment"
)

// DemoProducts returns the products a fresh run starts with.
func DemoProducts() []inventory.ProductInput {
	return []inventory.ProductInput{
		{SKU: "mug", Name: "Mug", PriceCents: domain.Cents(1250), Stock: 100},
		{SKU: "tshirt", Name: "T-shirt", PriceCents: domain.Cents(2000), Stock: 50},
		{SKU: "poster", Name: "Poster", PriceCents: domain.Cents(800), Stock: 5},
	}
}

// DemoCustomers returns the customers a fresh run starts with: ada can
// afford plenty, bob hardly anything (his orders are declined).
func DemoCustomers() []payment.CustomerInput {
	return []payment.CustomerInput{
		{ID: "ada", Name: "Ada Lovelace", CreditCents: domain.Cents(1_000_000)},
		{ID: "bob", Name: "Bob", CreditCents: domain.Cents(1_000)},
	}
}

// seedResult counts what seed created.
type seedResult struct{ products, customers int }

// seed creates the demo products and customers the node lacks, through its
// services. What exists is left as it is, so a restart keeps what was sold,
// charged or changed.
func seed(ctx context.Context, n *node.Node) (seedResult, error) {
	var res seedResult
	for _, p := range DemoProducts() {
		_, err := n.Inventory.Product(ctx, p.SKU)
		switch {
		case err == nil:
			continue
		case !errs.Is(err, errs.NotFound):
			return res, fmt.Errorf("looking up demo product %s: %w", p.SKU, err)
		}
		if _, err := n.Inventory.SetProduct(ctx, p); err != nil {
			return res, fmt.Errorf("creating demo product %s: %w", p.SKU, err)
		}
		res.products++
	}
	for _, c := range DemoCustomers() {
		_, err := n.Payment.Customer(ctx, c.ID)
		switch {
		case err == nil:
			continue
		case !errs.Is(err, errs.NotFound):
			return res, fmt.Errorf("looking up demo customer %s: %w", c.ID, err)
		}
		if _, err := n.Payment.SetCustomer(ctx, c); err != nil {
			return res, fmt.Errorf("creating demo customer %s: %w", c.ID, err)
		}
		res.customers++
	}
	return res, nil
}
