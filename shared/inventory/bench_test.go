package inventory_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// BenchmarkReserve_SameFewSKUs_Parallel measures reservations under
// contention: 4×GOMAXPROCS goroutines reserve orders of two of the same
// three products, each in its own transaction, and release each order
// again (the compensation), so every order locks rows that all the others
// lock too. One op is one order reserved and released; orders/s counts them.
// After the run every unit must be available again.
func BenchmarkReserve_SameFewSKUs_Parallel(b *testing.B) {
	const stock = 1 << 40
	skus := []string{"bench-a", "bench-b", "bench-c"}
	for _, d := range sqltest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			ctx := context.Background()
			db := sqltest.Open(b, d, inventory.Migrations())
			svc := inventory.New(db, nil, time.Now)
			for _, sku := range skus {
				setProduct(b, svc, sku, 250, stock)
			}
			var seq atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					id := fmt.Sprintf("bench-%d", n)
					// Two of the three skus, listed in a rotating order: the
					// service locks them in sku order whatever the list says.
					items := []domain.Item{
						{SKU: skus[n%3], Quantity: 1 + n%2},
						{SKU: skus[(n+1)%3], Quantity: 1},
					}
					r, err := svc.Reserve(ctx, id, items)
					if err != nil {
						b.Errorf("reserving %s: %v", id, err)
						return
					}
					if r.Status != inventory.Reserved {
						b.Errorf("reserving %s: status %s, want reserved", id, r.Status)
						return
					}
					if _, err := svc.Release(ctx, id); err != nil {
						b.Errorf("releasing %s: %v", id, err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
			for _, sku := range skus {
				wantStock(b, svc, sku, stock, 0)
			}
		})
	}
}
