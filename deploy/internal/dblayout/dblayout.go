// Package dblayout says where a saga variant's service databases are, the
// same way for every command: SQLite files in a data dir, or PostgreSQL
// databases on one server named by a prefix, the variant and the role.
package dblayout

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/ordersaga/ordersaga/shared/hosted"
)

// Addresses returns the addresses of a variant's service databases: with
// postgresURL, PostgreSQL databases named dbPrefix + variant_role on that
// server (created when missing); otherwise SQLite files in dataDir/variant
// (the folder is created when missing).
func Addresses(ctx context.Context, dataDir, postgresURL, dbPrefix, variant string) (map[hosted.Role]string, error) {
	if postgresURL != "" {
		dbs, err := hosted.PostgresDatabases(ctx, postgresURL, dbPrefix+variant)
		if err != nil {
			return nil, fmt.Errorf("%s databases: %w", variant, err)
		}
		return dbs, nil
	}
	dir := filepath.Join(dataDir, variant)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s databases: %w", variant, err)
	}
	return hosted.SQLiteDatabases(dir), nil
}

// ValidPrefix reports whether prefix may start the PostgreSQL database
// names: a lower-case letter, then at most 20 lower-case letters, digits
// and underscores.
func ValidPrefix(prefix string) bool {
	return regexp.MustCompile(`^[a-z][a-z0-9_]{0,20}$`).MatchString(prefix)
}
