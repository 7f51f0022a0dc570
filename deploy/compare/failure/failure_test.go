package failure

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/compare/section"
	"github.com/ordersaga/ordersaga/shared/scenario"
)

func TestFailureBinary_TestBinaryWithoutOption_Refused(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(exe, ".test") {
		t.Skipf("the test binary %s is not named *.test", exe)
	}
	if _, err := failureBinary(&section.Env{}); err == nil {
		t.Errorf("failureBinary without Env.Binary under go test: nil error, want a refusal of the test binary")
	}
	got, err := failureBinary(&section.Env{Binary: "/bin/ordersaga"})
	if err != nil || got != "/bin/ordersaga" {
		t.Errorf("failureBinary with Env.Binary = %q, %v; want /bin/ordersaga", got, err)
	}
}

func TestCompensationTime_FromTheRefusalToTheLastUndo(t *testing.T) {
	at := func(ms int) time.Time {
		return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(ms) * time.Millisecond)
	}
	noship := Kinds()[2]
	entries := []scenario.TimelineEntry{
		{At: at(0), Kind: "order_placed"},
		{At: at(10), Kind: "step_done", Step: "inventory"},
		{At: at(20), Kind: "step_done", Step: "payment"},
		{At: at(30), Kind: "step_failed", Step: "shipping"},
		{At: at(45), Kind: "order_final"},
		{At: at(50), Kind: "step_compensated", Step: "payment"},
		{At: at(70), Kind: "step_compensated", Step: "inventory"},
		{At: at(90), Kind: "event_consumed"},
	}
	if d, err := compensationTime(entries, noship, time.Time{}); err != nil || d != 40*time.Millisecond {
		t.Errorf("shipping refused at 30 ms, last undo at 70 ms: %v, %v; want 40ms", d, err)
	}
	cancel := Kinds()[3]
	if d, err := compensationTime(entries, cancel, at(25)); err != nil || d != 45*time.Millisecond {
		t.Errorf("cancel sent at 25 ms, last undo at 70 ms: %v, %v; want 45ms", d, err)
	}
	if _, err := compensationTime(entries[:3], noship, time.Time{}); err == nil {
		t.Errorf("a timeline without the refusal: nil error")
	}
	if _, err := compensationTime(entries[:4], noship, time.Time{}); err == nil {
		t.Errorf("a timeline without the final entry: nil error")
	}
}
