package payment_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

func TestSetCustomer_CreatesAndReplacesCustomer(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, _ *sqldb.DB, svc *payment.Service) {
		ctx := context.Background()
		created, err := svc.SetCustomer(ctx, payment.CustomerInput{ID: "c-1", Name: "Ada", CreditCents: 100000})
		if err != nil {
			t.Fatal(err)
		}
		if want := (payment.Customer{ID: "c-1", Name: "Ada", CreditCents: 100000}); created != want {
			t.Fatalf("created = %+v, want %+v", created, want)
		}
		replaced, err := svc.SetCustomer(ctx, payment.CustomerInput{ID: "c-1", Name: "Ada L.", CreditCents: 5})
		if err != nil {
			t.Fatal(err)
		}
		want := payment.Customer{ID: "c-1", Name: "Ada L.", CreditCents: 5}
		if replaced != want {
			t.Fatalf("replaced = %+v, want %+v", replaced, want)
		}
		if got, err := svc.Customer(ctx, "c-1"); err != nil || got != want {
			t.Fatalf("Customer = %+v, %v; want %+v", got, err, want)
		}
	})
}

func TestSetCustomer_InvalidInput_NamesEveryBadField(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, _ *sqldb.DB, svc *payment.Service) {
		ctx := context.Background()
		cases := []struct {
			in     payment.CustomerInput
			fields []string
		}{
			{payment.CustomerInput{ID: "", Name: "Ada"}, []string{"id"}},
			{payment.CustomerInput{ID: "c/1", Name: "Ada"}, []string{"id"}},
			{payment.CustomerInput{ID: "c-1", Name: "\t"}, []string{"name"}},
			{payment.CustomerInput{ID: "c-1", Name: strings.Repeat("x", payment.MaxNameLength+1)}, []string{"name"}},
			{payment.CustomerInput{ID: "c-1", Name: "Ada", CreditCents: -1}, []string{"credit_cents"}},
			{payment.CustomerInput{ID: strings.Repeat("c", 65), Name: "", CreditCents: -1}, []string{"id", "name", "credit_cents"}},
		}
		for _, c := range cases {
			_, err := svc.SetCustomer(ctx, c.in)
			if got := fieldNames(err); !errs.Is(err, errs.Invalid) || !reflect.DeepEqual(got, c.fields) {
				t.Errorf("SetCustomer(%+v): err = %v (fields %v), want invalid %v", c.in, err, got, c.fields)
			}
		}
		if _, err := svc.Customer(ctx, "c-1"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("customer after invalid input: err = %v, want not found", err)
		}
	})
}

func TestCustomer_Unknown_IsNotFound(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, _ *sqldb.DB, svc *payment.Service) {
		if _, err := svc.Customer(context.Background(), "nope"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("err = %v, want not found", err)
		}
	})
}
