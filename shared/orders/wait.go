package orders

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// waitReadTimeout bounds one read of WaitFinal and one query of the
// watcher. Their reads do not end with a caller's context, so that the
// order can still be read when it ends.
const waitReadTimeout = 5 * time.Second

// maxWatchBatch bounds the order ids of one watcher query; more awaited
// orders take one query per batch.
const maxWatchBatch = 1000

// WaitFinal returns the order once its status is final, or the order as it
// is when ctx ends (with no error). An update stored through this Store
// that makes the order final wakes it at once. Changes made by another
// process are seen by the store's watcher: one goroutine, running while
// someone waits (or follows an order: see Follow), that reads the status
// of every awaited order in one query per poll interval and wakes the
// waiters of those that became final. So a
// waiter reads the order when it starts and when it is woken, never on a
// timer of its own, and the database sees one query per interval however
// many wait.
//
// Errors: errs.NotFound when the order does not exist, or the error of a
// failed read.
func (s *Store) WaitFinal(ctx context.Context, id string) (*domain.Order, error) {
	for {
		// Watch before reading, so a change committed between the read
		// and the wait still wakes this loop.
		changed, stop := s.changes.watch(id)
		o, err := s.readForWait(ctx, id)
		if err != nil || o.Status().Final() || ctx.Err() != nil {
			stop()
			return o, err
		}
		select {
		case <-changed:
		case <-ctx.Done():
		}
		stop()
	}
}

// readForWait reads the order with a context that keeps ctx's values but
// not its end, bounded by waitReadTimeout.
func (s *Store) readForWait(ctx context.Context, id string) (*domain.Order, error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), waitReadTimeout)
	defer cancel()
	o, err := s.Get(rctx, id)
	if err != nil {
		return nil, fmt.Errorf("waiting for order %s: %w", id, err)
	}
	return o, nil
}

// finalAmong returns which of the orders ids are final, in one query per
// maxWatchBatch ids. Unknown ids are left out.
func (s *Store) finalAmong(ids []string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitReadTimeout)
	defer cancel()
	var final []string
	for len(ids) > 0 {
		batch := ids[:min(len(ids), maxWatchBatch)]
		ids = ids[len(batch):]
		marks := make([]string, len(batch))
		args := make([]any, len(batch))
		for i, id := range batch {
			marks[i] = "$" + strconv.Itoa(i+1)
			args[i] = id
		}
		got, err := s.finalIn(ctx, `SELECT order_id, status FROM orders WHERE order_id IN (`+strings.Join(marks, ", ")+`)`, args)
		if err != nil {
			return nil, fmt.Errorf("reading the status of %d awaited orders: %w", len(batch), err)
		}
		final = append(final, got...)
	}
	return final, nil
}

// finalIn runs query, which selects order ids and statuses, and returns
// the ids whose status is final.
func (s *Store) finalIn(ctx context.Context, query string, args []any) ([]string, error) {
	rows, err := s.reads.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var final []string
	for rows.Next() {
		var id, status string
		if err := rows.Scan(&id, &status); err != nil {
			return nil, err
		}
		if domain.Status(status).Final() {
			final = append(final, id)
		}
	}
	return final, rows.Err()
}

// Follow calls ended once, when the order is final: at once after a
// commit through this Store that makes it final, else when the store's
// watcher next sees it final (within its poll interval, also when it was
// final already or became final through another process). It registers
// the order with the watcher without a waiter and costs no query of its
// own: the watcher reads followed orders in the same query as awaited
// ones. ended runs on the goroutine that saw the order end (a committing
// one, or the watcher) and must not block. An order that never exists is
// followed until the store is dropped; follow only orders that were
// stored.
func (s *Store) Follow(id string, ended func()) { s.changes.follow(id, ended) }

// PendingIDs returns the ids of the orders whose status is not final (all
// of them, in one query): what a process that counts the orders in flight
// starts from.
func (s *Store) PendingIDs(ctx context.Context) ([]string, error) {
	rows, err := s.reads.QueryContext(ctx, `SELECT order_id FROM orders WHERE status = $1`, string(domain.StatusPending))
	if err != nil {
		return nil, fmt.Errorf("reading the pending orders: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("reading the pending orders: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the pending orders: %w", err)
	}
	return ids, nil
}

// broadcast tells the waiters and followers of an order that it became
// final. Each order with waiters or followers has one channel, closed when
// it becomes final and then forgotten; an order loses its entry as soon as
// nobody waits for it or follows it.
//
// It also runs the watcher: while anyone waits or follows, one goroutine
// asks finalAmong every interval which of those orders became final
// (through another process) and wakes them. The first watch or follow
// starts it; it ends once nobody waits or follows.
type broadcast struct {
	mu       sync.Mutex
	signals  map[string]*signal
	interval time.Duration                    // between two queries of the watcher
	final    func([]string) ([]string, error) // which of the ids are final; nil: no watcher
	watching bool                             // the watcher goroutine runs
	idle     chan struct{}                    // tells the watcher that nothing is awaited or followed any more
}

// signal is one order's channel, how many waiters hold it, and the
// followers to call when the order ends.
type signal struct {
	ch      chan struct{}
	waiters int
	ended   []func()
}

// newBroadcast returns a broadcast whose watcher asks final every interval;
// final nil runs no watcher.
func newBroadcast(interval time.Duration, final func([]string) ([]string, error)) *broadcast {
	return &broadcast{signals: make(map[string]*signal), interval: interval, final: final, idle: make(chan struct{}, 1)}
}

// watch returns a channel closed when the order becomes final and the
// function that ends the watch, which the caller must call once.
func (b *broadcast) watch(id string) (<-chan struct{}, func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sg := b.signalOf(id)
	sg.waiters++
	return sg.ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		sg.waiters--
		if sg.waiters == 0 && len(sg.ended) == 0 && b.signals[id] == sg {
			delete(b.signals, id)
		}
		b.tellIdle()
	}
}

// tellIdle tells the watcher when no order is awaited or followed any
// more, so that it stops without waiting for its next poll. The caller
// holds b.mu.
func (b *broadcast) tellIdle() {
	if len(b.signals) == 0 {
		select {
		case b.idle <- struct{}{}:
		default: // already told
		}
	}
}

// follow makes wake call ended once when the order becomes final.
func (b *broadcast) follow(id string, ended func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sg := b.signalOf(id)
	sg.ended = append(sg.ended, ended)
}

// signalOf returns the order's signal, made when it has none, and starts
// the watcher when it does not run. The caller holds b.mu.
func (b *broadcast) signalOf(id string) *signal {
	sg := b.signals[id]
	if sg == nil {
		sg = &signal{ch: make(chan struct{})}
		b.signals[id] = sg
	}
	if !b.watching && b.final != nil {
		b.watching = true
		go b.watcher(b.interval)
	}
	return sg
}

// wake tells the order's waiters that it became final, and calls its
// followers (outside the lock).
func (b *broadcast) wake(id string) {
	b.mu.Lock()
	sg := b.signals[id]
	if sg != nil {
		close(sg.ch)
		delete(b.signals, id)
		b.tellIdle()
	}
	b.mu.Unlock()
	if sg == nil {
		return
	}
	for _, ended := range sg.ended {
		ended()
	}
}

// watcher is the goroutine that reads the awaited and followed orders
// every interval, until nobody waits or follows. A failed query is tried
// again at the next interval; the waiters, which read the order themselves
// when their wait ends, report a database that stays unreachable, and the
// followers hear of the order's end at the first query that succeeds.
func (b *broadcast) watcher(interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		polling := false
		select {
		case <-tick.C:
			polling = true
		case <-b.idle:
		}
		ids := b.awaited()
		if ids == nil {
			return
		}
		if !polling {
			continue
		}
		final, err := b.final(ids)
		if err != nil {
			continue
		}
		for _, id := range final {
			b.wake(id)
		}
	}
}

// awaited returns the orders someone waits for or follows. When there are
// none it marks the watcher stopped and returns nil: the next watch or
// follow starts a new one.
func (b *broadcast) awaited() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.signals) == 0 {
		b.watching = false
		return nil
	}
	ids := make([]string, 0, len(b.signals))
	for id := range b.signals {
		ids = append(ids, id)
	}
	return ids
}
