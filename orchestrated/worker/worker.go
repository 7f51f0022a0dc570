// Package worker wires the saga's Temporal workers for the roles a process
// hosts: the order service runs the OrderSaga workflow and the order-store
// activities on workflow.TaskQueueOrders; each service that carries out a
// step runs that step's activities on the step's task queue, next to its
// own database; the notification service runs the customer's notification
// on workflow.TaskQueueNotifications, next to its database. A process
// registers only the activities of the roles it hosts.
package worker

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	sdkworkflow "go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/orchestrated/activities"
	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/hosted"
)

// Defaults of Options.
const (
	// DefaultPollers is the number of task pollers of each kind per worker:
	// on a single-node server 8 carried about 20% more sagas than 2.
	DefaultPollers = 8
	// DefaultStopTimeout is how long a stopping worker lets running
	// activities finish before cancelling them.
	DefaultStopTimeout = 5 * time.Second
)

// Options tune the workers. Zero values mean the defaults.
type Options struct {
	Pollers     int
	StopTimeout time.Duration
	// OnFatalError is called when a worker stops on its own (the namespace
	// is gone, for instance).
	OnFatalError func(error)
	// Now is the order activities' clock (time.Now when nil).
	Now func() time.Time
}

// Workers are the workers of one process.
type Workers struct {
	list []named
}

type named struct {
	queue  workflow.TaskQueue
	worker sdkworker.Worker
}

// New builds (without starting) one worker per hosted role.
func New(c client.Client, n *hosted.Services, opts Options) (*Workers, error) {
	if opts.Pollers <= 0 {
		opts.Pollers = DefaultPollers
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = DefaultStopTimeout
	}
	w := &Workers{}
	if n.Orders != nil {
		ow := w.add(c, workflow.TaskQueueOrders, opts)
		ow.RegisterWorkflowWithOptions(workflow.New(n.Saga, n.Policy).OrderSaga, sdkworkflow.RegisterOptions{Name: workflow.Name})
		ow.RegisterActivity(&activities.OrderActivities{Store: n.Orders, Now: opts.Now})
	}
	for _, step := range n.Saga.Steps() {
		p, ok := n.Participants[step.Name]
		if !ok {
			continue
		}
		a := &activities.Step{Participant: p}
		sw := w.add(c, workflow.TaskQueueOf(step.Name), opts)
		sw.RegisterActivityWithOptions(a.Act, activity.RegisterOptions{Name: workflow.ActivityName(step.Action)})
		sw.RegisterActivityWithOptions(a.Undo, activity.RegisterOptions{Name: workflow.ActivityName(step.Compensation)})
		if step.Completion != "" {
			sw.RegisterActivityWithOptions(a.Complete, activity.RegisterOptions{Name: workflow.ActivityName(step.Completion)})
		}
	}
	if n.Notifications != nil {
		nw := w.add(c, workflow.TaskQueueNotifications, opts)
		notifier := &activities.Notifier{Store: n.Notifications}
		nw.RegisterActivityWithOptions(notifier.NotifyCustomer, activity.RegisterOptions{Name: workflow.ActivityNotifyCustomer})
	}
	if len(w.list) == 0 {
		return nil, errors.New("building workers: the node hosts no role")
	}
	return w, nil
}

func (w *Workers) add(c client.Client, q workflow.TaskQueue, opts Options) sdkworker.Worker {
	wk := sdkworker.New(c, string(q), sdkworker.Options{
		MaxConcurrentWorkflowTaskPollers: opts.Pollers,
		MaxConcurrentActivityTaskPollers: opts.Pollers,
		WorkerStopTimeout:                opts.StopTimeout,
		OnFatalError:                     opts.OnFatalError,
	})
	w.list = append(w.list, named{queue: q, worker: wk})
	return wk
}

// Queues returns the task queues the workers poll.
func (w *Workers) Queues() []workflow.TaskQueue {
	qs := make([]workflow.TaskQueue, 0, len(w.list))
	for _, n := range w.list {
		qs = append(qs, n.queue)
	}
	return qs
}

// Start starts every worker; on an error it stops those it started.
func (w *Workers) Start() error {
	for i, n := range w.list {
		if err := n.worker.Start(); err != nil {
			for _, started := range w.list[:i] {
				started.worker.Stop()
			}
			return fmt.Errorf("starting the %s worker: %w", n.queue, err)
		}
	}
	return nil
}

// Stop stops every worker, letting running activities finish for up to
// the stop timeout.
func (w *Workers) Stop() {
	for _, n := range w.list {
		n.worker.Stop()
	}
}
