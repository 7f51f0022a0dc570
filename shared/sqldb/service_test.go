package sqldb_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

func TestTimestamp_TruncatesToMicrosecondsInUTC(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"drops nanoseconds", time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.UTC), time.Date(2026, 3, 4, 5, 6, 7, 891234000, time.UTC)},
		{"keeps whole microseconds", time.Date(2026, 3, 4, 5, 6, 7, 891234000, time.UTC), time.Date(2026, 3, 4, 5, 6, 7, 891234000, time.UTC)},
		{"moves to UTC", time.Date(2026, 3, 4, 6, 6, 7, 999, paris), time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)},
		{"before 1970 rounds down", time.Unix(-1, 1500).UTC(), time.Unix(-1, 1000).UTC()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sqldb.Timestamp(tt.in)
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Fatalf("Timestamp(%v) = %v, want %v in UTC", tt.in, got, tt.want)
			}
			if got != tt.want {
				t.Fatalf("Timestamp(%v) = %#v, want %#v (no monotonic reading)", tt.in, got, tt.want)
			}
		})
	}
	if now := time.Now(); sqldb.Timestamp(now) != sqldb.Timestamp(sqldb.Timestamp(now)) {
		t.Fatal("Timestamp is not idempotent")
	}
}

// losing returns an injector that loses every reply.
func losing(t *testing.T) *faults.Injector {
	t.Helper()
	in := faults.New("things", 1)
	if err := in.Set(faults.Setting{ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	return in
}

func countThings(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM things").Scan(&n); err != nil {
		t.Fatalf("counting things: %v", err)
	}
	return n
}

func TestInOwnTx_CommitsAndReturnsTheResult(t *testing.T) {
	sqltest.Each(t, []sqldb.Migrations{things()}, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		for i, f := range []sqldb.LostReplies{nil, (*faults.Injector)(nil), faults.New("things", 1)} {
			got, err := sqldb.InOwnTx(ctx, db, f, "add", "thing a", func(tx *sqldb.Tx) (int, error) {
				_, err := tx.ExecContext(ctx, "INSERT INTO things (id, name, qty) VALUES ($1, $2, 1)", i, string(rune('a'+i)))
				return i + 40, err
			})
			if err != nil || got != i+40 {
				t.Fatalf("injector %d: InOwnTx = %d, %v; want %d, nil", i, got, err, i+40)
			}
		}
		if n := countThings(t, db); n != 3 {
			t.Fatalf("%d things committed, want 3", n)
		}
	})
}

func TestInOwnTx_RollsBackOnErrorWithoutAskingTheInjector(t *testing.T) {
	sqltest.Each(t, []sqldb.Migrations{things()}, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		got, err := sqldb.InOwnTx(ctx, db, losing(t), "add", "thing a", func(tx *sqldb.Tx) (string, error) {
			if _, err := tx.ExecContext(ctx, "INSERT INTO things (id, name, qty) VALUES (1, 'a', 1)"); err != nil {
				return "", err
			}
			return "added", boom
		})
		if !errors.Is(err, boom) || errors.Is(err, faults.ErrInjected) || got != "" {
			t.Fatalf("InOwnTx = %q, %v; want the zero value and boom alone", got, err)
		}
		if n := countThings(t, db); n != 0 {
			t.Fatalf("%d things after the rollback, want 0", n)
		}
	})
}

func TestInOwnTx_LostReplyKeepsTheCommitAndSaysWhat(t *testing.T) {
	sqltest.Each(t, []sqldb.Migrations{things()}, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		got, err := sqldb.InOwnTx(ctx, db, losing(t), "add", "thing a", func(tx *sqldb.Tx) (int, error) {
			_, err := tx.ExecContext(ctx, "INSERT INTO things (id, name, qty) VALUES (1, 'a', 1)")
			return 1, err
		})
		if !errors.Is(err, faults.ErrInjected) || got != 0 {
			t.Fatalf("InOwnTx = %d, %v; want 0 and an injected fault", got, err)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "add thing a: reply lost after commit: ") {
			t.Fatalf("error %q does not name the operation and its subject", msg)
		}
		if n := countThings(t, db); n != 1 {
			t.Fatalf("%d things after a lost reply, want the 1 committed", n)
		}
	})
}
