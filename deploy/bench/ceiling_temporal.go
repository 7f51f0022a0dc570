package bench

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The names of the Temporal ceiling's workflow and activity.
const (
	noopWorkflowName = "BenchNoopSaga"
	noopActivityName = "BenchNoopStep"
	noopSteps        = 3
)

// The bounds of how long the Temporal ceiling waits on a workflow's close
// notification before it asks for the workflow's state instead.
const (
	minCloseWait = 100 * time.Millisecond
	maxCloseWait = 5 * time.Second
)

// noteCloseByDescribe counts the workflows whose close was found by
// DescribeWorkflowExecution: the history long poll had not reported it in
// time (STACK.md: it sometimes misses the close notification).
const noteCloseByDescribe = "close_found_by_describe"

// noopSaga is the ceiling's workflow: three activities that do nothing,
// one after the other, as the saga's three steps.
func noopSaga(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	for step := range noopSteps {
		if err := workflow.ExecuteActivity(ctx, noopActivityName, step).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// noopStep is the ceiling's activity.
func noopStep(context.Context, int) error { return nil }

// temporalCeiling runs no-op workflows on a task queue of its own.
type temporalCeiling struct {
	client  client.Client
	queue   string
	timeout time.Duration
	// typical is a moving average of the workflows' latency, in
	// nanoseconds, which sets how long to wait on a close notification.
	typical atomic.Int64
}

// runTemporalCeiling measures the no-op workflow at each concurrency.
func runTemporalCeiling(ctx context.Context, opts Options, prog *progress, seq *atomic.Uint64) CeilingResult {
	res := CeilingResult{
		Framework: FrameworkTemporal,
		Description: fmt.Sprintf("no-op workflow of %d no-op activities in sequence (regular activities), one task queue, a worker with %d pollers of each kind, on %s",
			noopSteps, opts.Temporal.Pollers, opts.Temporal.HostPort),
	}
	prog.note("temporal ceiling: starting a worker on %s", opts.Temporal.HostPort)
	dctx, cancel := context.WithTimeout(ctx, opts.ProbeTimeout)
	defer cancel()
	c, err := client.DialContext(dctx, client.Options{
		HostPort:  opts.Temporal.HostPort,
		Namespace: opts.Temporal.Namespace,
		Logger:    sdklog.NewStructuredLogger(opts.logger().With("component", "temporal-ceiling")),
		// As the orchestrated stack's client: no gzip on small payloads.
		ConnectionOptions: client.ConnectionOptions{GrpcCompression: &client.GrpcCompressionNone{}},
	})
	if err != nil {
		res.Error = fmt.Sprintf("connecting to temporal: %v", err)
		return res
	}
	defer c.Close()
	tc := &temporalCeiling{client: c, queue: opts.RunID + "-ceiling", timeout: opts.OrderTimeout}
	tc.typical.Store(int64(minCloseWait))
	w := worker.New(c, tc.queue, worker.Options{
		MaxConcurrentWorkflowTaskPollers: opts.Temporal.Pollers,
		MaxConcurrentActivityTaskPollers: opts.Temporal.Pollers,
	})
	w.RegisterWorkflowWithOptions(noopSaga, workflow.RegisterOptions{Name: noopWorkflowName})
	w.RegisterActivityWithOptions(noopStep, activity.RegisterOptions{Name: noopActivityName})
	if err := w.Start(); err != nil {
		res.Error = fmt.Sprintf("starting the worker: %v", err)
		return res
	}
	defer w.Stop()

	if r := tc.run(dctx, seq.Add(1)); r.Outcome != Succeeded {
		res.Error = fmt.Sprintf("the first workflow did not complete: %s %s", r.Outcome, r.Detail)
		return res
	}
	if opts.TemporalCommits != nil {
		c := countCommits(ctx, *opts.TemporalCommits, prog, "temporal ceiling", tc.run, seq)
		prog.note("temporal ceiling: %s", commitsSummary(c))
		res.TemporalCommits = &c
	}
	for _, n := range opts.Concurrencies {
		p := measure(ctx, opts, prog, fmt.Sprintf("%-14s closed c=%d", "temporal", n), n, func(ctx context.Context, rec *recorder) {
			runClosed(ctx, rec, n, tc.run, seq)
		})
		p.Mode, p.Clients = ModeClosed, n
		res.Closed = append(res.Closed, p)
		if ctx.Err() != nil {
			break
		}
	}
	return res
}

// run starts workflow seq and waits until it is closed. It waits on the
// close notification (run.Get) for a few times the typical latency, then
// asks for the workflow's state, and goes on so until it is closed; a close
// found that way counts at the workflow's close time.
func (tc *temporalCeiling) run(ctx context.Context, seq uint64) Result {
	ctx, cancel := context.WithTimeout(ctx, tc.timeout)
	defer cancel()
	started := time.Now()
	id := fmt.Sprintf("%s-wf-%d", tc.queue, seq)
	run, err := tc.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tc.queue}, noopWorkflowName)
	if err != nil {
		return tc.failure(ctx, "starting the workflow", err)
	}
	for {
		wait := min(max(3*time.Duration(tc.typical.Load()), minCloseWait), maxCloseWait)
		gctx, gcancel := context.WithTimeout(ctx, wait)
		err := run.Get(gctx, nil)
		gcancel()
		switch {
		case err == nil:
			tc.observe(time.Since(started))
			return Result{Outcome: Succeeded}
		case ctx.Err() != nil:
			return Result{Outcome: ErrTimeout, Detail: fmt.Sprintf("not closed within %v", tc.timeout)}
		}
		// The wait ended (or its long poll was cut) without the close:
		// the workflow's state says whether it is still running.
		d, err := tc.client.DescribeWorkflowExecution(ctx, id, run.GetRunID())
		if err != nil {
			return tc.failure(ctx, "describing the workflow", err)
		}
		info := d.GetWorkflowExecutionInfo()
		switch info.GetStatus() {
		case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
			continue
		case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
			end := time.Now()
			if ct := info.GetCloseTime(); ct != nil && ct.AsTime().After(started) {
				end = ct.AsTime()
			}
			tc.observe(end.Sub(started))
			return Result{Outcome: Succeeded, Note: noteCloseByDescribe, End: end}
		default:
			return Result{Outcome: ErrOther, Detail: "workflow closed as " + info.GetStatus().String()}
		}
	}
}

// observe folds a workflow's latency into the typical latency.
func (tc *temporalCeiling) observe(d time.Duration) {
	old := tc.typical.Load()
	tc.typical.Store(old - old/8 + int64(d)/8)
}

// failure classifies an error of a call to the server.
func (tc *temporalCeiling) failure(ctx context.Context, what string, err error) Result {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return Result{Outcome: ErrTimeout, Detail: fmt.Sprintf("%s: not done within %v", what, tc.timeout)}
	}
	return Result{Outcome: ErrServer, Detail: truncate(what + ": " + err.Error())}
}
