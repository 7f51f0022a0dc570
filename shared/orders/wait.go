package orders

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// waitReadTimeout bounds one read of WaitFinal. Its reads do not end with
// the caller's context, so that the order can still be read when it ends.
const waitReadTimeout = 5 * time.Second

// WaitFinal returns the order once its status is final, or the order as it
// is when ctx ends (with no error). An update stored through this Store
// that makes the order final wakes it at once; it also polls, for changes
// made by another process.
//
// Errors: errs.NotFound when the order does not exist, or the error of a
// failed read.
func (s *Store) WaitFinal(ctx context.Context, id string) (*domain.Order, error) {
	tick := time.NewTicker(s.poll)
	defer tick.Stop()
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
		case <-tick.C:
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

// broadcast tells the waiters of an order that it changed. Each order with
// waiters has one channel, closed on its next change and then forgotten; an
// order loses its entry as soon as nobody waits for it.
type broadcast struct {
	mu      sync.Mutex
	signals map[string]*signal
}

// signal is one order's channel and how many waiters hold it.
type signal struct {
	ch      chan struct{}
	waiters int
}

func newBroadcast() *broadcast { return &broadcast{signals: make(map[string]*signal)} }

// watch returns a channel closed at the order's next change and the
// function that ends the watch, which the caller must call once.
func (b *broadcast) watch(id string) (<-chan struct{}, func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sg := b.signals[id]
	if sg == nil {
		sg = &signal{ch: make(chan struct{})}
		b.signals[id] = sg
	}
	sg.waiters++
	return sg.ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		sg.waiters--
		if sg.waiters == 0 && b.signals[id] == sg {
			delete(b.signals, id)
		}
	}
}

// wake tells the order's waiters that it changed.
func (b *broadcast) wake(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if sg := b.signals[id]; sg != nil {
		close(sg.ch)
		delete(b.signals, id)
	}
}
