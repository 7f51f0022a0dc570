package stack_test

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
)

var recordHistories = flag.Bool("record-histories", false,
	"run the saga's recording scenarios and write their histories to ../workflow/testdata for its replay test")

// recordedChange names the histories the recorder writes: the saga's
// latest change of its commands (workflow.ChangeNotifyCustomer at its
// version), so that the histories recorded before it stay next to them
// and keep being replayed. A later change of the commands names its own.
const recordedChange = workflow.ChangeNotifyCustomer + "-1"

// TestRecordHistories records the histories the workflow package's replay
// test replays, from real runs of the stack: a completed order, a refused
// one that compensates, and one cancelled while its payment runs, each
// notifying its customer. It runs only with -record-histories (go generate
// ./orchestrated/workflow) and writes order-<id>.<recordedChange>.json.
func TestRecordHistories(t *testing.T) {
	if !*recordHistories {
		t.Skip("records histories only with -record-histories")
	}
	p := startProcess(t, newNamespace(t), sqliteDatabases(t))
	a := p.api(t)
	a.putProduct("mug", 1250, 10)
	a.putCustomer("c-1", 10_000)
	a.putCustomer("poor", 100)

	if _, o := a.place(order("completed", "c-1", "mug", 2, "DE"), 15*time.Second); o.Status != "completed" {
		t.Fatalf("completed = %+v", o)
	}
	if _, o := a.place(order("payment-declined", "poor", "mug", 2, "DE"), 15*time.Second); o.Status != "failed" {
		t.Fatalf("payment-declined = %+v", o)
	}
	if err := p.Hosted().Faults["payment"].Set(faults.Setting{Latency: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	a.place(order("cancelled", "c-1", "mug", 1, "DE"), 0)
	waitFor(t, 10*time.Second, "the payment step to run", func() bool {
		return sagaState(t, p.Client(), "cancelled").Running == domain.StepPayment
	})
	a.mustDo(http.MethodPost, "/v1/orders/cancelled/cancel", nil, nil, http.StatusAccepted)
	if o := a.waitFinal("cancelled"); o.Status != "cancelled" {
		t.Fatalf("cancelled = %+v", o)
	}

	dir := filepath.Join("..", "workflow", "testdata")
	for _, id := range []string{"completed", "payment-declined", "cancelled"} {
		b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(&historypb.History{Events: history(t, p.Client(), id)})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "order-"+id+"."+recordedChange+".json")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
}
