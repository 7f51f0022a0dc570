package cost

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// The usage read from a SQLite database's files is what SQLite itself
// says (page_count, freelist_count), whether the last commits are still
// in the write-ahead log or were folded into the file, and after deletes
// left free pages.
func TestReadSQLiteUsage_AgreesWithSQLite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "usage.db")
	if u, err := readCostSQLiteUsage(path); err != nil || u.UsedBytes() != 0 {
		t.Fatalf("a missing database: %+v, %v; want empty", u, err)
	}
	db, err := sqldb.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check := func(what string) costSQLiteUsage {
		t.Helper()
		var pages, free, size int64
		if err := db.QueryRowContext(ctx, "SELECT * FROM pragma_page_count, pragma_freelist_count, pragma_page_size").Scan(&pages, &free, &size); err != nil {
			t.Fatal(err)
		}
		u, err := readCostSQLiteUsage(path)
		if err != nil {
			t.Fatal(err)
		}
		if u.Pages != pages || u.FreePages != free || u.PageSize != size {
			t.Fatalf("%s: read %+v; SQLite says %d pages, %d free, of %d bytes", what, u, pages, free, size)
		}
		return u
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error { _, err := tx.ExecContext(ctx, q, args...); return err }); err != nil {
			t.Fatal(err)
		}
	}
	exec("CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB NOT NULL)")
	for i := range 200 {
		exec("INSERT INTO blobs (id, b) VALUES ($1, randomblob(3000))", i)
	}
	full := check("200 rows, in the log")
	if full.UsedBytes() < 200*3000 {
		t.Fatalf("200 rows of 3000 bytes use %d bytes", full.UsedBytes())
	}
	exec("DELETE FROM blobs WHERE id >= 100")
	half := check("100 rows deleted")
	if half.FreePages == 0 || half.UsedBytes() >= full.UsedBytes() {
		t.Fatalf("after deleting half the rows: %+v, before %+v", half, full)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	check("after a checkpoint that emptied the log")
	exec("INSERT INTO blobs (id, b) VALUES ($1, randomblob(3000))", 1000)
	check("a commit in the emptied log")
}

// A log with a frame whose checksum is wrong counts only the commits
// before it.
func TestLastWALCommit_StopsAtABadFrame(t *testing.T) {
	const pageSize = 512
	wal := make([]byte, costSQLiteWALHeaderSize)
	be := func(b []byte, v uint32) { b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v) }
	be(wal[0:], costSQLiteWALMagicLE)
	be(wal[4:], 3007000)
	be(wal[8:], pageSize)
	be(wal[16:], 11)
	be(wal[20:], 22)
	order := binary.ByteOrder(binary.LittleEndian)
	s0, s1 := costWALChecksum(order, 0, 0, wal[:24])
	be(wal[24:], s0)
	be(wal[28:], s1)
	frame := func(pgno, commit uint32, mark byte) {
		f := make([]byte, costSQLiteWALFrameHdrSize+pageSize)
		be(f[0:], pgno)
		be(f[4:], commit)
		be(f[8:], 11)
		be(f[12:], 22)
		f[costSQLiteWALFrameHdrSize+39] = mark // the free-page count of page 1's image
		s0, s1 = costWALChecksum(order, s0, s1, f[:8])
		s0, s1 = costWALChecksum(order, s0, s1, f[costSQLiteWALFrameHdrSize:])
		be(f[16:], s0)
		be(f[20:], s1)
		wal = append(wal, f...)
	}
	frame(1, 0, 1)
	frame(2, 7, 0)
	frame(1, 9, 3)
	if _, pages, page1, ok := costLastWALCommit(wal); !ok || pages != 9 || page1 == nil || page1[39] != 3 {
		t.Fatalf("valid log: pages %d, page 1 %v, ok %v; want 9 and the second image of page 1", pages, page1 != nil, ok)
	}
	wal[len(wal)-1] ^= 0xff // the last frame's data no longer matches its checksum
	if _, pages, page1, ok := costLastWALCommit(wal); !ok || pages != 7 || page1 == nil || page1[39] != 1 {
		t.Fatalf("last frame torn: pages %d, page 1 %v, ok %v; want 7 and the first image of page 1", pages, page1 != nil, ok)
	}
}
