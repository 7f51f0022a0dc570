// Package demodata is the demo catalog and customers a fresh local run
// starts with, and how they are set up on hosted services without touching what
// exists.
package demodata

import (
	"context"
	"fmt"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/payment"
)

// Products returns the products a fresh run starts with.
func Products() []inventory.ProductInput {
	return []inventory.ProductInput{
		{SKU: "mug", Name: "Mug", PriceCents: domain.Cents(1250), Stock: 100},
		{SKU: "tshirt", Name: "T-shirt", PriceCents: domain.Cents(2000), Stock: 50},
		{SKU: "poster", Name: "Poster", PriceCents: domain.Cents(800), Stock: 5},
	}
}

// Customers returns the customers a fresh run starts with: ada can
// afford plenty, bob hardly anything (his orders are declined).
func Customers() []payment.CustomerInput {
	return []payment.CustomerInput{
		{ID: "ada", Name: "Ada Lovelace", CreditCents: domain.Cents(1_000_000)},
		{ID: "bob", Name: "Bob", CreditCents: domain.Cents(1_000)},
	}
}

// Created counts what Seed created.
type Created struct{ Products, Customers int }

// Seed creates the demo products and customers the hosted services lack, through their
// services. What exists is left as it is, so a restart keeps what was sold,
// charged or changed.
func Seed(ctx context.Context, n *hosted.Services) (Created, error) {
	var res Created
	for _, p := range Products() {
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
		res.Products++
	}
	for _, c := range Customers() {
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
		res.Customers++
	}
	return res, nil
}
