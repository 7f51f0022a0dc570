package payment

import (
	"embed"

	"github.com/ordersaga/ordersaga/shared/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the payment database's migrations.
func Migrations() sqldb.Migrations {
	return sqldb.Migrations{Service: "payment", FS: migrationFiles, Dir: "migrations"}
}
