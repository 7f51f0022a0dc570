package notifications

import (
	"embed"

	"github.com/ordersaga/ordersaga/shared/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the notification database's migrations.
func Migrations() sqldb.Migrations {
	return sqldb.Migrations{Service: "notifications", FS: migrationFiles, Dir: "migrations"}
}
