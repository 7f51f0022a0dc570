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

// defaultPollInterval is how often WaitFinal reads an order that nothing
// in this process changed, to see changes made by other processes.
const defaultPollInterval = 200 * time.Millisecond

// Filter selects a page of orders for List.
type Filter struct {
	Status domain.Status // "" for every status
	Limit  int           // 1 to MaxListLimit; 0 means 50
	Cursor string        // from the previous Page; "" for the first page
}

// Page is one page of orders, newest first.
type Page struct {
	Orders     []*domain.Order
	NextCursor string // "" on the last page
}

// Store is the order store. It is safe for concurrent use.
type Store struct {
	db      *sqldb.DB
	changes *broadcast    // wakes WaitFinal when an order changes here
	poll    time.Duration // WaitFinal's fallback read interval
}

// New returns the store on db (already migrated). The times it stores are
// the order's own (domain.Order sets them).
func New(db *sqldb.DB) *Store {
	return &Store{db: db, changes: newBroadcast(), poll: defaultPollInterval}
}

// DB returns the store's database, for callers that write other tables
// (an outbox) in the same transaction as an order.
func (s *Store) DB() *sqldb.DB { return s.db }
