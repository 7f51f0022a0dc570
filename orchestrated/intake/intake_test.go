package intake_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ordersaga/ordersaga/orchestrated/intake"
	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/saga"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newOrder(t *testing.T, id string, at time.Time) *domain.Order {
	t.Helper()
	o, err := domain.NewOrder(domain.PlaceOrder{
		OrderID: id, CustomerID: "c-1", Items: []domain.Item{{SKU: "mug", Quantity: 1}},
		ShipTo: domain.Address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"},
	}, saga.Default().Names(), at)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// fakeStore is an in-memory order store.
type fakeStore struct {
	mu     sync.Mutex
	orders map[string]*domain.Order
}

func newFakeStore(os ...*domain.Order) *fakeStore {
	s := &fakeStore{orders: map[string]*domain.Order{}}
	for _, o := range os {
		s.orders[o.ID()] = o
	}
	return s
}

func (s *fakeStore) Create(_ context.Context, o *domain.Order) (*domain.Order, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if got, ok := s.orders[o.ID()]; ok {
		if got.State().Fingerprint != o.State().Fingerprint {
			return nil, false, errs.E(errs.Conflict, "order %s exists with another request", o.ID())
		}
		return got, false, nil
	}
	s.orders[o.ID()] = o
	return o, true, nil
}

func (s *fakeStore) Get(_ context.Context, id string) (*domain.Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.orders[id]; ok {
		return o, nil
	}
	return nil, errs.E(errs.NotFound, "no order %s", id)
}

func (s *fakeStore) List(_ context.Context, f orders.Filter) (orders.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p orders.Page
	for _, o := range s.orders {
		if f.Status == "" || o.Status() == f.Status {
			p.Orders = append(p.Orders, o)
		}
	}
	return p, nil
}

// fakeTemporal records starts and cancels and fails them on demand.
type fakeTemporal struct {
	mu        sync.Mutex
	starts    []client.StartWorkflowOptions
	startErr  error
	cancels   int
	updateErr error
	running   map[string]bool // workflow IDs that exist
	// ended holds workflow IDs that exist and have ended, with a hook run
	// when one is described (the saga finishing its order meanwhile).
	ended map[string]func()
	// attempts gives a running workflow a pending activity on that
	// attempt.
	attempts map[string]int32
}

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, o)
	return nil, f.startErr
}

func (f *fakeTemporal) NewWithStartWorkflowOperation(client.StartWorkflowOptions, any, ...any) client.WithStartWorkflowOperation {
	return nil
}

func (f *fakeTemporal) UpdateWithStartWorkflow(_ context.Context, o client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o.UpdateOptions.UpdateName != workflow.UpdateCancel {
		return nil, errors.New("unexpected update " + o.UpdateOptions.UpdateName)
	}
	f.cancels++
	if f.updateErr != nil {
		return nil, f.updateErr
	}
	return doneUpdate{}, nil
}

// doneUpdate is an update that completed.
type doneUpdate struct{}

func (doneUpdate) WorkflowID() string             { return "" }
func (doneUpdate) RunID() string                  { return "" }
func (doneUpdate) UpdateID() string               { return "" }
func (doneUpdate) Get(context.Context, any) error { return nil }

func (f *fakeTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if hook, ok := f.ended[id]; ok {
		hook()
		return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
			Status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
		}}, nil
	}
	if !f.running[id] {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	resp := &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
	}}
	if n, ok := f.attempts[id]; ok {
		resp.PendingActivities = []*workflowpb.PendingActivityInfo{{Attempt: n}}
	}
	return resp, nil
}

func TestPlace_StoresTheOrderThenStartsItsSagaIdempotently(t *testing.T) {
	store, tc := newFakeStore(), &fakeTemporal{}
	f := intake.New(tc, store, nil)
	o, created, err := f.Place(context.Background(), newOrder(t, "o-1", t0))
	if err != nil || !created || o.ID() != "o-1" {
		t.Fatalf("Place = %v, %v, %v", o, created, err)
	}
	if len(tc.starts) != 1 {
		t.Fatalf("%d starts, want 1", len(tc.starts))
	}
	opts := tc.starts[0]
	if opts.ID != "order-o-1" || opts.TaskQueue != string(workflow.TaskQueueOrders) {
		t.Fatalf("start options id %q queue %q", opts.ID, opts.TaskQueue)
	}
	if opts.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING ||
		opts.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE {
		t.Fatalf("start policies %v/%v: a repeated start must reuse a running saga and never rerun a finished one",
			opts.WorkflowIDConflictPolicy, opts.WorkflowIDReusePolicy)
	}
	if c, ok := opts.TypedSearchAttributes.GetKeyword(workflow.CustomerIDKey()); !ok || c != "c-1" {
		t.Fatalf("customer search attribute = %q %v", c, ok)
	}
	if s, ok := opts.TypedSearchAttributes.GetKeyword(workflow.OrderStatusKey()); !ok || s != "pending" {
		t.Fatalf("status search attribute = %q %v", s, ok)
	}
	if opts.Memo[workflow.MemoCustomerID] != "c-1" {
		t.Fatalf("memo = %v", opts.Memo)
	}
	if !opts.EnableEagerStart {
		t.Fatal("the start is not eager: the saga's first workflow task would wait for a round trip through the task queue")
	}
	if intake.StartOptions(o).EnableEagerStart {
		t.Fatal("StartOptions asks for an eager start, which an update-with-start refuses")
	}

	// The same request again: the stored order, and the saga is started
	// again (a no-op for a running saga, a repair after a crash).
	again, created, err := f.Place(context.Background(), newOrder(t, "o-1", t0.Add(time.Second)))
	if err != nil || created || again != o {
		t.Fatalf("repeat = %v, %v, %v; want the stored order, not created", again, created, err)
	}
	if len(tc.starts) != 2 || tc.starts[1].ID != "order-o-1" {
		t.Fatalf("starts = %d, want the repeat to start the same saga", len(tc.starts))
	}
}

func TestPlace_OtherRequestSameID_IsConflictAndStartsNothing(t *testing.T) {
	store, tc := newFakeStore(newOrder(t, "o-1", t0)), &fakeTemporal{}
	other, err := domain.NewOrder(domain.PlaceOrder{
		OrderID: "o-1", CustomerID: "c-2", Items: []domain.Item{{SKU: "mug", Quantity: 1}},
		ShipTo: domain.Address{Name: "Bo", Line1: "2 Main St", City: "Paris", PostalCode: "75001", Country: "FR"},
	}, saga.Default().Names(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := intake.New(tc, store, nil).Place(context.Background(), other); !errs.Is(err, errs.Conflict) {
		t.Fatalf("err = %v, want conflict", err)
	}
	if len(tc.starts) != 0 {
		t.Fatal("a refused request started a saga")
	}
}

func TestPlace_StartFails_OrderIsStillAcceptedAndReconcilerStartsIt(t *testing.T) {
	store, tc := newFakeStore(), &fakeTemporal{startErr: errors.New("connection refused")}
	f := intake.New(tc, store, nil)
	o, created, err := f.Place(context.Background(), newOrder(t, "o-1", t0))
	if err != nil || !created || o.Status() != domain.StatusPending {
		t.Fatalf("Place = %v, %v, %v; want the pending order accepted", o, created, err)
	}

	tc.startErr = nil
	r := intake.NewReconciler(f, func() time.Time { return t0.Add(time.Minute) })
	if started, err := r.Reconcile(context.Background(), 2*time.Minute); err != nil || len(started) != 0 {
		t.Fatalf("reconciling orders older than 2m: started %v, %v; want none (the order is younger)", started, err)
	}
	started, err := r.Reconcile(context.Background(), 30*time.Second)
	if err != nil || !slices.Equal(started, []string{"o-1"}) {
		t.Fatalf("started %v, %v; want o-1", started, err)
	}
}

func TestReconcile_LeavesOrdersWithASagaAndFinalOrdersAlone(t *testing.T) {
	running, orphan, done := newOrder(t, "running", t0), newOrder(t, "orphan", t0), newOrder(t, "done", t0)
	if err := done.Fail(domain.ReasonOutOfStock, t0); err != nil {
		t.Fatal(err)
	}
	tc := &fakeTemporal{running: map[string]bool{"order-running": true}}
	f := intake.New(tc, newFakeStore(running, orphan, done), nil)
	started, err := intake.NewReconciler(f, nil).Reconcile(context.Background(), 0)
	if err != nil || !slices.Equal(started, []string{"orphan"}) {
		t.Fatalf("started %v, %v; want only the orphan", started, err)
	}
	if len(tc.starts) != 1 || tc.starts[0].ID != "order-orphan" {
		t.Fatalf("starts = %+v", tc.starts)
	}
}

func TestCancel_MapsOutcomesToAPISemantics(t *testing.T) {
	pending := newOrder(t, "pending", t0)
	completed := newOrder(t, "completed", t0)
	for _, step := range saga.Default().Names() {
		if err := completed.MarkStep(step, domain.StepDone, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := completed.Complete(t0); err != nil {
		t.Fatal(err)
	}
	cancelled := newOrder(t, "cancelled", t0)
	if err := cancelled.Cancel(t0); err != nil {
		t.Fatal(err)
	}
	notCancellable := temporal.NewApplicationError("order is completing", workflow.ErrTypeNotCancellable)
	cases := []struct {
		name        string
		id          string
		updateErr   error
		wantCode    errs.Code // "" for success
		wantUpdates int
	}{
		{"pending is cancelled", "pending", nil, "", 1},
		{"unknown is not found", "nope", nil, errs.NotFound, 0},
		{"completed is a conflict", "completed", nil, errs.Conflict, 0},
		{"cancelled again is fine", "cancelled", nil, "", 0},
		{"saga refuses: conflict", "pending", notCancellable, errs.Conflict, 1},
		{"temporal down: unavailable", "pending", errors.New("connection refused"), errs.Unavailable, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc := &fakeTemporal{updateErr: c.updateErr}
			f := intake.New(tc, newFakeStore(pending, completed, cancelled), nil)
			o, err := f.Cancel(context.Background(), c.id)
			if c.wantCode == "" {
				if err != nil || o == nil || o.ID() != c.id {
					t.Fatalf("Cancel = %v, %v; want the order", o, err)
				}
			} else if !errs.Is(err, c.wantCode) {
				t.Fatalf("err = %v, want %s", err, c.wantCode)
			}
			if tc.cancels != c.wantUpdates {
				t.Fatalf("%d cancel updates, want %d", tc.cancels, c.wantUpdates)
			}
		})
	}
}

func TestReconcile_WarnsOnlyOfAPendingOrderWhoseSagaEnded(t *testing.T) {
	racing, stuck := newOrder(t, "racing", t0), newOrder(t, "stuck", t0)
	tc := &fakeTemporal{ended: map[string]func(){
		// The saga finishes the order between the listing and the look-up.
		"order-racing": func() {
			if err := racing.Fail(domain.ReasonOutOfStock, t0); err != nil {
				t.Error(err)
			}
		},
		"order-stuck": func() {},
	}}
	var logs strings.Builder
	f := intake.New(tc, newFakeStore(racing, stuck), slog.New(slog.NewTextHandler(&logs, nil)))
	if _, err := intake.NewReconciler(f, nil).Reconcile(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "order_id=stuck") {
		t.Errorf("no warning about the stuck order:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "order_id=racing") {
		t.Errorf("a false warning about an order its saga finished:\n%s", logs.String())
	}
	if len(tc.starts) != 0 {
		t.Errorf("started %d sagas, want none", len(tc.starts))
	}
}

func TestReconcile_CountsTheSagasRetryingAnActivity(t *testing.T) {
	stuck, fine := newOrder(t, "stuck", t0), newOrder(t, "fine", t0)
	tc := &fakeTemporal{running: map[string]bool{"order-stuck": true, "order-fine": true}, attempts: map[string]int32{"order-stuck": 4}}
	r := intake.NewReconciler(intake.New(tc, newFakeStore(stuck, fine), nil), nil)
	if _, err := r.Reconcile(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if got := r.Retrying(); got != 1 {
		t.Fatalf("Retrying() = %d, want 1 (the saga on its 4th attempt)", got)
	}
}
