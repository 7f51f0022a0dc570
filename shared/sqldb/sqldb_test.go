package sqldb_test

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

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

// TestInTx_SQLiteWriters_QueueForTheWriteLockAndAlwaysReleaseIt: while one
// transaction of a SQLite database writes, the others wait for it; a waiter
// whose context ends gives up without running; a transaction that failed or
// panicked releases the lock like one that committed.
func TestInTx_SQLiteWriters_QueueForTheWriteLockAndAlwaysReleaseIt(t *testing.T) {
	db := sqltest.Open(t, sqldb.SQLite, things())
	ctx := context.Background()
	sqltest.MustExec(t, db, "INSERT INTO things (id, name, qty) VALUES (1, 'a', 0)")
	increment := func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE things SET qty = qty + 1 WHERE id = 1")
		return err
	}

	holding, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- db.InTx(ctx, func(tx *sqldb.Tx) error {
			if err := increment(tx); err != nil {
				return err
			}
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding

	gone, cancel := context.WithCancel(ctx)
	cancel()
	ran := false
	if err := db.InTx(gone, func(*sqldb.Tx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("a writer whose context ended while it waited: err = %v, ran = %v; want context.Canceled, not run", err, ran)
	}

	const waiters = 20
	var wg sync.WaitGroup
	errs := make(chan error, waiters)
	for range waiters {
		wg.Go(func() { errs <- db.InTx(ctx, increment) })
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first writer: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("queued writer: %v", err)
		}
	}

	boom := errors.New("boom")
	if err := db.InTx(ctx, func(tx *sqldb.Tx) error { _ = increment(tx); return boom }); !errors.Is(err, boom) {
		t.Fatalf("failing writer: err = %v, want boom", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the writer's panic did not reach its caller")
			}
		}()
		_ = db.InTx(ctx, func(tx *sqldb.Tx) error { _ = increment(tx); panic("boom") })
	}()
	if err := db.InTx(ctx, increment); err != nil {
		t.Fatalf("writer after a failure and a panic: %v", err)
	}
	var qty int
	if err := db.QueryRowContext(ctx, "SELECT qty FROM things WHERE id = 1").Scan(&qty); err != nil {
		t.Fatal(err)
	}
	if want := 1 + waiters + 1; qty != want {
		t.Fatalf("qty = %d, want %d", qty, want)
	}
	if !sqldb.Retryable(fmt.Errorf("waiting: %w", sqldb.ErrBusy)) {
		t.Fatal("ErrBusy is not retryable")
	}
}

// TestInTx_BeforeCommit_WritesInTheTransactionInOrderAndItsErrorRollsBack:
// the functions registered with BeforeCommit run after the work, inside the
// transaction, in order; one that fails rolls everything back; none runs
// when the work failed. Values set in a transaction stay in it.
func TestInTx_BeforeCommit_WritesInTheTransactionInOrderAndItsErrorRollsBack(t *testing.T) {
	sqltest.Each(t, []sqldb.Migrations{things()}, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		type key struct{}
		insert := func(tx *sqldb.Tx, id int) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO things (id, name, qty) VALUES ($1, $2, 1)", id, fmt.Sprintf("t%d", id))
				return err
			}
		}
		var order []int
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if tx.Value(key{}) != nil {
				t.Error("a new transaction holds a value")
			}
			tx.SetValue(key{}, 7)
			tx.BeforeCommit(func(ctx context.Context) error { order = append(order, 1); return insert(tx, 1)(ctx) })
			tx.BeforeCommit(func(ctx context.Context) error {
				order = append(order, 2)
				if tx.Value(key{}) != 7 {
					t.Errorf("value in the transaction = %v, want 7", tx.Value(key{}))
				}
				return insert(tx, 2)(ctx)
			})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(order) != "[1 2]" {
			t.Fatalf("before-commit functions ran as %v, want [1 2]", order)
		}

		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if tx.Value(key{}) != nil {
				t.Error("a value leaked from another transaction")
			}
			tx.BeforeCommit(insert(tx, 3))
			tx.BeforeCommit(func(context.Context) error { return boom })
			return nil
		})
		if !errors.Is(err, boom) {
			t.Fatalf("failing before-commit: err = %v, want boom", err)
		}
		ran := false
		err = db.InTx(ctx, func(tx *sqldb.Tx) error {
			tx.BeforeCommit(func(context.Context) error { ran = true; return nil })
			return boom
		})
		if !errors.Is(err, boom) || ran {
			t.Fatalf("failing work: err = %v, before-commit ran = %v; want boom, not run", err, ran)
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM things").Scan(&n); err != nil || n != 2 {
			t.Fatalf("rows = %d (%v), want the 2 of the committed transaction", n, err)
		}
	})
}

// TestInTx_SQLiteFile_LogFoldedIntoTheFileInTheBackground: commits go to
// the write-ahead log, and the background checkpoints copy them into the
// database file while the database stays open (no commit does it itself).
func TestInTx_SQLiteFile_LogFoldedIntoTheFileInTheBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wal.db")
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sqltest.MustExec(t, db, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
	size := func() int64 {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	before := size()
	body := strings.Repeat("x", 2000)
	for i := range 1200 {
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO notes (id, body) VALUES ($1, $2)", i, body)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for size() < before+1<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes (%d before 2.4 MB of commits): no checkpoint ran", size(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// thingsUpTo returns the migrations "things" with versions 1 (the table)
// and, with two, 2 (a column more): a binary that needs version 2 finds
// a database at version 1 older.
func thingsUpTo(two bool) sqldb.Migrations {
	files := fstest.MapFS{
		"m/0001_things.up.sql":   {Data: []byte("CREATE TABLE things (id BIGINT PRIMARY KEY);")},
		"m/0001_things.down.sql": {Data: []byte("DROP TABLE things;")},
	}
	if two {
		files["m/0002_colour.up.sql"] = &fstest.MapFile{Data: []byte("ALTER TABLE things ADD COLUMN colour TEXT;")}
		files["m/0002_colour.down.sql"] = &fstest.MapFile{Data: []byte("ALTER TABLE things DROP COLUMN colour;")}
	}
	return sqldb.Migrations{Service: "things", FS: files, Dir: "m"}
}

func TestLatest_IsTheHighestVersionOfTheFolder(t *testing.T) {
	for two, want := range map[bool]uint{false: 1, true: 2} {
		if got, err := thingsUpTo(two).Latest(); err != nil || got != want {
			t.Errorf("Latest() = %d, %v; want %d", got, err, want)
		}
	}
	if _, err := (sqldb.Migrations{Service: "none", FS: fstest.MapFS{}, Dir: "."}).Latest(); err == nil {
		t.Error("Latest() of a folder without migrations: no error")
	}
}

func TestCheckVersion_RefusesNeverMigratedOlderAndDirty_AcceptsLatestAndNewer(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db := sqltest.Open(t, d)
			v1, v2 := thingsUpTo(false), thingsUpTo(true)
			refused := func(m sqldb.Migrations, version uint, dirty bool, text string) {
				t.Helper()
				err := db.CheckVersion(ctx, m)
				se, ok := errors.AsType[*sqldb.SchemaVersionError](err)
				if !ok {
					t.Fatalf("CheckVersion = %v, want a *SchemaVersionError", err)
				}
				if se.Service != "things" || se.Version != version || se.Latest != 2 || se.Dirty != dirty {
					t.Errorf("CheckVersion = %+v, want version %d of 2, dirty %v", se, version, dirty)
				}
				if !strings.Contains(err.Error(), text) || !strings.Contains(err.Error(), db.Name()) {
					t.Errorf("message %q lacks %q or the database's name", err, text)
				}
			}

			refused(v2, 0, false, "is at schema version 0 of things, this binary needs 2")
			if _, err := db.ExecContext(ctx, "SELECT 1 FROM schema_migrations_things"); err == nil {
				t.Error("checking created the version table: a check must only read")
			}
			if err := db.Migrate(ctx, v1); err != nil {
				t.Fatal(err)
			}
			refused(v2, 1, false, "is at schema version 1 of things, this binary needs 2")
			if err := db.CheckVersion(ctx, v1); err != nil {
				t.Errorf("CheckVersion by a binary that needs version 1 (a newer one's database is fine too): %v", err)
			}
			if err := db.Migrate(ctx, v2); err != nil {
				t.Fatal(err)
			}
			if err := db.CheckVersion(ctx, v2); err != nil {
				t.Errorf("CheckVersion at the latest version: %v", err)
			}
			if _, err := db.ExecContext(ctx, "UPDATE schema_migrations_things SET dirty = $1", true); err != nil {
				t.Fatal(err)
			}
			refused(v2, 2, true, "is dirty at schema version 2 of things")
		})
	}
}

// Commits counts each transaction InTx committed, once however many
// attempts it took, and each ExecCommit statement; not a rolled-back
// transaction, a failed statement, or a plain read.
func TestCommits_CountsCommittedTransactionsAndExecCommit(t *testing.T) {
	sqltest.Each(t, []sqldb.Migrations{things()}, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		start := db.Commits()
		insert := func(id int) func(tx *sqldb.Tx) error {
			return func(tx *sqldb.Tx) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO things (id, name, qty) VALUES ($1, $2, $3)", id, fmt.Sprint("thing-", id), 1)
				return err
			}
		}
		for id := 1; id <= 3; id++ {
			if err := db.InTx(ctx, insert(id)); err != nil {
				t.Fatal(err)
			}
		}
		if got := db.Commits() - start; got != 3 {
			t.Fatalf("after 3 committed transactions: %d commits", got)
		}
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error { _ = insert(9)(tx); return errors.New("boom") }); err == nil {
			t.Fatal("InTx returned no error")
		}
		if err := db.InTx(ctx, insert(1)); err == nil { // duplicate key: the commit is never reached
			t.Fatal("duplicate insert committed")
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM things").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if got := db.Commits() - start; got != 3 {
			t.Fatalf("after a rollback, a failed insert and a read: %d commits, want 3", got)
		}
		// A transaction retried after a transient conflict counts once.
		attempts := 0
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			attempts++
			if attempts == 1 {
				return fmt.Errorf("first attempt: %w", sqldb.ErrBusy)
			}
			return insert(4)(tx)
		}); err != nil || attempts != 2 {
			t.Fatalf("retried transaction: %v after %d attempts", err, attempts)
		}
		res, err := db.ExecCommit(ctx, "DELETE FROM things WHERE id = $1", 4)
		if err != nil {
			t.Fatal(err)
		}
		if k, _ := res.RowsAffected(); k != 1 {
			t.Fatalf("ExecCommit deleted %d rows, want 1", k)
		}
		if _, err := db.ExecCommit(ctx, "DELETE FROM no_such_table"); err == nil {
			t.Fatal("ExecCommit on a missing table succeeded")
		}
		if got := db.Commits() - start; got != 5 {
			t.Fatalf("after a retried transaction and an ExecCommit: %d commits, want 5", got)
		}
	})
}
