package inventory_test

import (
	"context"
	"testing"

	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

func TestMigrations_DownThenUpAgain_RestoresEveryTable(t *testing.T) {
	t.Parallel()
	for _, d := range sqltest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			m := inventory.Migrations()
			db := sqltest.Open(t, d, m)
			tables := []string{"products", "reservations", "reservation_items"}
			wantTables(t, db, tables, true)

			if err := db.MigrateDown(ctx, m); err != nil {
				t.Fatalf("migrating down: %v", err)
			}
			wantTables(t, db, tables, false)
			if err := db.Migrate(ctx, m); err != nil {
				t.Fatalf("migrating up again: %v", err)
			}
			wantTables(t, db, tables, true)
			if v, dirty, err := db.MigrationVersion(ctx, m); err != nil || dirty || v == 0 {
				t.Fatalf("migration version = %d (dirty %v), %v; want a clean version", v, dirty, err)
			}
		})
	}
}

// wantTables fails the test unless every table exists (or none does).
func wantTables(tb testing.TB, db *sqldb.DB, tables []string, exist bool) {
	tb.Helper()
	for _, table := range tables {
		_, err := db.ExecContext(context.Background(), "SELECT 1 FROM "+table+" WHERE 1 = 0")
		if (err == nil) != exist {
			tb.Fatalf("table %s: exists %v (%v), want %v", table, err == nil, err, exist)
		}
	}
}
