package worker_test

import (
	"slices"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/ordersaga/ordersaga/orchestrated/worker"
	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/notifications"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// TestNew_PollsTheQueuesOfTheHostedRolesOnly builds the workers of
// processes hosting different roles (without starting them: the client
// connects lazily) and checks which task queues each polls: the
// notification's only where the notification service is hosted.
func TestNew_PollsTheQueuesOfTheHostedRolesOnly(t *testing.T) {
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	store := notifications.NewStore(nil, nil)
	cases := []struct {
		name string
		node *hosted.Services
		want []workflow.TaskQueue
	}{
		{"orders", &hosted.Services{Saga: saga.Default(), Orders: orders.New(nil)},
			[]workflow.TaskQueue{workflow.TaskQueueOrders}},
		{"notifications", &hosted.Services{Saga: saga.Default(), Notifications: store},
			[]workflow.TaskQueue{workflow.TaskQueueNotifications}},
		{"orders and notifications", &hosted.Services{Saga: saga.Default(), Orders: orders.New(nil), Notifications: store},
			[]workflow.TaskQueue{workflow.TaskQueueOrders, workflow.TaskQueueNotifications}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, err := worker.New(c, tc.node, worker.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := w.Queues(); !slices.Equal(got, tc.want) {
				t.Fatalf("queues %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := worker.New(c, &hosted.Services{Saga: saga.Default()}, worker.Options{}); err == nil {
		t.Fatal("a process hosting nothing got workers")
	}
}
