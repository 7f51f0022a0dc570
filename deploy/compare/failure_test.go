package compare

import (
	"os"
	"strings"
	"testing"
	"time"
)

// checkFailureSection checks the failure section of a quick run: both
// variants compensate every failure kind, recover from the crash and the
// outage, and lose or double no order.
func checkFailureSection(t *testing.T, sec *Section) {
	t.Helper()
	if sec == nil {
		t.Fatal("no failure section in the report")
	}
	logFailureSection(t, sec)
	if sec.Error != "" {
		t.Errorf("the section failed: %s", sec.Error)
	}
	for _, v := range Variants() {
		got := map[string]float64{}
		for _, f := range sec.FiguresOf(v) {
			if !f.Valid() {
				t.Errorf("%s: figure %q is %v", v, f.Name, f.Value)
			}
			got[f.Name] = f.Value
		}
		for _, k := range failureKinds() {
			for _, stat := range []string{"median", "max"} {
				name := "compensation time, " + k.label + ", " + stat
				if val, ok := got[name]; !ok || val <= 0 {
					t.Errorf("%s: %q = %v (present: %v), want a time above 0", v, name, val, ok)
				}
			}
		}
		for _, key := range []string{"kill_payment", "infra_outage"} {
			name := disruptionLabel(key)
			if val, ok := got[name+": every order final after the strike"]; !ok || val <= 0 {
				t.Errorf("%s: recovery time of %s = %v (present: %v), want above 0", v, name, val, ok)
			}
			for _, what := range []string{"orders lost", "orders doubled"} {
				if val, ok := got[name+": "+what]; !ok || val != 0 {
					t.Errorf("%s: %s: %s = %v (present: %v), want 0", v, name, what, val, ok)
				}
			}
		}
		if val, ok := got[quickLongFault+": ended as designed"]; !ok || val != 1 {
			t.Errorf("%s: %s ended as designed = %v (present: %v), want 1", v, quickLongFault, val, ok)
		}
		if val, ok := got[quickLongFault+": time to final"]; !ok || val <= 0 {
			t.Errorf("%s: %s time to final = %v (present: %v), want above 0", v, quickLongFault, val, ok)
		}
	}
	if len(sec.Tables) != 3 || len(sec.Charts) != 2 || sec.Method == "" || len(sec.Summary) == 0 {
		t.Errorf("the section has %d tables, %d charts, method %q, %d summary lines: want 3 tables, 2 charts, a method and a summary",
			len(sec.Tables), len(sec.Charts), sec.Method, len(sec.Summary))
	}
}

func TestFailureBinary_TestBinaryWithoutOption_Refused(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(exe, ".test") {
		t.Skipf("the test binary %s is not named *.test", exe)
	}
	if _, err := failureBinary(&Env{}); err == nil {
		t.Errorf("failureBinary without Options.Binary under go test: nil error, want a refusal of the test binary")
	}
	got, err := failureBinary(&Env{Opts: Options{Binary: "/bin/ordersaga"}})
	if err != nil || got != "/bin/ordersaga" {
		t.Errorf("failureBinary with Options.Binary = %q, %v; want /bin/ordersaga", got, err)
	}
}

func TestCompensationTime_FromTheRefusalToTheLastUndo(t *testing.T) {
	at := func(ms int) time.Time {
		return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(ms) * time.Millisecond)
	}
	noship := failureKinds()[2]
	entries := []failureTimelineEntry{
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
	cancel := failureKinds()[3]
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

// logFailureSection logs the section's tables, summary and notes.
func logFailureSection(t *testing.T, sec *Section) {
	t.Helper()
	var b strings.Builder
	for _, tb := range sec.Tables {
		b.WriteString(tb.Title + "\n  " + strings.Join(tb.Columns, " | ") + "\n")
		for _, r := range tb.Rows {
			b.WriteString("  " + strings.Join(r, " | ") + "\n")
		}
	}
	for _, s := range sec.Summary {
		b.WriteString("- " + s + "\n")
	}
	for _, n := range sec.Notes {
		b.WriteString("note: " + n + "\n")
	}
	t.Logf("failure section (took %v):\n%s", sec.Took, b.String())
}
