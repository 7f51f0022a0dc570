package orders

import (
	"embed"

	"github.com/ordersaga/ordersaga/shared/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the order database's migrations.
func Migrations() sqldb.Migrations {
	return sqldb.Migrations{Service: "orders", FS: migrationFiles, Dir: "migrations"}
}
