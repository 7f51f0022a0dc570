package orders_test

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// placed is an order id with its creation time.
type placed struct {
	id string
	at time.Time
}

// createSeven stores seven orders, two pairs of them created at the same
// microsecond, and returns them newest first (by time, then id).
func createSeven(tb testing.TB, store *orders.Store) []placed {
	tb.Helper()
	offsets := []time.Duration{0, 3, 1, 3, 2, 5, 2} // seconds after t0; repeats tie
	var all []placed
	for i, off := range offsets {
		p := placed{id: fmt.Sprintf("o-%d", i), at: t0.Add(off * time.Second)}
		create(tb, store, p.id, p.at)
		all = append(all, p)
	}
	slices.SortFunc(all, func(a, b placed) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
	return all
}

func ids(os []*domain.Order) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.ID()
	}
	return out
}

func TestList_PagesNewestFirstThroughCursors(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		ctx := context.Background()
		all := createSeven(t, store)
		var want []string
		for _, p := range all {
			want = append(want, p.id)
		}

		var (
			got   []string
			sizes []int
			f     = orders.Filter{Limit: 3}
		)
		for range 10 {
			page, err := store.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ids(page.Orders)...)
			sizes = append(sizes, len(page.Orders))
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
		if !slices.Equal(got, want) {
			t.Fatalf("paged ids = %v, want %v", got, want)
		}
		if !slices.Equal(sizes, []int{3, 3, 1}) {
			t.Fatalf("page sizes = %v, want [3 3 1]", sizes)
		}

		// Orders created after the first page do not shift the next ones.
		first, err := store.List(ctx, orders.Filter{Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		create(t, store, "o-newest", t0.Add(time.Hour))
		rest, err := store.List(ctx, orders.Filter{Limit: 3, Cursor: first.NextCursor})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(rest.Orders), want[3:6]) {
			t.Fatalf("second page after a new order = %v, want %v", ids(rest.Orders), want[3:6])
		}

		// No limit means 50: everything fits in one page.
		page, err := store.List(ctx, orders.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Orders) != 8 || page.NextCursor != "" || page.Orders[0].ID() != "o-newest" {
			t.Fatalf("default page = %v (next %q), want all 8, newest first", ids(page.Orders), page.NextCursor)
		}
	})
}

func TestList_StatusFilter_ReturnsOnlyThatStatusNewestFirst(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		ctx := context.Background()
		all := createSeven(t, store)
		var failed []string
		for i, p := range all {
			if i%2 == 1 {
				update(t, store, p.id, func(o *domain.Order) error { return o.Fail(domain.ReasonPaymentDeclined, t0) })
				failed = append(failed, p.id)
			}
		}
		var got []string
		f := orders.Filter{Status: domain.StatusFailed, Limit: 2}
		for range 10 {
			page, err := store.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page.Orders {
				if o.Status() != domain.StatusFailed {
					t.Fatalf("order %s with status %s listed as failed", o.ID(), o.Status())
				}
			}
			got = append(got, ids(page.Orders)...)
			if f.Cursor = page.NextCursor; f.Cursor == "" {
				break
			}
		}
		if !slices.Equal(got, failed) {
			t.Fatalf("failed orders = %v, want %v", got, failed)
		}
		page, err := store.List(ctx, orders.Filter{Status: domain.StatusCompleted})
		if err != nil || len(page.Orders) != 0 || page.NextCursor != "" {
			t.Fatalf("completed orders = %v (next %q, err %v), want none", ids(page.Orders), page.NextCursor, err)
		}
	})
}

func TestList_BadFilter_InvalidWithField(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		create(t, store, "o-1", t0)
		enc := base64.RawURLEncoding.EncodeToString
		cases := []struct {
			name  string
			f     orders.Filter
			field string
		}{
			{"cursor not base64", orders.Filter{Cursor: "!!!"}, "cursor"},
			{"cursor without separator", orders.Filter{Cursor: enc([]byte("123"))}, "cursor"},
			{"cursor with bad time", orders.Filter{Cursor: enc([]byte("soon:o-1"))}, "cursor"},
			{"cursor with bad id", orders.Filter{Cursor: enc([]byte("123:a b"))}, "cursor"},
			{"negative limit", orders.Filter{Limit: -1}, "limit"},
			{"limit too large", orders.Filter{Limit: orders.MaxListLimit + 1}, "limit"},
			{"unknown status", orders.Filter{Status: "lost"}, "status"},
		}
		for _, c := range cases {
			_, err := store.List(context.Background(), c.f)
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != errs.Invalid || len(e.Fields) != 1 || e.Fields[0].Field != c.field {
				t.Errorf("%s: err = %v, want invalid %s", c.name, err, c.field)
			}
		}
		if page, err := store.List(context.Background(), orders.Filter{Limit: orders.MaxListLimit}); err != nil || len(page.Orders) != 1 {
			t.Fatalf("limit at the maximum: %d orders, err %v", len(page.Orders), err)
		}
	})
}

// List with a customer filter returns only that customer's orders, newest
// first, and its cursors page within the filter, with a status too.
func TestList_CustomerFilter_OnlyThatCustomersOrdersThroughCursors(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		ctx := context.Background()
		var mine []string // c-2's orders, newest first
		for i := range 9 {
			p := request(fmt.Sprintf("o-%d", i))
			if i%3 != 0 {
				p.CustomerID = "c-2"
				mine = append([]string{p.OrderID}, mine...)
			}
			if _, created, err := store.Create(ctx, newOrder(t, p, t0.Add(time.Duration(i)*time.Second))); err != nil || !created {
				t.Fatalf("creating %s: created %v, err %v", p.OrderID, created, err)
			}
		}
		update(t, store, "o-4", func(o *domain.Order) error { return o.Fail(domain.ReasonPaymentDeclined, t0) })
		update(t, store, "o-6", func(o *domain.Order) error { return o.Fail(domain.ReasonPaymentDeclined, t0) }) // c-1's

		var got []string
		f := orders.Filter{CustomerID: "c-2", Limit: 2}
		for range 10 {
			page, err := store.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page.Orders {
				if o.State().CustomerID != "c-2" {
					t.Fatalf("order %s of %s listed for c-2", o.ID(), o.State().CustomerID)
				}
			}
			got = append(got, ids(page.Orders)...)
			if f.Cursor = page.NextCursor; f.Cursor == "" {
				break
			}
		}
		if !slices.Equal(got, mine) {
			t.Fatalf("c-2's orders = %v, want %v", got, mine)
		}
		page, err := store.List(ctx, orders.Filter{CustomerID: "c-2", Status: domain.StatusFailed})
		if err != nil || !slices.Equal(ids(page.Orders), []string{"o-4"}) {
			t.Fatalf("c-2's failed orders = %v (err %v), want [o-4]", ids(page.Orders), err)
		}
		page, err = store.List(ctx, orders.Filter{CustomerID: "c-9"})
		if err != nil || len(page.Orders) != 0 || page.NextCursor != "" {
			t.Fatalf("orders of a customer without any = %v (next %q, err %v)", ids(page.Orders), page.NextCursor, err)
		}
	})
}
