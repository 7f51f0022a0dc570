package stack_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/payment"
)

func TestZZThroughput(t *testing.T) {
	p := startProcess(t, newNamespace(t), sqliteDatabases(t))
	ctx := context.Background()
	p.Node().Inventory.SetProduct(ctx, inventory.ProductInput{SKU: "mug", Name: "mug", PriceCents: 10, Stock: 100000})
	p.Node().Payment.SetCustomer(ctx, payment.CustomerInput{ID: "c", Name: "c", CreditCents: 1e9})
	const n = 200
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			o, _ := domain.NewOrder(domain.PlaceOrder{OrderID: fmt.Sprintf("o%d", i), CustomerID: "c", Items: []domain.Item{{SKU: "mug", Quantity: 1}},
				ShipTo: domain.Address{Name: "A", Line1: "l", City: "c", PostalCode: "1", Country: "DE"}}, time.Now())
			if _, _, err := p.Flow().Place(ctx, o); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	placed := time.Since(start)
	for i := range n {
		wctx, c := context.WithTimeout(ctx, 60*time.Second)
		p.Node().Orders.WaitFinal(wctx, fmt.Sprintf("o%d", i))
		c()
	}
	t.Logf("placed %d in %v, all final after %v (%.1f/s)", n, placed, time.Since(start), n/time.Since(start).Seconds())
}
