package stack_test

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/ordersaga/ordersaga/orchestrated/endings"
	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/notifications"
	"github.com/ordersaga/ordersaga/shared/scenario"
)

// TestOrchestrated_Notifications_OnePerOrderOfEveryOutcome runs the
// notification check both variants pass: one notification per order of
// every outcome (completed, out of stock, payment declined, shipping
// unavailable, cancelled), listed to its customer only.
func TestOrchestrated_Notifications_OnePerOrderOfEveryOutcome(t *testing.T) {
	p := startProcess(t, newNamespace(t), sqliteDatabases(t))
	scenario.CheckNotifications(t, scenario.Target{Name: "orchestrated", BaseURL: p.url, FinalWithin: suiteFinalWithin, Keys: authtest.Keys(t)})
	assertOneNotificationPerOrder(t, p.Hosted().Notifications, 5)
}

var rebuildOrders = flag.Int("rebuild-orders", 100,
	"how many orders beyond the outcome check the rebuild test places, to measure the rebuild")

// TestOrchestrated_RebuildNotifications_FromHistories_MatchesTheLiveOnes
// places orders of every outcome and -rebuild-orders more, snapshots the
// notifications recorded live, rebuilds them from the sagas' histories and
// compares the two row for row, the time each row was written aside.
func TestOrchestrated_RebuildNotifications_FromHistories_MatchesTheLiveOnes(t *testing.T) {
	p := startProcess(t, newNamespace(t), sqliteDatabases(t))
	scenario.CheckNotifications(t, scenario.Target{Name: "orchestrated", BaseURL: p.url, FinalWithin: suiteFinalWithin, Keys: authtest.Keys(t)})
	a := p.api(t)
	a.putProduct("cup", 300, 1_000_000)
	a.putCustomer("many", 1_000_000_000)
	placed := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 { // within the API's bound on orders in flight
		wg.Go(func() {
			for i := range next {
				if code, o := a.place(order(fmt.Sprintf("r-%d", i), "many", "cup", 1, "DE"), 15*time.Second); code != http.StatusCreated || o.Status != "completed" {
					t.Errorf("POST r-%d: %d %+v, want 201 completed", i, code, o)
				}
			}
		})
	}
	for i := range *rebuildOrders {
		next <- i
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	store := p.Hosted().Notifications
	total := *rebuildOrders + 5
	waitFor(t, time.Minute+time.Duration(*rebuildOrders)*time.Second, "every order's notification", func() bool {
		n, err := store.Count(context.Background())
		return err == nil && n == total
	})
	t.Logf("%d orders placed and notified in %v", *rebuildOrders, time.Since(placed).Round(time.Millisecond))
	live := allNotifications(t, store)

	rep, err := (&endings.Rebuilder{Temporal: p.Client(), Store: store}).Rebuild(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rebuilt %d notifications from %d histories in %v (%v per saga): %+v",
		rep.After, rep.Sagas, rep.Took.Round(time.Millisecond), (rep.Took / time.Duration(rep.Sagas)).Round(time.Microsecond), rep)
	if rep.Before != total || rep.Sagas != total || rep.FromNotice != total || rep.Backfilled != 0 || rep.NotEnded != 0 || rep.After != total {
		t.Fatalf("report %+v, want %d sagas each rebuilt from its notice", rep, total)
	}
	assertSameNotifications(t, live, allNotifications(t, store))

	// The same rebuild, reading 1, 4 and 16 histories at once.
	for _, n := range []int{1, 4, 16} {
		rep, err := (&endings.Rebuilder{Temporal: p.Client(), Store: store, Concurrency: n}).Rebuild(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("concurrency %d: rebuilt %d notifications in %v", n, rep.After, rep.Took.Round(time.Millisecond))
		assertSameNotifications(t, live, allNotifications(t, store))
	}
}

// TestOrchestrated_NotificationRole_RunsTheActivity_ARebuildTakesAWaitingSaga
// runs the notification service in a process of its own: orders end and
// are notified by it. While it is down, a saga that ended its order waits
// on the notification's activity (the order is final); a rebuild then
// records that notification from the activity's scheduled input, and the
// activity, once the process is back, records nothing more.
func TestOrchestrated_NotificationRole_RunsTheActivity_ARebuildTakesAWaitingSaga(t *testing.T) {
	ctx := context.Background()
	ns, dbs := newNamespace(t), sqliteDatabases(t)
	main := startProcess(t, ns, dbs, hosted.RoleOrders, hosted.RoleInventory, hosted.RolePayment, hosted.RoleShipping)
	notify := startProcess(t, ns, dbs, hosted.RoleNotifications)
	a := main.api(t)
	a.putProduct("mug", 1250, 10)
	a.putCustomer("c-1", 10_000)
	if _, o := a.place(order("o-1", "c-1", "mug", 1, "DE"), 15*time.Second); o.Status != "completed" {
		t.Fatalf("o-1 = %+v, want completed", o)
	}
	waitSagaClosed(t, main.Client(), "o-1")
	if _, err := notify.Hosted().Notifications.Get(ctx, "o-1"); err != nil {
		t.Fatalf("o-1's notification: %v", err)
	}
	notify.stop()

	if _, o := a.place(order("o-2", "c-1", "mug", 1, "DE"), 15*time.Second); o.Status != "completed" {
		t.Fatalf("o-2 = %+v, want completed", o)
	}
	waitFor(t, finalWithin, "o-2's saga to wait on its notification", func() bool {
		d, err := main.Client().DescribeWorkflowExecution(ctx, workflow.WorkflowID("o-2"), "")
		if err != nil || d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return false
		}
		for _, pa := range d.GetPendingActivities() {
			if pa.GetActivityType().GetName() == workflow.ActivityNotifyCustomer {
				return true
			}
		}
		return false
	})
	// The notification database, opened as the rebuild command does.
	node, err := hosted.Open(ctx, hosted.Config{Roles: []hosted.Role{hosted.RoleNotifications}, Databases: dbs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Close() })
	rep, err := (&endings.Rebuilder{Temporal: main.Client(), Store: node.Notifications}).Rebuild(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Before != 1 || rep.Sagas != 2 || rep.FromNotice != 2 || rep.After != 2 {
		t.Fatalf("report %+v, want 2 sagas, each rebuilt from its notice, o-2's from its running saga", rep)
	}
	rebuilt := allNotifications(t, node.Notifications)

	startProcess(t, ns, dbs, hosted.RoleNotifications)
	waitSagaClosed(t, main.Client(), "o-2")
	assertSameNotifications(t, rebuilt, allNotifications(t, node.Notifications))
	acts := activityAttempts(t, history(t, main.Client(), "o-2"))
	if !slices.Contains(acts, workflow.ActivityNotifyCustomer+"#1") {
		t.Fatalf("o-2's activities %v, want its notification run once the process is back", acts)
	}
}

// allNotifications returns every notification of the store.
func allNotifications(tb testing.TB, s *notifications.Store) []notifications.Notification {
	tb.Helper()
	all, err := s.All(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return all
}

// assertOneNotificationPerOrder checks that the store holds want
// notifications, one per order.
func assertOneNotificationPerOrder(tb testing.TB, s *notifications.Store, want int) {
	tb.Helper()
	all := allNotifications(tb, s)
	seen := map[string]bool{}
	for _, n := range all {
		if seen[n.OrderID] {
			tb.Errorf("order %s has two notifications", n.OrderID)
		}
		seen[n.OrderID] = true
	}
	if len(all) != want {
		tb.Fatalf("%d notifications, want %d", len(all), want)
	}
}

// assertSameNotifications compares two sets of notifications by order,
// row for row, but for the time each was written (RecordedAt).
func assertSameNotifications(tb testing.TB, want, got []notifications.Notification) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%d notifications, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.RecordedAt.IsZero() {
			tb.Errorf("order %s: no time recorded", g.OrderID)
		}
		w.RecordedAt, g.RecordedAt = time.Time{}, time.Time{}
		if g != w {
			tb.Errorf("notification %d:\n got  %+v\n want %+v", i, g, w)
		}
	}
}
