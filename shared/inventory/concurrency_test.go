package inventory_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// race runs fn(i) for i in [0, n) on n goroutines started together and
// returns each call's error.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var (
		start = make(chan struct{})
		wg    sync.WaitGroup
	)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func TestReserve_ConcurrentOrdersForLastUnits_NeverOversell(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		const stock, buyers = 10, 50
		setProduct(t, svc, "last", 100, stock)
		got := make([]inventory.Reservation, buyers)

		errs := race(buyers, func(i int) error {
			var err error
			got[i], err = svc.Reserve(context.Background(), fmt.Sprintf("o-%d", i), []domain.Item{item("last", 1)})
			return err
		})

		held := 0
		for i, err := range errs {
			if err != nil {
				t.Fatalf("buyer %d: %v", i, err)
			}
			switch got[i].Status {
			case inventory.Reserved:
				held++
			case inventory.Rejected:
			default:
				t.Fatalf("buyer %d: status %s, want reserved or rejected", i, got[i].Status)
			}
		}
		if held != stock {
			t.Fatalf("%d orders hold a unit, want exactly %d", held, stock)
		}
		wantStock(t, svc, "last", 0, stock)
	})
}

func TestReserve_ConcurrentRepeatsOfOneOrder_HoldOnce(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		setProduct(t, svc, "mug", 100, 10)
		got := make([]inventory.Reservation, 10)

		errs := race(len(got), func(i int) error {
			var err error
			got[i], err = svc.Reserve(context.Background(), "o-1", []domain.Item{item("mug", 3)})
			return err
		})

		for i, err := range errs {
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			if got[i].Status != inventory.Reserved || got[i].TotalCents != 300 {
				t.Fatalf("call %d: %+v, want the one reservation", i, got[i])
			}
		}
		wantStock(t, svc, "mug", 7, 3)
	})
}

func TestReserve_MultiItemOrdersInOppositeSkuOrder_NoDeadlockAndStockConserved(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		ctx := context.Background()
		const stock, orders = 60, 40
		setProduct(t, svc, "a", 100, stock)
		setProduct(t, svc, "b", 100, stock)
		got := make([]inventory.Reservation, orders)

		// Each order reserves both skus, half of them listing b first;
		// then a third release and a third commit while others reserve.
		errs := race(orders, func(i int) error {
			qa, qb := int64(1+i%4), int64(1+(i+1)%3)
			items := []domain.Item{item("a", qa), item("b", qb)}
			if i%2 == 1 {
				items = []domain.Item{item("b", qb), item("a", qa)}
			}
			id := fmt.Sprintf("o-%d", i)
			r, err := svc.Reserve(ctx, id, items)
			if err != nil || r.Status != inventory.Reserved {
				got[i] = r
				return err
			}
			switch i % 3 {
			case 0:
				got[i], err = svc.Release(ctx, id)
			case 1:
				got[i], err = svc.Commit(ctx, id)
			default:
				got[i] = r
			}
			return err
		})

		held := map[string]int64{}
		gone := map[string]int64{}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("order %d: %v", i, err)
			}
			for _, it := range got[i].Items {
				switch got[i].Status {
				case inventory.Reserved:
					held[it.SKU] += it.Quantity
				case inventory.Committed:
					gone[it.SKU] += it.Quantity
				}
			}
		}
		for _, sku := range []string{"a", "b"} {
			p, err := svc.Product(ctx, sku)
			if err != nil {
				t.Fatal(err)
			}
			if p.Available < 0 || p.Reserved != held[sku] || p.Available+p.Reserved+gone[sku] != stock {
				t.Fatalf("product %s: available %d, reserved %d; want reserved %d and available+reserved+committed (%d) = %d",
					sku, p.Available, p.Reserved, held[sku], gone[sku], stock)
			}
		}
	})
}

func TestReserveAndRelease_RacingForOneOrder_LeaveNothingHeld(t *testing.T) {
	t.Parallel()
	eachDB(t, nil, func(t *testing.T, _ *sqldb.DB, svc *inventory.Service) {
		ctx := context.Background()
		const orders = 20
		setProduct(t, svc, "mug", 100, 100)

		// Even i reserves order i/2, odd i releases it: whichever comes
		// first, the order ends released and holds nothing.
		errs := race(2*orders, func(i int) error {
			id := fmt.Sprintf("o-%d", i/2)
			if i%2 == 0 {
				_, err := svc.Reserve(ctx, id, []domain.Item{item("mug", 2)})
				return err
			}
			_, err := svc.Release(ctx, id)
			return err
		})

		for i, err := range errs {
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		for i := range orders {
			r, err := svc.Reservation(ctx, fmt.Sprintf("o-%d", i))
			if err != nil || r.Status != inventory.Released {
				t.Fatalf("order %d: %+v, %v; want released", i, r, err)
			}
		}
		wantStock(t, svc, "mug", 100, 0)
	})
}
