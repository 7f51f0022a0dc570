package change

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/compare/report"
	"github.com/ordersaga/ordersaga/deploy/compare/section"
)

// pathsOf returns the paths of a part's files.
func pathsOf(p partCount) []string {
	var ps []string
	for _, f := range p.List {
		ps = append(ps, f.Path)
	}
	return ps
}

// fileOf returns the count of the file with the path in the part.
func fileOf(t *testing.T, p partCount, path string) fileCount {
	t.Helper()
	for _, f := range p.List {
		if f.Path == path {
			return f
		}
	}
	t.Fatalf("%s not among %v", path, pathsOf(p))
	return fileCount{}
}

func changeOf(t *testing.T, d *changeData, key string) *changeCount {
	t.Helper()
	for _, c := range d.Changes {
		if c.Key == key {
			return c
		}
	}
	t.Fatalf("no change %q", key)
	return nil
}

// TestChange_RealTree counts the repository this test runs in.
func TestChange_RealTree_FindsEachChangeWhereItIs_TheSameTwice(t *testing.T) {
	root, err := FindModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "shared", "scenario", "loyaltytest")); err != nil {
		t.Fatalf("module root %s: %v", root, err)
	}
	t0 := time.Now()
	d, err := countChanges(context.Background(), root, changeRules(), stepNames())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("counted %d Go files in %s", d.GoFiles, time.Since(t0))
	if d.GoFiles < 100 {
		t.Fatalf("read %d Go files, want the module's (more than 100)", d.GoFiles)
	}
	again, err := countChanges(context.Background(), root, changeRules(), stepNames())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d, again) {
		t.Fatal("two counts of the same tree differ")
	}

	step := changeOf(t, d, changeStep)
	for _, v := range report.Variants() {
		vc := step.Variants[v]
		if vc.Shared.Files < 2 || vc.Shared.CodeLines <= 0 {
			t.Errorf("%s: the step's shared/ files = %d (%d code lines), want its package", v, vc.Shared.Files, vc.Shared.CodeLines)
		}
		f := fileOf(t, vc.Shared, "shared/scenario/loyaltytest/loyaltytest.go")
		if !f.Whole || f.CodeLines <= 0 || f.CodeLines >= f.Lines {
			t.Errorf("loyaltytest.go counted as %+v, want whole, code lines fewer than lines", f)
		}
		if !slices.ContainsFunc(pathsOf(vc.Shared), func(p string) bool { return strings.HasSuffix(p, ".sql") }) {
			t.Errorf("the step's migrations are not counted: %v", pathsOf(vc.Shared))
		}
		tf := fileOf(t, vc.Tests, v+"/stack/newstep_test.go")
		if !tf.Whole {
			t.Errorf("%s/stack/newstep_test.go counted in part: %+v", v, tf)
		}
		// The step is defined outside production code: the claim the
		// section reports, which a switch over steps would break.
		if vc.Production.Files != 0 {
			t.Errorf("%s: production files touched by the new step: %v", v, pathsOf(vc.Production))
		}
		for _, p := range slices.Concat(pathsOf(vc.Tests), pathsOf(vc.Shared)) {
			if !strings.HasPrefix(p, v+"/") && !strings.HasPrefix(p, "shared/") {
				t.Errorf("%s counted for %s", p, v)
			}
		}
	}

	consumer := changeOf(t, d, changeConsumer)
	ch := consumer.Variants[report.Choreographed]
	if f := fileOf(t, ch.Production, "choreographed/notifier/notifier.go"); !f.Whole {
		t.Errorf("notifier.go counted in part: %+v", f)
	}
	// No producer of the choreography knows the notifier (the README's
	// claim, which TestNotifier_NoProducerKnowsIt checks by imports).
	for _, p := range pathsOf(ch.Production) {
		for _, producer := range []string{"intake", "orders", "reactions", "outbox", "events", "consumer", "broker", "inbox"} {
			if strings.HasPrefix(p, "choreographed/"+producer+"/") {
				t.Errorf("the consumer touches the producer %s", p)
			}
		}
	}
	or := consumer.Variants[report.Orchestrated]
	if f := fileOf(t, or.Production, "orchestrated/activities/notify.go"); !f.Whole {
		t.Errorf("notify.go counted in part: %+v", f)
	}
	saga := fileOf(t, or.Production, "orchestrated/workflow/saga.go")
	if saga.Whole || saga.CodeLines <= 0 {
		t.Errorf("saga.go counted as %+v, want the lines of the notification only", saga)
	}
	fileOf(t, or.Production, "orchestrated/worker/worker.go")
	if or.Shared.Files == 0 || !slices.Contains(pathsOf(or.Shared), "shared/notifications/store.go") {
		t.Errorf("the consumer's shared/ files: %v", pathsOf(or.Shared))
	}
	if !reflect.DeepEqual(or.Shared, ch.Shared) {
		t.Error("the shared/ counts differ between the variants")
	}
	for _, v := range report.Variants() {
		if consumer.Variants[v].Tests.Files == 0 {
			t.Errorf("%s: no test file of the consumer found", v)
		}
	}
}

// TestChange_Section_HasFiguresOfBothVariants runs the section from the
// package's folder, as `go test` does.
func TestChange_Section_HasFiguresOfBothVariants(t *testing.T) {
	e := section.NewEnv(nil, io.Discard)
	t0 := time.Now()
	sec, err := Section(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("section in %s", time.Since(t0))
	for _, v := range report.Variants() {
		fs := sec.FiguresOf(v)
		if len(fs) == 0 {
			t.Fatalf("no figures of %s", v)
		}
		names := map[string]bool{}
		for _, f := range fs {
			if !f.Valid() || f.Value < 0 || (f.Unit != "files" && f.Unit != "lines") || f.Method == "" {
				t.Errorf("%s: figure %+v", v, f)
			}
			names[f.Name] = true
		}
		for _, n := range []string{"new step: production files", "new step: shared/ files", "new step: test lines",
			"new consumer: production code lines", "production lines naming a default step"} {
			if !names[n] {
				t.Errorf("%s: no figure %q", v, n)
			}
		}
	}
	if len(sec.Summary) != 3 || sec.Method == "" || len(sec.Tables) < 3 || len(sec.Charts) != 2 {
		t.Fatalf("section: %d summary lines, %d tables, %d charts, method %q",
			len(sec.Summary), len(sec.Tables), len(sec.Charts), sec.Method)
	}
	// The summary says what the figures say.
	var stepFiles float64 = -1
	for _, f := range sec.FiguresOf(report.Orchestrated) {
		if f.Name == "new step: production files" {
			stepFiles = f.Value
		}
	}
	if !strings.Contains(sec.Summary[0], "orchestrated "+strconv.FormatFloat(stepFiles, 'f', -1, 64)+" (") {
		t.Errorf("summary %q does not carry the figure %v", sec.Summary[0], stepFiles)
	}
}

// TestChange_OutsideACheckout_Errors runs the section where no go.mod of
// the module is above.
func TestChange_OutsideACheckout_Errors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	sec, err := Section(context.Background(), section.NewEnv(nil, io.Discard))
	if !errors.Is(err, errNoSourceTree) || !strings.Contains(err.Error(), "needs the source tree: run it from a checkout") {
		t.Fatalf("error = %v", err)
	}
	if sec == nil || len(sec.Notes) == 0 {
		t.Fatal("no note saying how to run it")
	}
}

// writeTree writes files (path: content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestChange_SyntheticTree counts a small tree whose every figure is
// known from its text.
func TestChange_SyntheticTree_CountsWholeFilesAndTheLinesNamingTheChange(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"go.mod": "module github.com/ordersaga/ordersaga\n\ngo 1.26\n",
		// The change's package: whole (5 lines, 2 of code).
		"shared/feat/feat.go": "// Package feat is the feature.\npackage feat\n\n// Enabled says it is on.\nfunc Enabled() bool { return true }\n",
		// Its migration: whole (4 lines, 3 of code).
		"shared/feat/migrations/1_feat.up.sql": "-- the table\nCREATE TABLE feats (\n  id int\n);\n",
		// An element of a multi-line literal: the import and that line.
		"shared/other/other.go": `package other

import "github.com/ordersaga/ordersaga/shared/feat"

// Checks are the checks.
var Checks = []func() bool{
	func() bool { return true },
	feat.Enabled,
	func() bool { return false },
}
`,
		// The import and the if statement whose header names it: lines 6
		// and 12-15, of which 13 is a comment.
		"orchestrated/wire/wire.go": `package wire

import (
	"fmt"

	"github.com/ordersaga/ordersaga/shared/feat"
)

// Run runs. FeatMention in a comment does not count.
func Run(on bool) {
	fmt.Println("start")
	if on && feat.Enabled() {
		// the feature's work
		fmt.Println("feat")
	}
	fmt.Println("end")
}

// Other has nothing of it.
func Other() int {
	a := 1
	b := 2
	c := 3
	d := 4
	e := 5
	return a + b + c + d + e
}
`,
		// A test function named for it: most of the file, so whole (14
		// lines, 10 of code).
		"orchestrated/wire/wire_test.go": `package wire

import (
	"testing"

	"github.com/ordersaga/ordersaga/shared/feat"
)

// TestFeat_Enabled checks it.
func TestFeat_Enabled(t *testing.T) {
	if !feat.Enabled() {
		t.Fatal("off")
	}
}
`,
		// Only a comment names it; line 6 names a step of the saga.
		"choreographed/c/c.go": `package c

// Route: Feat is not here; only a comment says feat.Enabled.
func Route(step string) string {
	switch step {
	case "inventory":
		return "reserve"
	}
	return ""
}
`,
		"choreographed/c/testdata/feat.go": "package feat // not read\n",
	})
	rule := changeRule{Key: "feat", Title: "the feature", Packages: []string{"shared/feat"},
		Ident: func(n string) bool { return n == "feat" || strings.Contains(n, "Feat") }, Rule: "feat", Words: []string{"feat"}}
	t.Chdir(filepath.Join(root, "orchestrated", "wire"))
	found, err := FindModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := filepath.EvalSymlinks(root); found != root && found != want {
		t.Fatalf("module root %s, want %s", found, root)
	}
	d, err := countChanges(context.Background(), found, []changeRule{rule}, stepNames())
	if err != nil {
		t.Fatal(err)
	}
	if d.GoFiles != 5 {
		t.Errorf("Go files read = %d, want 5 (testdata left out)", d.GoFiles)
	}
	c := d.Changes[0]
	want := map[string]fileCount{
		"shared/feat/feat.go":                  {Path: "shared/feat/feat.go", Whole: true, Lines: 5, CodeLines: 2},
		"shared/feat/migrations/1_feat.up.sql": {Path: "shared/feat/migrations/1_feat.up.sql", Whole: true, Lines: 4, CodeLines: 3},
		"shared/other/other.go":                {Path: "shared/other/other.go", Lines: 2, CodeLines: 2},
		"orchestrated/wire/wire.go":            {Path: "orchestrated/wire/wire.go", Lines: 5, CodeLines: 4},
		"orchestrated/wire/wire_test.go":       {Path: "orchestrated/wire/wire_test.go", Whole: true, Lines: 14, CodeLines: 10},
	}
	o, ch := c.Variants[report.Orchestrated], c.Variants[report.Choreographed]
	for _, part := range []partCount{o.Shared, o.Production, o.Tests} {
		for _, f := range part.List {
			if f != want[f.Path] {
				t.Errorf("%s: %+v, want %+v", f.Path, f, want[f.Path])
			}
			delete(want, f.Path)
		}
	}
	if len(want) > 0 {
		t.Errorf("not counted: %v", want)
	}
	if o.Shared.Files != 3 || o.Shared.Lines != 11 || o.Shared.CodeLines != 7 {
		t.Errorf("shared/ = %+v, want 3 files, 11 lines, 7 code lines", o.Shared)
	}
	if o.Production.Files != 1 || o.Tests.Files != 1 {
		t.Errorf("orchestrated: production %d files, tests %d, want 1 and 1", o.Production.Files, o.Tests.Files)
	}
	if ch.Production.Files != 0 || ch.Tests.Files != 0 || !reflect.DeepEqual(ch.Shared, o.Shared) {
		t.Errorf("choreographed: %+v", ch)
	}
	if m := d.StepMentions[report.Choreographed]; m.Files != 1 || m.Lines != 1 || m.ByFile["choreographed/c/c.go"] != 1 {
		t.Errorf("choreographed step mentions = %+v, want c.go's one line", m)
	}
	if m := d.StepMentions[report.Orchestrated]; m.Files != 0 || m.Lines != 0 {
		t.Errorf("orchestrated step mentions = %+v, want none", m)
	}
}

func TestModuleOf(t *testing.T) {
	for in, want := range map[string]string{
		"module github.com/ordersaga/ordersaga\n\ngo 1.26\n": "github.com/ordersaga/ordersaga",
		"// x\nmodule \"example.com/q\"\n":                   "example.com/q",
		"go 1.26\n":                                          "",
		"modules x\n":                                        "",
	} {
		if got := moduleOf([]byte(in)); got != want {
			t.Errorf("moduleOf(%q) = %q, want %q", in, got, want)
		}
	}
}
