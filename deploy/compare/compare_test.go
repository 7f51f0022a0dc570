package compare

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/compare/report"
	"github.com/ordersaga/ordersaga/deploy/internal/proctest"
)

// TestRun_Quick_EverySectionMeasuresBothVariants runs the whole comparison
// in quick mode, as `make compare COMPARE_FLAGS=-quick` does (in-process
// stacks on SQLite, clusters of processes of the built binary for the
// crashes), and checks that every section ran without error and has valid
// figures, each with a unit, for both variants; then each section's own
// figures; and that the report was written as Markdown, HTML and JSON.
func TestRun_Quick_EverySectionMeasuresBothVariants(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the quick comparison: both stacks in-process and a cluster of processes of each variant, about 2 minutes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	bin, err := proctest.Build(ctx, "github.com/ordersaga/ordersaga/deploy/cmd/ordersaga", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var progress strings.Builder
	rep, err := Run(ctx, Options{Quick: true, OutDir: out, Binary: bin, Dir: t.TempDir(), Progress: &progress})
	t.Logf("progress:\n%s", progress.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("the quick comparison took %s", rep.Setup.Took)

	for _, key := range report.SectionKeys() {
		sec := rep.Section(key)
		if sec == nil {
			t.Errorf("no %s section", key)
			continue
		}
		if sec.Error != "" {
			t.Errorf("%s: %s", key, sec.Error)
		}
		for _, v := range report.Variants() {
			figs := sec.FiguresOf(v)
			if len(figs) == 0 {
				t.Errorf("%s: no figure of the %s variant", key, v)
			}
			for _, f := range figs {
				if !f.Valid() || f.Unit == "" {
					t.Errorf("%s: %s figure %q = %v %q: want a number with a unit", key, v, f.Name, f.Value, f.Unit)
				}
			}
		}
		if sec.Method == "" || len(sec.Summary) == 0 || len(sec.Tables) == 0 {
			t.Errorf("%s: want a method, a summary and a table", key)
		}
	}
	checkOutcomesSection(t, rep.Section(report.SectionOutcomes), progress.String())
	checkSpeedSection(t, rep.Section(report.SectionSpeed))
	checkCostSection(t, rep.Section(report.SectionCost))
	checkFailureSection(t, rep.Section(report.SectionFailure))
	checkChangeSection(t, rep.Section(report.SectionChange))

	if rep.Setup.Machine == "" || rep.Setup.GoVersion == "" || len(rep.Setup.Modules) == 0 || rep.Setup.Mode != "quick" {
		t.Errorf("setup %+v: want the machine, the Go and module versions and the mode", rep.Setup)
	}
	if len(rep.Headlines) == 0 {
		t.Error("no headline")
	}
	checkWritten(t, rep, out)
}

// checkWritten checks the three files of a report written to dir: the JSON
// reads back with every figure, the Markdown and the HTML name every
// section.
func checkWritten(t *testing.T, rep *report.Report, dir string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := report.ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range rep.Sections {
		b := back.Section(sec.Key)
		if b == nil || len(b.Figures) != len(sec.Figures) {
			t.Errorf("report.json: section %s does not read back with its %d figures", sec.Key, len(sec.Figures))
		}
	}
	for _, name := range []string{"report.md", "report.html"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range rep.Sections {
			if !strings.Contains(string(b), htmlEscapedTitle(name, sec.Title)) {
				t.Errorf("%s does not name the section %q", name, sec.Title)
			}
		}
	}
}

// htmlEscapedTitle returns the title as the file shows it.
func htmlEscapedTitle(file, title string) string {
	if strings.HasSuffix(file, ".html") {
		return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&#39;", `"`, "&#34;").Replace(title)
	}
	return title
}

// checkChangeSection checks the change section of a run: both variants'
// counts of what a new step touches.
func checkChangeSection(t *testing.T, sec *report.Section) {
	t.Helper()
	if sec == nil {
		t.Fatal("no change section")
	}
	for _, v := range report.Variants() {
		found := false
		for _, f := range sec.FiguresOf(v) {
			if f.Name == "new step: shared/ files" {
				found = true
				if f.Value <= 0 {
					t.Errorf("%s: the new step's shared files = %v, want its package counted", v, f.Value)
				}
			}
		}
		if !found {
			t.Errorf("%s: no count of the new step's shared files", v)
		}
	}
}

// The versions of a report come from go.mod's require lines when the build
// information has none.
func TestRequiredVersions_ReadsRequireLines(t *testing.T) {
	gomod := []byte("module x\n\ngo 1.26\n\nrequire go.temporal.io/sdk v1.2.3\n\nrequire (\n\tgithub.com/segmentio/kafka-go v0.4.9\n\tother/mod v1.0.0 // indirect\n)\n")
	got := requiredVersions(gomod, []string{"go.temporal.io/sdk", "github.com/segmentio/kafka-go", "modernc.org/sqlite"})
	want := map[string]string{"go.temporal.io/sdk": "v1.2.3", "github.com/segmentio/kafka-go": "v0.4.9"}
	if len(got) != len(want) || got["go.temporal.io/sdk"] != "v1.2.3" || got["github.com/segmentio/kafka-go"] != "v0.4.9" {
		t.Errorf("requiredVersions = %v, want %v", got, want)
	}
}
