package orders

import (
	"context"
	"database/sql"
	"sync/atomic"
	"time"
)

// SetPollInterval changes how often the store's watcher reads the awaited
// orders, so a test can tell a wake-up from a poll. Call it before anyone
// waits.
func SetPollInterval(s *Store, d time.Duration) {
	s.changes.mu.Lock()
	defer s.changes.mu.Unlock()
	s.changes.interval = d
}

// Watched returns how many orders have WaitFinal callers registered.
func Watched(s *Store) int {
	s.changes.mu.Lock()
	defer s.changes.mu.Unlock()
	return len(s.changes.signals)
}

// Watching reports whether the store's watcher goroutine runs.
func Watching(s *Store) bool {
	s.changes.mu.Lock()
	defer s.changes.mu.Unlock()
	return s.changes.watching
}

// CountReads makes every read the store runs outside a transaction (Get,
// List, the watcher's queries) add one to the returned counter. Call it
// before the store is used.
func CountReads(s *Store) *atomic.Int64 {
	c := &countingQuerier{next: s.reads}
	s.reads = c
	return &c.n
}

// countingQuerier counts the queries it passes on.
type countingQuerier struct {
	next querier
	n    atomic.Int64
}

func (q *countingQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	q.n.Add(1)
	return q.next.QueryContext(ctx, query, args...)
}

func (q *countingQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	q.n.Add(1)
	return q.next.QueryRowContext(ctx, query, args...)
}
