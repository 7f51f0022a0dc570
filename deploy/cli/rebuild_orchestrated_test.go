package cli

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/dblayout"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
	orstack "github.com/ordersaga/ordersaga/orchestrated/stack"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/notifications"
	"github.com/ordersaga/ordersaga/shared/payment"
)

// The rebuild command empties the notification database of an
// orchestrated run laid out in a data dir and rebuilds it from the
// sagas' histories on a real Temporal server: the same rows, the time
// each was written aside.
func TestOrchestratedRebuildNotifications_RebuildsTheDatabaseOfADataDir(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)
	srv, err := temporaldev.Start(ctx, temporaldev.Config{FrontendAddress: "127.0.0.1:0", NoUI: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	dir := t.TempDir()
	dbs, err := dblayout.Addresses(ctx, dir, "", "", "orchestrated") // as the run command lays them out
	if err != nil {
		t.Fatal(err)
	}
	s, err := orstack.New(ctx, orstack.Config{TemporalHostPort: srv.FrontendAddress(), Namespace: srv.Namespace(), Logger: quiet,
		Hosted: hosted.Config{Databases: dbs, Migrate: true}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	if _, err := s.Hosted().Inventory.SetProduct(ctx, inventory.ProductInput{SKU: "mug", Name: "Mug", PriceCents: 1250, Stock: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Hosted().Payment.SetCustomer(ctx, payment.CustomerInput{ID: "ada", Name: "Ada", CreditCents: 10_000}); err != nil {
		t.Fatal(err)
	}
	for id, qty := range map[string]int64{"o-1": 1, "o-2": 100} { // completed, out of stock
		o, err := domain.NewOrder(domain.PlaceOrder{OrderID: id, CustomerID: "ada", Items: []domain.Item{{SKU: "mug", Quantity: qty}},
			ShipTo: domain.Address{Name: "Ada", Line1: "1 Main St", City: "Somewhere", PostalCode: "12345", Country: "DE"}}, s.Hosted().Saga.Names(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Intake().Place(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	store := s.Hosted().Notifications
	var live []notifications.Notification
	for deadline := time.Now().Add(30 * time.Second); len(live) < 2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("notifications %+v, want the 2 orders'", live)
		}
		if live, err = store.All(ctx); err != nil {
			t.Fatal(err)
		}
	}

	env, stdout, stderr := testEnv(map[string]string{"ORDERSAGA_TEMPORAL_NAMESPACE": srv.Namespace()})
	code := Execute(ctx, env, []string{"orchestrated", "rebuild", "notifications", "-data-dir", dir, "-temporal-address", srv.FrontendAddress()})
	if code != 0 {
		t.Fatalf("exit code %d; stderr %s", code, stderr)
	}
	t.Logf("ordersaga orchestrated rebuild notifications:\n%s", stdout)
	for _, want := range []string{"from 2 saga histories", "2 as recorded", "0 backfilled", "held 2 notifications and now holds 2", "keeps a saga's history 24h0m0s"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	rebuilt, err := store.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rebuilt) != len(live) {
		t.Fatalf("rebuilt %+v, want %+v", rebuilt, live)
	}
	for i := range live {
		w, g := live[i], rebuilt[i]
		w.RecordedAt, g.RecordedAt = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("rebuilt %+v\nwant    %+v", g, w)
		}
	}
}

func TestOrchestratedCommand_RunsServicesOrRebuild(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"help"}, 0, "orchestrated rebuild", ""},
		{[]string{"orchestrated", "rebuild", "-h"}, 0, "", "-temporal-namespace"},
		{[]string{"orchestrated", "rebuild"}, 2, "", "name the projection to rebuild: notifications"},
		{[]string{"orchestrated", "rebuild", "notifications", "-concurrency", "0"}, 2, "", "-concurrency 0"},
		{[]string{"orchestrated", "rebuild", "timeline"}, 2, "", "name the projection to rebuild: notifications"},
		{[]string{"orchestrated", "orders,billing"}, 2, "", `unknown role "billing"`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			env, stdout, stderr := testEnv(nil)
			if got := Execute(context.Background(), env, tc.args); got != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", got, tc.code, stderr)
			}
			if !strings.Contains(stdout.String(), tc.inStdout) {
				t.Errorf("stdout %q lacks %q", stdout, tc.inStdout)
			}
			if !strings.Contains(stderr.String(), tc.inStderr) {
				t.Errorf("stderr %q lacks %q", stderr, tc.inStderr)
			}
		})
	}
}
