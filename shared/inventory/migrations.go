package inventory

import (
	"embed"

	"github.com/ordersaga/ordersaga/shared/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the inventory database's migrations.
func Migrations() sqldb.Migrations {
	return sqldb.Migrations{Service: "inventory", FS: migrationFiles, Dir: "migrations"}
}
