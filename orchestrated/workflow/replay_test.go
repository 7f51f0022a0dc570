package workflow_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	sdkworkflow "go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// recorded is one history of testdata.
type recorded struct {
	name string // the file's name without .json
	path string
	// notified: the history runs the customer notification (it was
	// recorded after ChangeNotifyCustomer).
	notified bool
}

// recordedHistories returns the histories of testdata: those recorded
// before the customer notification (order-<id>.json) and after it
// (order-<id>.notify-customer-1.json), at least the 3 recorded scenarios
// of each.
func recordedHistories(t *testing.T) []recorded {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []recorded
	before, after := 0, 0
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		r := recorded{name: name, path: f, notified: strings.HasSuffix(name, "."+workflow.ChangeNotifyCustomer+"-1")}
		if r.notified {
			after++
		} else {
			before++
		}
		out = append(out, r)
	}
	if before < 3 || after < 3 {
		t.Fatalf("found %d histories recorded before the customer notification and %d after, want the 3 recorded scenarios of each", before, after)
	}
	return out
}

// replay replays one recorded history under the workflow w.
func replay(t *testing.T, w *workflow.Saga, path string) error {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(w.OrderSaga, sdkworkflow.RegisterOptions{Name: workflow.Name})
	logger := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	return r.ReplayWorkflowHistoryFromJSONFile(logger, path)
}

// TestOrderSaga_ReplaysRecordedHistories replays histories recorded from
// real runs (see generate.go) under the workflow as it is: a change of the
// saga that would break the sagas already running fails here. Those
// recorded before the customer notification replay without it (no version
// marker: workflow.DefaultVersion), those recorded after with it.
func TestOrderSaga_ReplaysRecordedHistories(t *testing.T) {
	for _, h := range recordedHistories(t) {
		t.Run(h.name, func(t *testing.T) {
			events := readHistory(t, h.path)
			if got := notifies(events); got != h.notified {
				t.Fatalf("%s: runs the notification: %v, want %v", h.path, got, h.notified)
			}
			if err := replay(t, workflow.New(nil, saga.Policy{}), h.path); err != nil {
				t.Fatalf("replaying %s: %v", h.path, err)
			}
		})
	}
}

// TestOrderSaga_BeforeNotify_IsTheCodeTheOldHistoriesRan checks the
// test-only workflow of the code before the customer notification
// (NewBeforeNotify), which the old-worker test runs: the histories that
// code recorded replay under it, and those recorded since do not (their
// commands are not its own).
func TestOrderSaga_BeforeNotify_IsTheCodeTheOldHistoriesRan(t *testing.T) {
	for _, h := range recordedHistories(t) {
		t.Run(h.name, func(t *testing.T) {
			err := replay(t, workflow.NewBeforeNotify(nil, saga.Policy{}), h.path)
			switch {
			case !h.notified && err != nil:
				t.Fatalf("replaying %s under the code before the notification: %v", h.path, err)
			case h.notified && (err == nil || !strings.Contains(err.Error(), nonDeterminism)):
				t.Fatalf("%s, recorded with the notification, under the code before it: %v, want a non-determinism error", h.path, err)
			}
		})
	}
}

// nonDeterminism is the code of the SDK's non-determinism errors: the
// workflow's commands are not those its history recorded.
const nonDeterminism = "TMPRL1100"

// readHistory reads a recorded history.
func readHistory(t *testing.T, path string) []*historypb.HistoryEvent {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var h historypb.History
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &h); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return h.GetEvents()
}

// notifies reports whether a history has the notification's version
// marker and its activity.
func notifies(events []*historypb.HistoryEvent) bool {
	marker, activity := false, false
	for _, e := range events {
		if m := e.GetMarkerRecordedEventAttributes(); m != nil && m.GetMarkerName() == "Version" {
			marker = true
		}
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == workflow.ActivityNotifyCustomer {
			activity = true
		}
	}
	return marker && activity
}
