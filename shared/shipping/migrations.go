package shipping

import (
	"embed"

	"github.com/ordersaga/ordersaga/shared/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the shipping database's migrations.
func Migrations() sqldb.Migrations {
	return sqldb.Migrations{Service: "shipping", FS: migrationFiles, Dir: "migrations"}
}
