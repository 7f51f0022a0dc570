package shipping_test

import (
	"context"
	"testing"

	"github.com/ordersaga/ordersaga/shared/shipping"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

func TestMigrations_RevertAndReapply(t *testing.T) {
	eachDB(t, shipping.Config{}, nil, func(t *testing.T, db *sqldb.DB, svc *shipping.Service) {
		ctx := context.Background()
		m := shipping.Migrations()
		if err := db.MigrateDown(ctx, m); err != nil {
			t.Fatalf("reverting: %v", err)
		}
		if v, _, err := db.MigrationVersion(ctx, m); err != nil || v != 0 {
			t.Fatalf("version after revert = %d, %v; want 0", v, err)
		}
		if err := db.Migrate(ctx, m); err != nil {
			t.Fatalf("reapplying: %v", err)
		}
		if sh := ship(t, svc, "o-1", "DE"); sh.Status != shipping.Created {
			t.Fatalf("ship after reapplying = %+v", sh)
		}
	})
}
