// Package orders is the order service's store: every order as the client
// sees it (status, steps, prices, tracking number), in the order service's
// own database (tables and migrations in migrations/). Both saga variants
// keep it up to date as their saga runs; the REST API reads from it.
//
// Creation is idempotent by order id: the same request (by fingerprint)
// returns the stored order, another request with the same id is a conflict.
// Updates load the order under a row lock, change it through the domain's
// methods and store its whole new state, so concurrent updates of one order
// apply one after the other. Lists are newest first and page by keyset,
// so a page never repeats or skips an order when others are added.
package orders

import (
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// MaxListLimit bounds the page size of List.
const MaxListLimit = 200

// defaultListLimit is the page size of List when the filter gives none.
const defaultListLimit = 50

// defaultPollInterval is how often the store's watcher reads the orders
// WaitFinal callers await, to see changes made by other processes.
const defaultPollInterval = 200 * time.Millisecond

// Filter selects a page of orders for List.
type Filter struct {
	Status domain.Status // "" for every status
	// CustomerID keeps only the orders of that customer; "" for every
	// customer. A cursor pages within the filter it was issued for.
	CustomerID string
	Limit      int    // 1 to MaxListLimit; 0 means 50
	Cursor     string // from the previous Page; "" for the first page
}

// Page is one page of orders, newest first.
type Page struct {
	Orders     []*domain.Order
	NextCursor string // "" on the last page
}

// Store is the order store. It is safe for concurrent use.
type Store struct {
	db *sqldb.DB
	// reads runs the store's reads outside transactions (Get, List and the
	// watcher's): db, or a test's wrapper around it.
	reads querier
	// changes wakes WaitFinal when an order becomes final, at once for a
	// change made here, through its watcher for one made elsewhere.
	changes *broadcast
	// observer learns of committed changes; nil for none. Set before use.
	observer Observer
}

// Observer learns of the changes the store commits, for metrics (see
// package sagametrics).
type Observer interface {
	// OrderChanged is called once for each UpdateTx that changed an order,
	// after its transaction committed (never when it rolled back), with
	// the order's state before and after that change. A retried
	// transaction reports only the attempt that committed, and an update
	// that leaves the order as it was (a repeated event, a replayed
	// activity) reports nothing. It runs on the committing goroutine and
	// must not block.
	OrderChanged(before, after domain.OrderState)
}

// New returns the store on db (already migrated). The times it stores are
// the order's own (domain.Order sets them).
func New(db *sqldb.DB) *Store {
	s := &Store{db: db, reads: db}
	s.changes = newBroadcast(defaultPollInterval, s.finalAmong)
	return s
}

// SetObserver makes the store report the changes it commits to o (nil:
// to nobody). Call it before the store is used.
func (s *Store) SetObserver(o Observer) { s.observer = o }

// DB returns the store's database, for callers that write other tables
// (an outbox) in the same transaction as an order.
func (s *Store) DB() *sqldb.DB { return s.db }
