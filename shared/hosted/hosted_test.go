package hosted_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// openNode opens the hosted services of cfg, migrating their databases.
func openNode(tb testing.TB, cfg hosted.Config) *hosted.Services {
	tb.Helper()
	cfg.Migrate = true
	n, err := hosted.Open(testContext(tb), cfg, time.Now)
	if err != nil {
		tb.Fatalf("opening node: %v", err)
	}
	tb.Cleanup(func() { _ = n.Close() })
	return n
}

func TestSQLiteDatabases_OneFilePerRoleInDir(t *testing.T) {
	dir := t.TempDir()
	dbs := hosted.SQLiteDatabases(dir)
	if len(dbs) != len(hosted.AllRoles()) {
		t.Fatalf("got %d databases, want one per role (%d)", len(dbs), len(hosted.AllRoles()))
	}
	seen := map[string]bool{}
	for _, r := range hosted.AllRoles() {
		want := "sqlite:" + filepath.Join(dir, string(r)+".db")
		if dbs[r] != want {
			t.Errorf("role %s: got %q, want %q", r, dbs[r], want)
		}
		if seen[dbs[r]] {
			t.Errorf("role %s shares database %q", r, dbs[r])
		}
		seen[dbs[r]] = true
	}
}

func TestOpen_AllRoles_MigratesAndServesEveryService(t *testing.T) {
	dir := t.TempDir()
	cfg := hosted.Config{Databases: hosted.SQLiteDatabases(dir), FaultSeed: 7}
	n := openNode(t, cfg)
	ctx := testContext(t)

	for _, r := range hosted.AllRoles() {
		if !n.Hosts(r) {
			t.Errorf("node does not host %s", r)
		}
		if _, err := os.Stat(filepath.Join(dir, string(r)+".db")); err != nil {
			t.Errorf("database file of %s: %v", r, err)
		}
	}
	if n.Orders == nil || n.Inventory == nil || n.Payment == nil || n.Shipping == nil {
		t.Fatalf("a service is missing: %+v", n)
	}
	for _, s := range []string{"inventory", "payment", "shipping"} {
		in := n.Faults[s]
		if in == nil {
			t.Fatalf("no fault injector for %s", s)
		}
		if in.Service() != s {
			t.Errorf("injector of %s names itself %q", s, in.Service())
		}
	}
	if len(n.Faults) != 3 {
		t.Errorf("got %d fault injectors, want 3", len(n.Faults))
	}
	p := n.Participants
	if len(p) != 3 || p[domain.StepInventory] != n.Inventory || p[domain.StepPayment] != n.Payment || p[domain.StepShipping] != n.Shipping {
		t.Errorf("participants %+v are not the node's services", p)
	}
	if got := n.Roles(); !slices.Equal(got, hosted.AllRoles()) {
		t.Errorf("roles = %v, want %v", got, hosted.AllRoles())
	}
	if err := n.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}

	// The services work on their migrated databases.
	if _, err := n.Inventory.SetProduct(ctx, inventory.ProductInput{SKU: "mug", Name: "Mug", PriceCents: 1250, Stock: 4}); err != nil {
		t.Fatalf("setting product: %v", err)
	}
	if _, err := n.Payment.SetCustomer(ctx, payment.CustomerInput{ID: "ada", Name: "Ada", CreditCents: 5000}); err != nil {
		t.Fatalf("setting customer: %v", err)
	}
	page, err := n.Orders.List(ctx, orders.Filter{})
	if err != nil {
		t.Fatalf("listing orders: %v", err)
	}
	if len(page.Orders) != 0 {
		t.Errorf("fresh order store lists %d orders", len(page.Orders))
	}
	if !n.Shipping.Serves("DE") || n.Shipping.Serves("AQ") {
		t.Errorf("shipping serves DE=%v AQ=%v, want true false", n.Shipping.Serves("DE"), n.Shipping.Serves("AQ"))
	}

	// Reopening runs the migrations again as a no-op and keeps the data.
	if err := n.Close(); err != nil {
		t.Fatalf("closing: %v", err)
	}
	again := openNode(t, cfg)
	got, err := again.Inventory.Product(ctx, "mug")
	if err != nil {
		t.Fatalf("product after reopening: %v", err)
	}
	if got.Name != "Mug" || got.PriceCents != 1250 || got.Available != 4 {
		t.Errorf("product after reopening = %+v", got)
	}
	c, err := again.Payment.Customer(ctx, "ada")
	if err != nil {
		t.Fatalf("customer after reopening: %v", err)
	}
	if c.CreditCents != 5000 {
		t.Errorf("customer credit after reopening = %d, want 5000", c.CreditCents)
	}
}

func TestOpen_WithoutMigrate_RefusesDatabasesNotMigratedAndOpensMigratedOnes(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			dbs := map[hosted.Role]string{}
			for _, r := range hosted.AllRoles() {
				dbs[r] = sqltest.DSN(t, d)
			}
			n, err := hosted.Open(testContext(t), hosted.Config{Databases: dbs}, time.Now)
			if err == nil {
				n.Close()
				t.Fatal("opening databases never migrated, without Migrate, succeeded")
			}
			se, ok := errors.AsType[*sqldb.SchemaVersionError](err)
			if !ok || se.Version != 0 || se.Latest == 0 {
				t.Fatalf("error %v, want a *sqldb.SchemaVersionError at version 0", err)
			}
			if !strings.Contains(err.Error(), "orders database") || !strings.Contains(err.Error(), "is at schema version 0 of orders, this binary needs") {
				t.Errorf("error %q does not say which database is behind", err)
			}
			openNode(t, hosted.Config{Databases: dbs}).Close() // migrates
			n, err = hosted.Open(testContext(t), hosted.Config{Databases: dbs}, time.Now)
			if err != nil {
				t.Fatalf("opening migrated databases without Migrate: %v", err)
			}
			n.Close()
		})
	}
}

func TestOpen_SomeRoles_BuildsOnlyThoseServices(t *testing.T) {
	dbs := hosted.SQLiteDatabases(t.TempDir())
	n := openNode(t, hosted.Config{
		Roles:     []hosted.Role{hosted.RolePayment, hosted.RoleShipping},
		Databases: map[hosted.Role]string{hosted.RolePayment: dbs[hosted.RolePayment], hosted.RoleShipping: dbs[hosted.RoleShipping]},
		Countries: []string{"BR"},
	})
	if n.Orders != nil || n.Inventory != nil {
		t.Errorf("node built services it does not host: orders=%v inventory=%v", n.Orders, n.Inventory)
	}
	if n.Payment == nil || n.Shipping == nil {
		t.Fatalf("node lacks a hosted service: payment=%v shipping=%v", n.Payment, n.Shipping)
	}
	if n.Hosts(hosted.RoleOrders) || n.Hosts(hosted.RoleInventory) || !n.Hosts(hosted.RolePayment) || !n.Hosts(hosted.RoleShipping) {
		t.Errorf("Hosts disagrees with the roles: %v", n.DBs)
	}
	if _, ok := n.Faults["inventory"]; ok {
		t.Errorf("node has a fault injector for inventory, which it does not host")
	}
	if n.Faults["payment"] == nil || n.Faults["shipping"] == nil {
		t.Errorf("fault injectors = %v, want payment and shipping", n.Faults)
	}
	if p := n.Participants; len(p) != 2 || p[domain.StepPayment] == nil || p[domain.StepShipping] == nil {
		t.Errorf("participants = %+v, want payment and shipping", p)
	}
	if !n.Shipping.Serves("BR") {
		t.Errorf("shipping does not serve the configured extra country BR")
	}
}

func TestOpen_RoleWithoutDatabase_Fails(t *testing.T) {
	dbs := hosted.SQLiteDatabases(t.TempDir())
	delete(dbs, hosted.RoleShipping)
	n, err := hosted.Open(testContext(t), hosted.Config{Databases: dbs}, time.Now)
	if err == nil {
		n.Close()
		t.Fatal("opening a node without a shipping database succeeded")
	}
	if !strings.Contains(err.Error(), "shipping") {
		t.Errorf("error %q does not name the role", err)
	}
}

func TestOpen_UnknownRole_Fails(t *testing.T) {
	n, err := hosted.Open(testContext(t), hosted.Config{
		Roles:     []hosted.Role{"billing"},
		Databases: map[hosted.Role]string{"billing": "sqlite::memory:"},
	}, time.Now)
	if err == nil {
		n.Close()
		t.Fatal("opening a node with an unknown role succeeded")
	}
}

func TestFaults_InjectorOfHostedService_FailsItsCalls(t *testing.T) {
	n := openNode(t, hosted.Config{Databases: hosted.SQLiteDatabases(t.TempDir())})
	ctx := testContext(t)
	if _, err := n.Payment.SetCustomer(ctx, payment.CustomerInput{ID: "ada", Name: "Ada", CreditCents: 5000}); err != nil {
		t.Fatalf("setting customer: %v", err)
	}
	if err := n.Faults["payment"].Set(faultsAlways()); err != nil {
		t.Fatalf("setting faults: %v", err)
	}
	_, err := n.Payment.Charge(ctx, "o-1", "ada", domain.Cents(100))
	if !errs.Is(err, errs.Unavailable) {
		t.Fatalf("charge with every call failing: got %v, want an unavailable error", err)
	}
}

// dropDatabases drops every database named prefix_role when the test ends.
func dropDatabases(tb testing.TB, base, prefix string) {
	tb.Helper()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := sqldb.Open(ctx, base)
		if err != nil {
			tb.Errorf("dropping test databases: %v", err)
			return
		}
		defer admin.Close()
		for _, r := range hosted.AllRoles() {
			if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+prefix+"_"+string(r)+" WITH (FORCE)"); err != nil {
				tb.Errorf("dropping test database: %v", err)
			}
		}
	})
}

func randomPrefix(tb testing.TB) string {
	tb.Helper()
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	return "nodetest_" + hex.EncodeToString(b[:])
}

func TestPostgresDatabases_ConcurrentCallers_CreateEachDatabaseOnce(t *testing.T) {
	base := sqltest.Server(t)
	prefix := randomPrefix(t)
	dropDatabases(t, base, prefix)
	ctx := testContext(t)

	const callers = 4
	results := make([]map[hosted.Role]string, callers)
	errList := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { results[i], errList[i] = hosted.PostgresDatabases(ctx, base, prefix) })
	}
	wg.Wait()
	for i, err := range errList {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	baseURL, _ := url.Parse(base)
	for _, r := range hosted.AllRoles() {
		got := results[0][r]
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("role %s address %q: %v", r, got, err)
		}
		if u.Path != "/"+prefix+"_"+string(r) {
			t.Errorf("role %s: database path %q, want /%s_%s", r, u.Path, prefix, r)
		}
		if u.Host != baseURL.Host || u.RawQuery != baseURL.RawQuery || u.User.String() != baseURL.User.String() {
			t.Errorf("role %s: address %q does not keep the server, user and options of %q", r, got, base)
		}
		for i := 1; i < callers; i++ {
			if results[i][r] != got {
				t.Errorf("caller %d got %q for %s, caller 0 got %q", i, results[i][r], r, got)
			}
		}
	}

	// The databases exist and the services run on them.
	n := openNode(t, hosted.Config{Databases: results[0]})
	if _, err := n.Inventory.SetProduct(ctx, inventory.ProductInput{SKU: "mug", Name: "Mug", PriceCents: 1250, Stock: 1}); err != nil {
		t.Fatalf("setting product on PostgreSQL: %v", err)
	}
	for r, db := range n.DBs {
		if db.Dialect() != sqldb.Postgres {
			t.Errorf("role %s runs on %s", r, db.Dialect())
		}
	}

	// A second call finds the databases and keeps their data.
	again, err := hosted.PostgresDatabases(ctx, base, prefix)
	if err != nil {
		t.Fatalf("second call: %v", err)
	}
	n2 := openNode(t, hosted.Config{Databases: again})
	if p, err := n2.Inventory.Product(ctx, "mug"); err != nil || p.Available != 1 {
		t.Errorf("product after second call = %+v, %v", p, err)
	}
}

func TestPostgresDatabases_BadPrefixOrAddress_Refused(t *testing.T) {
	ctx := testContext(t)
	for _, prefix := range []string{"", "Orders", "a-b", "x; DROP DATABASE postgres", "1abc"} {
		if _, err := hosted.PostgresDatabases(ctx, sqltest.PostgresURL(), prefix); err == nil {
			t.Errorf("prefix %q accepted", prefix)
		}
	}
	if _, err := hosted.PostgresDatabases(ctx, "sqlite:/tmp/x.db", "ok"); err == nil {
		t.Errorf("a non-PostgreSQL base address was accepted")
	}
}

func faultsAlways() faults.Setting { return faults.Setting{ErrorRate: 1} }
