package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"log/slog"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	sdkworkflow "go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/orchestrated/activities"
	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// The activity names of the saga's actions and compensations.
var (
	reserve = string(saga.ReserveInventory)
	release = string(saga.ReleaseInventory)
	commit  = string(saga.CommitInventory)
	charge  = string(saga.ChargePayment)
	refund  = string(saga.RefundPayment)
	ship    = string(saga.CreateShipment)
	unship  = string(saga.CancelShipment)
)

func orderInput() saga.Input {
	return saga.Input{
		OrderID:    "o-1",
		CustomerID: "c-1",
		Items:      []domain.Item{{SKU: "mug", Quantity: 2}},
		ShipTo:     domain.Address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"},
	}
}

// sagaTest runs OrderSaga in the test environment with every activity
// mocked, and records what the saga did.
type sagaTest struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	// started lists every activity attempt, in order.
	started []string
	// records lists the order-store updates, in order, as short strings:
	// "inventory done", "failed out_of_stock", "completed TRK-1", …
	records []string
	// actionInputs holds the input each action was called with.
	actionInputs map[string]saga.Input
	// notices lists the customer notifications, in order, and
	// recordsBefore the order-store updates made before each.
	notices       []workflow.Notice
	recordsBefore [][]string
}

// notified records a customer notification.
func (st *sagaTest) notified(n workflow.Notice) {
	st.notices = append(st.notices, n)
	st.recordsBefore = append(st.recordsBefore, slices.Clone(st.records))
}

func newSagaTest(t *testing.T) *sagaTest {
	t.Helper()
	return newSagaTestOf(t, saga.Default())
}

// newSagaTestOf is newSagaTest for the saga g.
func newSagaTestOf(t *testing.T, g *saga.Saga) *sagaTest {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(30 * time.Second)
	env.RegisterWorkflowWithOptions(workflow.New(g, saga.Policy{}).OrderSaga, sdkworkflow.RegisterOptions{Name: workflow.Name})
	for _, step := range g.Steps() {
		a := &activities.Step{}
		env.RegisterActivityWithOptions(a.Act, activity.RegisterOptions{Name: string(step.Action)})
		env.RegisterActivityWithOptions(a.Undo, activity.RegisterOptions{Name: string(step.Compensation)})
		if step.Completion != "" {
			env.RegisterActivityWithOptions(a.Complete, activity.RegisterOptions{Name: string(step.Completion)})
		}
	}
	env.RegisterActivity(&activities.OrderActivities{})
	env.RegisterActivityWithOptions((&activities.Notifier{}).NotifyCustomer, activity.RegisterOptions{Name: workflow.ActivityNotifyCustomer})
	st := &sagaTest{t: t, env: env, actionInputs: map[string]saga.Input{}}
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		st.started = append(st.started, info.ActivityType.Name)
	})

	return st
}

// action mocks an action to return out or err, recording its input.
func (st *sagaTest) action(name string, out saga.Outcome, err error) *testsuite.MockCallWrapper {
	return st.env.OnActivity(name, mock.Anything, mock.Anything).Return(func(_ context.Context, in saga.Input) (saga.Outcome, error) {
		st.actionInputs[name] = in
		return out, err
	})
}

// succeedEverywhere mocks every action, compensation, the completion and
// the order-store updates to succeed; compensations find something to
// undo. Mocks set before it take precedence.
func (st *sagaTest) succeedEverywhere() {
	st.action(reserve, saga.Outcome{Prices: []domain.PricedItem{{SKU: "mug", Quantity: 2, PriceCents: 1250}}, TotalCents: 2500}, nil).Maybe()
	st.action(charge, saga.Outcome{}, nil).Maybe()
	st.action(ship, saga.Outcome{TrackingNumber: "TRK-1"}, nil).Maybe()
	st.env.OnActivity(commit, mock.Anything, mock.Anything).Return(nil).Maybe()
	for _, c := range []string{release, refund, unship} {
		st.env.OnActivity(c, mock.Anything, mock.Anything).Return(workflow.Compensation{}, nil).Maybe()
	}
	// Order-store updates succeed and are recorded.
	st.env.OnActivity(workflow.ActivityRecordStep, mock.Anything, mock.Anything).Return(func(_ context.Context, r workflow.StepRecord) error {
		s := fmt.Sprintf("%s %s", r.Step, r.Status)
		if len(r.Prices) > 0 {
			s += " priced"
		}
		st.records = append(st.records, s)
		return nil
	}).Maybe()
	st.env.OnActivity(workflow.ActivityCompleteOrder, mock.Anything, mock.Anything).Return(func(_ context.Context, c workflow.Completion) error {
		st.records = append(st.records, "completed "+c.TrackingNumber)
		return nil
	}).Maybe()
	st.env.OnActivity(workflow.ActivityFailOrder, mock.Anything, mock.Anything).Return(func(_ context.Context, f workflow.Failure) error {
		st.records = append(st.records, "failed "+string(f.Reason))
		return nil
	}).Maybe()
	st.env.OnActivity(workflow.ActivityCancelOrder, mock.Anything, mock.Anything).Return(func(context.Context, string) error {
		st.records = append(st.records, "cancelled")
		return nil
	}).Maybe()
	st.env.OnActivity(workflow.ActivityNotifyCustomer, mock.Anything, mock.Anything).Return(func(_ context.Context, n workflow.Notice) error {
		st.notified(n)
		return nil
	}).Maybe()
}

// run executes the saga and returns its result.
func (st *sagaTest) run() workflow.Result {
	st.t.Helper()
	st.env.ExecuteWorkflow(workflow.Name, orderInput())
	if !st.env.IsWorkflowCompleted() {
		st.t.Fatal("the saga did not finish")
	}
	if err := st.env.GetWorkflowError(); err != nil {
		st.t.Fatalf("the saga failed: %v", err)
	}
	var res workflow.Result
	if err := st.env.GetWorkflowResult(&res); err != nil {
		st.t.Fatalf("reading the saga's result: %v", err)
	}
	st.assertNotifiedOnceAtTheEnd(res)
	return res
}

// assertNotifiedOnceAtTheEnd checks that the saga notified the customer
// once, of its result, after the order's final status was recorded.
func (st *sagaTest) assertNotifiedOnceAtTheEnd(res workflow.Result) {
	st.t.Helper()
	in := orderInput()
	if len(st.notices) != 1 {
		st.t.Fatalf("notices = %+v, want one", st.notices)
	}
	n := st.notices[0]
	if n.OrderID != in.OrderID || n.CustomerID != in.CustomerID || n.Status != res.Status || n.Reason != res.FailureReason ||
		n.TrackingNumber != res.TrackingNumber || n.EndedAt.IsZero() {
		st.t.Fatalf("notice = %+v, want order %s of %s ending as %+v, with its time", n, in.OrderID, in.CustomerID, res)
	}
	before := st.recordsBefore[0]
	if !slices.Equal(before, st.records) || len(before) == 0 || !strings.HasPrefix(before[len(before)-1], string(res.Status)) {
		st.t.Fatalf("notified after the order-store updates %q of %q, want after the last, the final status", before, st.records)
	}
}

// orderStore are the order-store activities and the customer's
// notification, which serviceCalls leaves out.
var orderStore = []string{workflow.ActivityRecordStep, workflow.ActivityCompleteOrder, workflow.ActivityFailOrder, workflow.ActivityCancelOrder,
	workflow.ActivityNotifyCustomer}

// serviceCalls returns the started activities that belong to the step
// services (not the order store nor the notification), in order.
func (st *sagaTest) serviceCalls() []string {
	var out []string
	for _, a := range st.started {
		if !slices.Contains(orderStore, a) {
			out = append(out, a)
		}
	}
	return out
}

func (st *sagaTest) assertCalls(want ...string) {
	st.t.Helper()
	if got := st.serviceCalls(); !slices.Equal(got, want) {
		st.t.Fatalf("service activities = %v\nwant             %v", got, want)
	}
}

func (st *sagaTest) assertRecords(want ...string) {
	st.t.Helper()
	if !slices.Equal(st.records, want) {
		st.t.Fatalf("order-store updates = %q\nwant                %q", st.records, want)
	}
}

// cancelAfter sends the cancel update once d of workflow time passed and
// returns where its outcome is recorded.
func (st *sagaTest) cancelAfter(d time.Duration) *updateOutcome {
	o := &updateOutcome{}
	st.env.RegisterDelayedCallback(func() {
		st.env.UpdateWorkflow(workflow.UpdateCancel, "cancel-"+d.String(), &testsuite.TestUpdateCallback{
			OnAccept:   func() { o.accepted = true },
			OnReject:   func(err error) { o.rejected = err },
			OnComplete: func(any, error) { o.completed = true },
		})
	}, d)
	return o
}

type updateOutcome struct {
	accepted, completed bool
	rejected            error
}

func refusal(reason domain.FailureReason) error {
	return temporal.NewNonRetryableApplicationError("refused", workflow.RefusalType(reason), nil)
}

func TestOrderSaga_AllStepsSucceed_CommitsAndCompletesWithTracking(t *testing.T) {
	st := newSagaTest(t)
	st.succeedEverywhere()
	res := st.run()

	if res.Status != domain.StatusCompleted || res.TrackingNumber != "TRK-1" || res.FailureReason != "" {
		t.Fatalf("result = %+v, want completed with TRK-1", res)
	}
	st.assertCalls(reserve, charge, ship, commit)
	st.assertRecords("inventory done priced", "payment done", "shipping done", "completed TRK-1")
	if got := st.actionInputs[charge].TotalCents; got != 2500 {
		t.Fatalf("payment charged %d cents, want the priced total 2500", got)
	}
	if n := st.notices[0]; n.TotalCents != 2500 || n.TrackingNumber != "TRK-1" {
		t.Fatalf("notice = %+v, want the total 2500 and TRK-1", n)
	}
	if got := st.actionInputs[reserve]; got.OrderID != "o-1" || len(got.Items) != 1 {
		t.Fatalf("reserve input = %+v", got)
	}
}

func TestOrderSaga_BusinessFailureAtEachStep_CompensatesDoneStepsInReverse(t *testing.T) {
	cases := []struct {
		step        string
		reason      domain.FailureReason
		wantCalls   []string
		wantRecords []string
	}{
		{reserve, domain.ReasonOutOfStock,
			[]string{reserve},
			[]string{"inventory failed", "failed out_of_stock"}},
		{charge, domain.ReasonPaymentDeclined,
			[]string{reserve, charge, release},
			[]string{"inventory done priced", "payment failed", "inventory compensated", "failed payment_declined"}},
		{ship, domain.ReasonShippingUnavailable,
			[]string{reserve, charge, ship, refund, release},
			[]string{"inventory done priced", "payment done", "shipping failed", "payment compensated", "inventory compensated", "failed shipping_unavailable"}},
	}
	for _, c := range cases {
		t.Run(string(c.reason), func(t *testing.T) {
			st := newSagaTest(t)
			st.action(c.step, saga.Outcome{}, refusal(c.reason)).Once()
			st.succeedEverywhere()
			res := st.run()

			if res.Status != domain.StatusFailed || res.FailureReason != c.reason {
				t.Fatalf("result = %+v, want failed %s", res, c.reason)
			}
			st.assertCalls(c.wantCalls...)
			st.assertRecords(c.wantRecords...)
		})
	}
}

func TestOrderSaga_CancelWhileEachStepRuns_CompensatesThatStepAndEveryDoneOne(t *testing.T) {
	cases := []struct {
		step        string
		wantCalls   []string
		wantRecords []string
	}{
		{reserve,
			[]string{reserve, release},
			[]string{"inventory compensated", "cancelled"}},
		{charge,
			[]string{reserve, charge, refund, release},
			[]string{"inventory done priced", "payment compensated", "inventory compensated", "cancelled"}},
		{ship,
			[]string{reserve, charge, ship, unship, refund, release},
			[]string{"inventory done priced", "payment done", "shipping compensated", "payment compensated", "inventory compensated", "cancelled"}},
	}
	for _, c := range cases {
		t.Run(c.step, func(t *testing.T) {
			st := newSagaTest(t)
			// The step's action is still running an hour later; the cancel
			// comes after a minute.
			st.action(c.step, saga.Outcome{}, nil).After(time.Hour).Once()
			st.succeedEverywhere()
			upd := st.cancelAfter(time.Minute)
			res := st.run()

			if !upd.accepted || !upd.completed || upd.rejected != nil {
				t.Fatalf("cancel update: %+v, want accepted and completed", upd)
			}
			if res.Status != domain.StatusCancelled || res.FailureReason != domain.ReasonCancelled {
				t.Fatalf("result = %+v, want cancelled", res)
			}
			st.assertCalls(c.wantCalls...)
			st.assertRecords(c.wantRecords...)
		})
	}
}

func TestOrderSaga_CancelWhileStepRuns_CompensationFindsNothing_StepSkipped(t *testing.T) {
	st := newSagaTest(t)
	st.action(charge, saga.Outcome{}, nil).After(time.Hour).Once()
	st.env.OnActivity(refund, mock.Anything, mock.Anything).Return(workflow.Compensation{Tombstone: true}, nil).Once()
	st.succeedEverywhere()
	st.cancelAfter(time.Minute)
	res := st.run()

	if res.Status != domain.StatusCancelled {
		t.Fatalf("result = %+v, want cancelled", res)
	}
	st.assertCalls(reserve, charge, refund, release)
	st.assertRecords("inventory done priced", "payment skipped", "inventory compensated", "cancelled")
}

func TestOrderSaga_CancelAfterLastStepBeforeCompletion_CompensatesEveryStep(t *testing.T) {
	st := newSagaTest(t)
	// Recording the shipping step takes a while: the cancel lands between
	// the last step and the completion.
	st.env.OnActivity(workflow.ActivityRecordStep, mock.Anything, mock.MatchedBy(func(r workflow.StepRecord) bool {
		return r.Step == domain.StepShipping && r.Status == domain.StepDone
	})).Return(func(context.Context, workflow.StepRecord) error {
		st.records = append(st.records, "shipping done")
		return nil
	}).After(time.Hour).Once()
	st.succeedEverywhere()
	st.cancelAfter(time.Minute)
	res := st.run()

	if res.Status != domain.StatusCancelled {
		t.Fatalf("result = %+v, want cancelled", res)
	}
	st.assertCalls(reserve, charge, ship, unship, refund, release)
	st.assertRecords("inventory done priced", "payment done", "shipping done",
		"shipping compensated", "payment compensated", "inventory compensated", "cancelled")
}

func TestOrderSaga_CancelDuringCompletion_IsRejectedAndOrderCompletes(t *testing.T) {
	st := newSagaTest(t)
	st.env.OnActivity(commit, mock.Anything, mock.Anything).Return(nil).After(time.Hour).Once()
	st.succeedEverywhere()
	upd := st.cancelAfter(time.Minute)
	res := st.run()

	if upd.accepted || upd.rejected == nil {
		t.Fatalf("cancel update during completion: %+v, want rejected", upd)
	}
	var app *temporal.ApplicationError
	if !errors.As(upd.rejected, &app) || app.Type() != workflow.ErrTypeNotCancellable {
		t.Fatalf("rejection = %v, want type %s", upd.rejected, workflow.ErrTypeNotCancellable)
	}
	if res.Status != domain.StatusCompleted {
		t.Fatalf("result = %+v, want completed", res)
	}
	st.assertCalls(reserve, charge, ship, commit)
}

func TestOrderSaga_CancelWhileCompensatingARefusal_IsRejectedAndOrderFails(t *testing.T) {
	st := newSagaTest(t)
	st.action(ship, saga.Outcome{}, refusal(domain.ReasonShippingUnavailable)).Once()
	st.env.OnActivity(refund, mock.Anything, mock.Anything).Return(workflow.Compensation{}, nil).After(time.Hour).Once()
	st.succeedEverywhere()
	upd := st.cancelAfter(time.Minute)
	res := st.run()

	if upd.accepted || upd.rejected == nil {
		t.Fatalf("cancel update while failing: %+v, want rejected", upd)
	}
	if res.Status != domain.StatusFailed || res.FailureReason != domain.ReasonShippingUnavailable {
		t.Fatalf("result = %+v, want failed shipping_unavailable", res)
	}
	st.assertCalls(reserve, charge, ship, refund, release)
}

func TestOrderSaga_RepeatedCancel_IsAcceptedOnceCompensatesOnce(t *testing.T) {
	st := newSagaTest(t)
	st.action(charge, saga.Outcome{}, nil).After(time.Hour).Once()
	st.env.OnActivity(release, mock.Anything, mock.Anything).Return(workflow.Compensation{}, nil).After(10 * time.Minute).Once()
	st.succeedEverywhere()
	first := st.cancelAfter(time.Minute)
	second := st.cancelAfter(2 * time.Minute) // while compensating
	res := st.run()

	if !first.accepted || !second.accepted {
		t.Fatalf("cancel updates: first %+v, second %+v; want both accepted", first, second)
	}
	if res.Status != domain.StatusCancelled {
		t.Fatalf("result = %+v, want cancelled", res)
	}
	st.assertCalls(reserve, charge, refund, release)
}

func TestOrderSaga_WorkflowCancelled_StillCompensatesInDisconnectedContext(t *testing.T) {
	st := newSagaTest(t)
	st.action(ship, saga.Outcome{}, nil).After(time.Hour).Once()
	st.succeedEverywhere()
	st.env.RegisterDelayedCallback(st.env.CancelWorkflow, time.Minute)
	res := st.run()

	if res.Status != domain.StatusCancelled {
		t.Fatalf("result = %+v, want cancelled", res)
	}
	st.assertCalls(reserve, charge, ship, unship, refund, release)
	st.assertRecords("inventory done priced", "payment done", "shipping compensated", "payment compensated", "inventory compensated", "cancelled")
}

func TestOrderSaga_TransientFaults_AreRetriedAndDoNotFailTheOrder(t *testing.T) {
	st := newSagaTest(t)
	transient := errs.Wrap(errs.Unavailable, errors.New("injected fault"), "payment is unavailable")
	st.action(charge, saga.Outcome{}, transient).Times(3)
	st.env.OnActivity(commit, mock.Anything, mock.Anything).Return(transient).Twice()
	st.succeedEverywhere()
	res := st.run()

	if res.Status != domain.StatusCompleted {
		t.Fatalf("result = %+v, want completed despite transient faults", res)
	}
	st.assertCalls(reserve, charge, charge, charge, charge, ship, commit, commit, commit)
	st.assertRecords("inventory done priced", "payment done", "shipping done", "completed TRK-1")
}

func TestOrderSaga_CompensationFaults_AreRetriedUntilItSucceeds(t *testing.T) {
	st := newSagaTest(t)
	transient := errors.New("connection reset")
	st.action(ship, saga.Outcome{}, refusal(domain.ReasonShippingUnavailable)).Once()
	st.env.OnActivity(refund, mock.Anything, mock.Anything).Return(workflow.Compensation{}, transient).Times(5)
	st.succeedEverywhere()
	res := st.run()

	if res.Status != domain.StatusFailed || res.FailureReason != domain.ReasonShippingUnavailable {
		t.Fatalf("result = %+v, want failed shipping_unavailable", res)
	}
	st.assertCalls(reserve, charge, ship, refund, refund, refund, refund, refund, refund, release)
}

func TestOrderSaga_ActionGivesUp_CompensatesThatStepTooAndFails(t *testing.T) {
	// The test environment caps an unlimited retry policy at 10 attempts;
	// on a server the action gives up after the step deadline. The step is
	// recorded failed with the reason, and compensated all the same (it
	// may have taken effect).
	st := newSagaTest(t)
	st.action(charge, saga.Outcome{}, errors.New("payment database down"))
	st.succeedEverywhere()
	res := st.run()

	if res.Status != domain.StatusFailed || res.FailureReason != workflow.ReasonGaveUp {
		t.Fatalf("result = %+v, want failed %s", res, workflow.ReasonGaveUp)
	}
	calls := st.serviceCalls()
	if n := strings.Count(strings.Join(calls, " "), charge); n < 2 {
		t.Fatalf("charge attempted %d times; want it retried", n)
	}
	if tail := calls[len(calls)-2:]; !slices.Equal(tail, []string{refund, release}) {
		t.Fatalf("last calls = %v, want the payment then the inventory compensated", tail)
	}
	st.assertRecords("inventory done priced", "payment failed", "inventory compensated", "failed "+string(workflow.ReasonGaveUp))
}

func TestOrderSaga_ActionRejectsTheOrdersData_FailsRejectedAtOnce(t *testing.T) {
	st := newSagaTest(t)
	st.action(charge, saga.Outcome{}, refusal(domain.ReasonRejected)).Once()
	st.succeedEverywhere()
	res := st.run()

	if res.Status != domain.StatusFailed || res.FailureReason != domain.ReasonRejected {
		t.Fatalf("result = %+v, want failed rejected", res)
	}
	st.assertCalls(reserve, charge, release)
	st.assertRecords("inventory done priced", "payment failed", "inventory compensated", "failed rejected")
}

func TestOrderSaga_LateActionAfterItsCompensation_EndsCancelled(t *testing.T) {
	st := newSagaTest(t)
	st.action(charge, saga.Outcome{}, temporal.NewNonRetryableApplicationError("already refunded", workflow.ErrTypeCompensated, nil)).Once()
	st.env.OnActivity(refund, mock.Anything, mock.Anything).Return(workflow.Compensation{Tombstone: true}, nil).Once()
	st.succeedEverywhere()
	res := st.run()

	if res.Status != domain.StatusCancelled {
		t.Fatalf("result = %+v, want cancelled", res)
	}
	st.assertCalls(reserve, charge, refund, release)
	st.assertRecords("inventory done priced", "payment skipped", "inventory compensated", "cancelled")
}

func TestOrderSaga_StatusQuery_ShowsTheRunningStep(t *testing.T) {
	st := newSagaTest(t)
	st.action(charge, saga.Outcome{}, nil).After(time.Hour).Once()
	st.succeedEverywhere()
	var during workflow.State
	st.env.RegisterDelayedCallback(func() {
		v, err := st.env.QueryWorkflow(workflow.QueryStatus)
		if err != nil {
			t.Errorf("query: %v", err)
			return
		}
		if err := v.Get(&during); err != nil {
			t.Errorf("decoding the state: %v", err)
		}
	}, time.Minute)
	res := st.run()

	if during.Phase != workflow.PhaseRunning || during.Running != domain.StepPayment || during.Status != domain.StatusPending {
		t.Fatalf("state while charging = %+v", during)
	}
	if during.TotalCents != 2500 || during.Steps[0].Status != domain.StepDone || during.Steps[1].Status != domain.StepPending {
		t.Fatalf("state while charging = %+v", during)
	}
	v, err := st.env.QueryWorkflow(workflow.QueryStatus)
	if err != nil {
		t.Fatal(err)
	}
	var after workflow.State
	if err := v.Get(&after); err != nil {
		t.Fatal(err)
	}
	if after.Phase != workflow.PhaseFinished || after.Status != res.Status || after.TrackingNumber != "TRK-1" {
		t.Fatalf("state at the end = %+v", after)
	}
}

// testWriter writes log lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestOrderSaga_AFourthStepRefusingWithItsSecondReason_FailsWithThatReasonAndUndoesInReverse(t *testing.T) {
	g, err := saga.Default().Insert(domain.StepPayment, saga.Step{Name: "loyalty", Action: "AwardPoints", Compensation: "RevokePoints",
		Refusals: []domain.FailureReason{"loyalty_frozen", "loyalty_capped"}})
	if err != nil {
		t.Fatal(err)
	}
	st := newSagaTestOf(t, g)
	st.action("AwardPoints", saga.Outcome{}, refusal("loyalty_capped")).Once()
	st.env.OnActivity("RevokePoints", mock.Anything, mock.Anything).Return(workflow.Compensation{}, nil).Maybe()
	st.succeedEverywhere()
	res := st.run()

	if res.Status != domain.StatusFailed || res.FailureReason != "loyalty_capped" {
		t.Fatalf("result = %+v, want failed loyalty_capped", res)
	}
	st.assertCalls(reserve, charge, "AwardPoints", refund, release)
	st.assertRecords("inventory done priced", "payment done", "loyalty failed", "payment compensated", "inventory compensated", "failed loyalty_capped")
	if in := st.actionInputs["AwardPoints"]; in.TotalCents != 2500 {
		t.Fatalf("the new step saw total %d, want the priced 2500", in.TotalCents)
	}
}

func TestOrderSaga_NotificationRefused_IsLoggedAndTheSagaStillCompletes(t *testing.T) {
	st := newSagaTest(t)
	st.env.OnActivity(workflow.ActivityNotifyCustomer, mock.Anything, mock.Anything).Return(func(_ context.Context, n workflow.Notice) error {
		st.notified(n)
		return temporal.NewNonRetryableApplicationError("no customer", workflow.ErrTypeNotificationRejected, nil)
	}).Once()
	st.succeedEverywhere()
	res := st.run()

	if res.Status != domain.StatusCompleted {
		t.Fatalf("result = %+v, want completed: the order is final before the notification", res)
	}
}

func TestOrderSaga_NotificationFaults_AreRetriedUntilRecorded(t *testing.T) {
	st := newSagaTest(t)
	st.action(reserve, saga.Outcome{}, refusal(domain.ReasonOutOfStock)).Once()
	st.env.OnActivity(workflow.ActivityNotifyCustomer, mock.Anything, mock.Anything).Return(errors.New("notification database is locked")).Times(3)
	st.succeedEverywhere()
	res := st.run()

	if res.Status != domain.StatusFailed || res.FailureReason != domain.ReasonOutOfStock {
		t.Fatalf("result = %+v, want failed out_of_stock", res)
	}
	if n := strings.Count(strings.Join(st.started, " "), workflow.ActivityNotifyCustomer); n != 4 {
		t.Fatalf("activities = %v, want the notification attempted 4 times", st.started)
	}
}
