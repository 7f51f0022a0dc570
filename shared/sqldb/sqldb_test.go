package sqldb_test

import (
	"context"
	"embed"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

//go:embed testdata/migrations/*.sql
var testMigrations embed.FS

func things() sqldb.Migrations {
	return sqldb.Migrations{Service: "things", FS: testMigrations, Dir: "testdata/migrations"}
}

func TestMigrate_AppliesOnceAndReportsVersion(t *testing.T) {
	sqltest.Each(t, []sqldb.Migrations{things()}, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if err := db.Migrate(ctx, things()); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		v, dirty, err := db.MigrationVersion(ctx, things())
		if err != nil || v != 1 || dirty {
			t.Fatalf("version = %d dirty=%v err=%v, want 1 clean", v, dirty, err)
		}
		if err := db.MigrateDown(ctx, things()); err != nil {
			t.Fatalf("down: %v", err)
		}
		if _, err := db.ExecContext(ctx, "SELECT 1 FROM things"); err == nil {
			t.Fatal("table things still exists after migrating down")
		}
	})
}

func TestInTx_RollsBackOnErrorAndRunsAfterCommitOnlyOnCommit(t *testing.T) {
	sqltest.Each(t, []sqldb.Migrations{things()}, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		hooks := 0
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			tx.AfterCommit(func() { hooks++ })
			if _, err := tx.ExecContext(ctx, "INSERT INTO things (id, name, qty) VALUES ($1, $2, $3)", 1, "a", 5); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx error = %v, want boom", err)
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM things").Scan(&n); err != nil || n != 0 {
			t.Fatalf("rows after rollback = %d (%v), want 0", n, err)
		}
		if hooks != 0 {
			t.Fatalf("after-commit hook ran %d times on rollback", hooks)
		}
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			tx.AfterCommit(func() { hooks++ })
			_, err := tx.ExecContext(ctx, "INSERT INTO things (id, name, qty) VALUES ($1, $2, $3)", 1, "a", 5)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if hooks != 1 {
			t.Fatalf("after-commit hook ran %d times, want 1", hooks)
		}
		err = db.InTx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO things (id, name, qty) VALUES ($1, $2, $3)", 2, "a", 1)
			return err
		})
		if !sqldb.IsUniqueViolation(err) {
			t.Fatalf("duplicate name: err = %v, want a unique violation", err)
		}
	})
}

// TestInTx_ConcurrentDecrementsNeverGoNegative races many transactions for
// the same row; the conditional update and the engine's locking must keep
// the quantity from going below zero.
func TestInTx_ConcurrentDecrementsNeverGoNegative(t *testing.T) {
	sqltest.Each(t, []sqldb.Migrations{things()}, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		sqltest.MustExec(t, db, "INSERT INTO things (id, name, qty) VALUES (1, 'last', 10)")
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			won int
		)
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := db.InTx(ctx, func(tx *sqldb.Tx) error {
					res, err := tx.ExecContext(ctx, "UPDATE things SET qty = qty - 1 WHERE id = 1 AND qty >= 1")
					if err != nil {
						return err
					}
					if n, _ := res.RowsAffected(); n == 1 {
						tx.AfterCommit(func() { mu.Lock(); won++; mu.Unlock() })
					}
					return nil
				})
				if err != nil {
					t.Errorf("decrement: %v", err)
				}
			}()
		}
		wg.Wait()
		var qty int
		if err := db.QueryRowContext(ctx, "SELECT qty FROM things WHERE id = 1").Scan(&qty); err != nil {
			t.Fatal(err)
		}
		if won != 10 || qty != 0 {
			t.Fatalf("won=%d qty=%d, want 10 winners and 0 left", won, qty)
		}
	})
}

func TestOpen_RejectsUnknownAddressAndRedactsPassword(t *testing.T) {
	_, err := sqldb.Open(context.Background(), "mysql://root:secret@localhost/x")
	if err == nil {
		t.Fatal("Open accepted a mysql address")
	}
	if got := err.Error(); strings.Contains(got, "secret") {
		t.Fatalf("error leaks the password: %s", got)
	}
}
