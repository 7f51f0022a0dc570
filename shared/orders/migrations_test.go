package orders_test

import (
	"context"
	"testing"

	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

func TestMigrations_RevertAndReapply(t *testing.T) {
	eachDB(t, func(t *testing.T, db *sqldb.DB, store *orders.Store) {
		ctx := context.Background()
		m := orders.Migrations()
		if err := db.MigrateDown(ctx, m); err != nil {
			t.Fatalf("reverting: %v", err)
		}
		if v, _, err := db.MigrationVersion(ctx, m); err != nil || v != 0 {
			t.Fatalf("version after revert = %d, %v; want 0", v, err)
		}
		if err := db.Migrate(ctx, m); err != nil {
			t.Fatalf("reapplying: %v", err)
		}
		create(t, store, "o-1", t0)
		if o := get(t, store, "o-1"); o.ID() != "o-1" {
			t.Fatalf("read %s after reapplying", o.ID())
		}
	})
}
