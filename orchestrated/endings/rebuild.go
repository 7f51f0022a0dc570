package endings

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/notifications"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Temporal is the part of the Temporal client a rebuild uses;
// client.Client has it.
type Temporal interface {
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
	GetWorkflowHistory(ctx context.Context, workflowID, runID string, isLongPoll bool, filterType enumspb.HistoryEventFilterType) client.HistoryEventIterator
}

// Defaults of Rebuilder.
const (
	// DefaultConcurrency is how many histories a rebuild reads at once.
	DefaultConcurrency = 8
	// DefaultCatchUpMargin is how far before the rebuild's start the
	// catch-up pass looks for sagas that closed: more than visibility
	// takes to list a closed saga.
	DefaultCatchUpMargin = time.Minute
	// listPageSize is the page size of the visibility listings.
	listPageSize = 1000
)

// Rebuilder rebuilds the notification projection from the sagas'
// histories. Its zero fields are the defaults.
type Rebuilder struct {
	Temporal Temporal
	Store    *notifications.Store
	// Saga is the saga the histories ran (saga.Default() when nil).
	Saga *saga.Saga
	// Concurrency is how many histories are read at once
	// (DefaultConcurrency).
	Concurrency int
	// CatchUpMargin: see DefaultCatchUpMargin.
	CatchUpMargin time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Report says what a rebuild did.
type Report struct {
	// Before is how many notifications the projection held before.
	Before int
	// Sagas is how many sagas were listed and their histories read.
	Sagas int
	// FromNotice is how many notifications were rebuilt from the
	// NotifyCustomer activity's input: recorded as they were.
	FromNotice int
	// Backfilled is how many were rebuilt from a saga that ended before
	// the notification existed: notifications never recorded before.
	Backfilled int
	// NotEnded is how many sagas tell no ending yet (running, not at their
	// notification) or ever (closed without a result).
	NotEnded int
	// CatchUpSagas is how many histories the catch-up pass read: sagas
	// that told no ending in the first pass or were not listed in it.
	CatchUpSagas int
	// CaughtUp is how many notifications the catch-up pass added: orders
	// that ended while the rebuild ran.
	CaughtUp int
	// After is how many notifications the projection holds after.
	After int
	// Took is how long the rebuild took.
	Took time.Duration
}

// Rebuild empties the notification projection and fills it again from the
// histories of every OrderSaga workflow the namespace lists (visibility):
// each saga that ended gives its order's notification (see Of). The
// projection is replaced in one transaction, after every history was
// read: until then the API lists the notifications as they were.
//
// Then a catch-up pass reads the sagas still running or closed since the
// rebuild started (less CatchUpMargin), but those whose ending the first
// pass told, and records their notifications unless already there: an
// order that ended while the rebuild read the histories, whose
// notification the live activity may have recorded before the replacement
// removed it, keeps it. Recording is idempotent, so the live activity and
// the rebuild never record an order twice. The rebuild may thus run while
// the sagas and the notification service run.
//
// Sagas closed longer ago than the namespace's retention period are no
// longer listed: their notifications are not rebuilt.
func (r *Rebuilder) Rebuild(ctx context.Context) (Report, error) {
	now := r.Now
	if now == nil {
		now = time.Now
	}
	started := now()
	var rep Report
	var err error
	if rep.Before, err = r.Store.Count(ctx); err != nil {
		return rep, fmt.Errorf("rebuilding notifications: %w", err)
	}
	query := fmt.Sprintf("WorkflowType = '%s'", workflow.Name)
	ended := map[run]bool{}
	found, err := r.derive(ctx, query, ended, &rep)
	if err != nil {
		return rep, fmt.Errorf("rebuilding notifications: %w", err)
	}
	err = r.Store.DB().InTx(ctx, func(tx *sqldb.Tx) error {
		if err := r.Store.ResetTx(ctx, tx); err != nil {
			return err
		}
		for _, n := range found {
			if _, err := r.Store.RecordTx(ctx, tx, n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("rebuilding notifications: replacing the projection: %w", err)
	}

	margin := r.CatchUpMargin
	if margin <= 0 {
		margin = DefaultCatchUpMargin
	}
	since := started.Add(-margin).UTC().Format(time.RFC3339Nano)
	var catchUp Report
	late, err := r.derive(ctx, fmt.Sprintf("%s AND (ExecutionStatus = 'Running' OR CloseTime >= '%s')", query, since), ended, &catchUp)
	rep.CatchUpSagas = catchUp.Sagas
	if err != nil {
		return rep, fmt.Errorf("rebuilding notifications: catching up: %w", err)
	}
	for _, n := range late {
		stored, err := r.Store.Record(ctx, n)
		if err != nil {
			return rep, fmt.Errorf("rebuilding notifications: catching up: %w", err)
		}
		if stored {
			rep.CaughtUp++
		}
	}
	if rep.After, err = r.Store.Count(ctx); err != nil {
		return rep, fmt.Errorf("rebuilding notifications: %w", err)
	}
	rep.Took = now().Sub(started)
	return rep, nil
}

// run names one saga execution.
type run struct{ workflowID, runID string }

// derive reads the history of every saga the visibility query lists but
// those in ended, and returns the notifications of those that ended,
// adding them to ended and counting them in rep. A saga's ending, once
// told, does not change: its history is not read again.
func (r *Rebuilder) derive(ctx context.Context, query string, ended map[run]bool, rep *Report) ([]notifications.Notification, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g := r.Saga
	if g == nil {
		g = saga.Default()
	}
	workers := r.Concurrency
	if workers <= 0 {
		workers = DefaultConcurrency
	}
	refs := make(chan run)
	var (
		mu       sync.Mutex
		out      []notifications.Notification
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for w := range refs {
				events, err := r.history(ctx, w.workflowID, w.runID)
				if err != nil {
					fail(err)
					continue
				}
				e, src, err := Of(g, events)
				if errors.Is(err, ErrNotEnded) {
					mu.Lock()
					rep.NotEnded++
					mu.Unlock()
					continue
				}
				var n notifications.Notification
				if err == nil {
					n, err = notifications.New(e)
				}
				if err != nil {
					fail(fmt.Errorf("saga %s: %w", w.workflowID, err))
					continue
				}
				mu.Lock()
				ended[w] = true
				out = append(out, n)
				if src == FromNotice {
					rep.FromNotice++
				} else {
					rep.Backfilled++
				}
				mu.Unlock()
			}
		})
	}
	listErr := r.list(ctx, query, func(w run) bool {
		mu.Lock()
		done := ended[w]
		mu.Unlock()
		if done {
			return true
		}
		rep.Sagas++
		select {
		case refs <- w:
			return true
		case <-ctx.Done():
			return false
		}
	})
	close(refs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if listErr != nil {
		return nil, listErr
	}
	return out, nil
}

// list calls each with every execution the visibility query lists, page
// by page, until each returns false.
func (r *Rebuilder) list(ctx context.Context, query string, each func(run) bool) error {
	var token []byte
	for {
		resp, err := r.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: query, PageSize: listPageSize, NextPageToken: token,
		})
		if err != nil {
			return fmt.Errorf("listing the sagas (%s): %w", query, err)
		}
		for _, x := range resp.GetExecutions() {
			if !each(run{x.GetExecution().GetWorkflowId(), x.GetExecution().GetRunId()}) {
				return ctx.Err()
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return nil
		}
	}
}

// history returns every event of one saga's history.
func (r *Rebuilder) history(ctx context.Context, workflowID, runID string) ([]*historypb.HistoryEvent, error) {
	it := r.Temporal.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("reading the history of saga %s: %w", workflowID, err)
		}
		events = append(events, e)
	}
	return events, nil
}
