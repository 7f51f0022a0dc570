package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// operation runs one operation of a load (an order, a workflow, a message)
// and says how it ended. seq numbers the operation, unique within a run.
type operation func(ctx context.Context, seq uint64) Result

// runClosed runs a closed loop: clients workers, each starting its next
// operation as soon as its last one ended, until rec's window ends (see
// recorder.admit); then it waits for the operations in flight (the drain).
// A latency counts from the start of its operation. A client whose
// operation was refused waits the Retry-After delay (at most until the
// window ends) before its next one, as a client of the API would (see
// recorder.throughput for what the point's throughput then counts).
func runClosed(ctx context.Context, rec *recorder, clients int, op operation, seq *atomic.Uint64) {
	var wg sync.WaitGroup
	for client := range clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				started := time.Now()
				if !rec.admit(client, started) {
					return
				}
				rec.begin()
				res := op(ctx, seq.Add(1))
				if res.Outcome == Refused {
					backOff(ctx, rec, res.RetryAfter)
				}
				rec.add(started, time.Now(), res)
			}
		})
	}
	wg.Wait()
}

// backOff waits d, or until rec's window ends (when it is known) or ctx
// ends, whichever comes first.
func backOff(ctx context.Context, rec *recorder, d time.Duration) {
	if _, end, ok := rec.window(); ok {
		d = min(d, time.Until(end))
	}
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// runOpen runs an open loop: operations are scheduled on a clock at rate
// per second from rec's start until its window ends, each started at its
// scheduled time whatever the ones before it are doing, at most
// maxInFlight at once. A latency counts from the operation's scheduled
// time, so time an operation waited to start (the driver falling behind, or
// the in-flight limit) is part of it and a slow system cannot hide its
// queue (no coordinated omission). An operation the target refused (503
// with Retry-After) is counted as refused and not tried again: the next
// arrivals come on the clock whatever the target says. It returns after
// the operations in flight ended.
func runOpen(ctx context.Context, rec *recorder, rate float64, maxInFlight int, op operation, seq *atomic.Uint64) {
	slots := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; ; i++ {
		at := rec.start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		}
		if !rec.accepts(at) {
			return
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		rec.begin()
		n := seq.Add(1)
		wg.Go(func() {
			res := op(ctx, n)
			rec.add(at, time.Now(), res)
			<-slots
		})
	}
}
