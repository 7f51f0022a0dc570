package cost

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// costSQLiteUsage is what a SQLite database holds, read from its files (the
// database file and its write-ahead log) without opening it, so also of a
// database another connection holds in exclusive locking mode (the
// embedded Temporal server's).
type costSQLiteUsage struct {
	// PageSize is the database's page size in bytes.
	PageSize int64
	// Pages is the database's size in pages as of its last commit, and
	// FreePages those of them on the free list (space freed by deletes,
	// kept for reuse).
	Pages, FreePages int64
}

// UsedBytes returns the bytes of the pages in use: the database's size
// less its free pages.
func (u costSQLiteUsage) UsedBytes() int64 { return (u.Pages - u.FreePages) * u.PageSize }

// The layout of SQLite's files (https://www.sqlite.org/fileformat2.html).
const (
	costSQLiteHeaderSize      = 100
	costSQLiteWALHeaderSize   = 32
	costSQLiteWALFrameHdrSize = 24
	costSQLiteWALMagicLE      = 0x377f0682
	costSQLiteWALMagicBE      = 0x377f0683
)

// readCostSQLiteUsage reads the usage of the database at path: its size and
// free pages as of the last commit in its write-ahead log (path-wal), or,
// when the log holds no valid commit, as the database file's header says.
// A missing database reads as empty.
func readCostSQLiteUsage(path string) (costSQLiteUsage, error) {
	db, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return costSQLiteUsage{}, nil
	}
	if err != nil {
		return costSQLiteUsage{}, fmt.Errorf("reading %s: %w", path, err)
	}
	var u costSQLiteUsage
	var page1 []byte
	if len(db) >= costSQLiteHeaderSize {
		page1 = db[:costSQLiteHeaderSize]
		u.PageSize = costSQLitePageSize(binary.BigEndian.Uint16(db[16:18]))
		u.Pages = int64(binary.BigEndian.Uint32(db[28:32]))
	}
	wal, err := os.ReadFile(path + "-wal")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return costSQLiteUsage{}, fmt.Errorf("reading %s-wal: %w", path, err)
	}
	if pageSize, pages, walPage1, ok := costLastWALCommit(wal); ok {
		u.PageSize, u.Pages = pageSize, pages
		if walPage1 != nil {
			page1 = walPage1
		}
	}
	if page1 == nil {
		return costSQLiteUsage{}, nil
	}
	u.FreePages = int64(binary.BigEndian.Uint32(page1[36:40]))
	return u, nil
}

// costSQLitePageSize decodes the page size field of a header (1 means 65536).
func costSQLitePageSize(v uint16) int64 {
	if v == 1 {
		return 65536
	}
	return int64(v)
}

// costLastWALCommit returns, from a write-ahead log's valid frames (of the
// log's current generation, their checksums right), the database's size
// in pages at the last commit and the image of page 1 as of that commit
// (nil when no committed frame holds page 1); ok is false when the log
// holds no valid commit.
func costLastWALCommit(wal []byte) (pageSize, pages int64, page1 []byte, ok bool) {
	if len(wal) < costSQLiteWALHeaderSize {
		return 0, 0, nil, false
	}
	magic := binary.BigEndian.Uint32(wal[0:4])
	var order binary.ByteOrder
	switch magic {
	case costSQLiteWALMagicLE:
		order = binary.LittleEndian
	case costSQLiteWALMagicBE:
		order = binary.BigEndian
	default:
		return 0, 0, nil, false
	}
	pageSize = int64(binary.BigEndian.Uint32(wal[8:12]))
	if pageSize < 512 || pageSize > 65536 {
		return 0, 0, nil, false
	}
	salt1, salt2 := binary.BigEndian.Uint32(wal[16:20]), binary.BigEndian.Uint32(wal[20:24])
	s0, s1 := costWALChecksum(order, 0, 0, wal[:24])
	if s0 != binary.BigEndian.Uint32(wal[24:28]) || s1 != binary.BigEndian.Uint32(wal[28:32]) {
		return 0, 0, nil, false
	}
	frameSize := costSQLiteWALFrameHdrSize + int(pageSize)
	var pending []byte // page 1 written since the last commit
	for off := costSQLiteWALHeaderSize; off+frameSize <= len(wal); off += frameSize {
		h := wal[off : off+costSQLiteWALFrameHdrSize]
		data := wal[off+costSQLiteWALFrameHdrSize : off+frameSize]
		if binary.BigEndian.Uint32(h[8:12]) != salt1 || binary.BigEndian.Uint32(h[12:16]) != salt2 {
			break // a frame of an earlier generation of the log
		}
		s0, s1 = costWALChecksum(order, s0, s1, h[:8])
		s0, s1 = costWALChecksum(order, s0, s1, data)
		if s0 != binary.BigEndian.Uint32(h[16:20]) || s1 != binary.BigEndian.Uint32(h[20:24]) {
			break // torn or stale
		}
		if binary.BigEndian.Uint32(h[0:4]) == 1 {
			pending = data
		}
		if commit := binary.BigEndian.Uint32(h[4:8]); commit != 0 {
			pages, ok = int64(commit), true
			if pending != nil {
				page1, pending = pending, nil
			}
		}
	}
	return pageSize, pages, page1, ok
}

// costWALChecksum continues SQLite's write-ahead log checksum (s0, s1) over b,
// whose 32-bit words are in the log's byte order.
func costWALChecksum(order binary.ByteOrder, s0, s1 uint32, b []byte) (uint32, uint32) {
	for i := 0; i+8 <= len(b); i += 8 {
		s0 += order.Uint32(b[i:]) + s1
		s1 += order.Uint32(b[i+4:]) + s0
	}
	return s0, s1
}
