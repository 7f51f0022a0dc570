package hosted_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// commitsByDatabase gathers reg and returns the commits metric's value by
// database label.
func commitsByDatabase(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != hosted.CommitsMetric {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "database" {
					got[lp.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return got
}

// The commits metric has a series per hosted role's database, which grows
// by the transactions that database committed, and only that one's.
func TestRegisterMetrics_CommitsPerHostedDatabase(t *testing.T) {
	dbs := hosted.SQLiteDatabases(t.TempDir())
	cfg := hosted.Config{Roles: []hosted.Role{hosted.RoleOrders, hosted.RoleInventory}, Databases: map[hosted.Role]string{
		hosted.RoleOrders: dbs[hosted.RoleOrders], hosted.RoleInventory: dbs[hosted.RoleInventory]}}
	n := openNode(t, cfg)
	reg := prometheus.NewRegistry()
	if err := n.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if err := n.RegisterMetrics(reg); err != nil {
		t.Fatalf("registering the same services again: %v", err)
	}
	before := commitsByDatabase(t, reg)
	if len(before) != 2 {
		t.Fatalf("series %v, want one for orders and one for inventory", before)
	}
	ctx := testContext(t)
	for range 3 {
		if err := n.DBs[hosted.RoleInventory].InTx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, "SELECT 1")
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	after := commitsByDatabase(t, reg)
	if d := after["inventory"] - before["inventory"]; d != 3 {
		t.Errorf("inventory commits grew by %v, want 3", d)
	}
	if d := after["orders"] - before["orders"]; d != 0 {
		t.Errorf("orders commits grew by %v, want 0", d)
	}
	if after["inventory"] != float64(n.DBs[hosted.RoleInventory].Commits()) {
		t.Errorf("metric %v, DB's count %d", after["inventory"], n.DBs[hosted.RoleInventory].Commits())
	}
	other := openNode(t, hosted.Config{Roles: []hosted.Role{hosted.RolePayment},
		Databases: map[hosted.Role]string{hosted.RolePayment: dbs[hosted.RolePayment]}})
	if err := other.RegisterMetrics(reg); err == nil {
		t.Error("a second Services registered with the same registry")
	}
}
