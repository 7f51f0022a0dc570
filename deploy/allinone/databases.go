package allinone

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ordersaga/ordersaga/shared/node"
)

// Databases returns the addresses of a variant's service databases: with
// postgresURL, PostgreSQL databases named dbPrefix + variant_role on that
// server (created when missing); otherwise SQLite files in dataDir/variant
// (the folder is created when missing).
func Databases(ctx context.Context, dataDir, postgresURL, dbPrefix, variant string) (map[node.Role]string, error) {
	if postgresURL != "" {
		dbs, err := node.PostgresDatabases(ctx, postgresURL, dbPrefix+variant)
		if err != nil {
			return nil, fmt.Errorf("%s databases: %w", variant, err)
		}
		return dbs, nil
	}
	dir := filepath.Join(dataDir, variant)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s databases: %w", variant, err)
	}
	return node.SQLiteDatabases(dir), nil
}
