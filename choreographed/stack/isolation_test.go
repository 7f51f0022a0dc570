package stack_test

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/notifier"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// producers are the packages that produce the events the notification
// service reads, or carry them: none may know it.
var producers = []string{
	"choreographed/intake", "choreographed/orders", "choreographed/reactions", "choreographed/outbox",
	"choreographed/events", "choreographed/consumer", "choreographed/broker", "choreographed/inbox",
	"shared/orders", "shared/inventory", "shared/payment", "shared/shipping", "shared/domain", "shared/saga",
}

// TestNotifier_NoProducerKnowsIt_AndItReadsOnlyExistingTopics: adding the
// notification service changed no producer. No producing package imports
// the notifier or the notification service, directly or through another
// package of the module; no producer's source names the notifications
// group or service (an identifier or a string saying "notification"); and
// the notifier subscribes only to topics the saga's services already
// publish.
func TestNotifier_NoProducerKnowsIt_AndItReadsOnlyExistingTopics(t *testing.T) {
	root, module := moduleRoot(t)
	forbidden := []string{module + "/choreographed/notifier", module + "/shared/notifications"}
	for _, pkg := range producers {
		deps := moduleDeps(t, root, module, module+"/"+pkg)
		if len(deps) == 0 {
			t.Fatalf("%s: no package read", pkg)
		}
		for _, f := range forbidden {
			if via, ok := deps[f]; ok {
				t.Errorf("%s imports %s (through %s)", pkg, f, via)
			}
		}
		for _, hit := range mentions(t, filepath.Join(root, pkg), "notification") {
			t.Errorf("%s mentions the notification service: %s", pkg, hit)
		}
	}
	// The check itself finds an import and a mention where there is one.
	if _, ok := moduleDeps(t, root, module, module+"/choreographed/stack")[module+"/choreographed/notifier"]; !ok {
		t.Error("the dependency walk does not see that the stack imports the notifier")
	}
	if len(mentions(t, filepath.Join(root, "choreographed/stack"), "notification")) == 0 {
		t.Error("the source scan finds no mention of notifications in the stack")
	}

	existing := events.Topics{}.AllOf(saga.Default())
	for _, s := range notifier.New(nil).Subscriptions() {
		if topic := (events.Topics{}).Of(s); !slices.Contains(existing, topic) {
			t.Errorf("the notifier reads %s, which no service of the saga publishes", topic)
		}
	}
	if got := notifier.New(nil).Subscriptions(); !slices.Equal(got, []events.Service{events.Orders}) {
		t.Errorf("the notifier reads the topics of %v, want the order service's alone", got)
	}
}

// moduleRoot returns the repository's root folder and the module path.
func moduleRoot(t *testing.T) (string, string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(sc.Text(), "module "); ok {
			return root, strings.TrimSpace(m)
		}
	}
	t.Fatal("go.mod names no module")
	return "", ""
}

// moduleDeps returns every package of the module pkg imports, directly
// or not, through its non-test files, each with the package that imports
// it (pkg itself included, imported by "").
func moduleDeps(t *testing.T, root, module, pkg string) map[string]string {
	t.Helper()
	seen := map[string]string{pkg: ""}
	queue := []string{pkg}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, imp := range imports(t, filepath.Join(root, strings.TrimPrefix(p, module+"/"))) {
			if _, ok := seen[imp]; ok || !strings.HasPrefix(imp, module+"/") {
				continue
			}
			seen[imp] = p
			queue = append(queue, imp)
		}
	}
	return seen
}

// goFiles parses the non-test Go files of dir.
func goFiles(t *testing.T, dir string, mode parser.Mode) []*ast.File {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []*ast.File
	fset := token.NewFileSet()
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, mode)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// imports returns the import paths of the non-test files of dir.
func imports(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, f := range goFiles(t, dir, parser.ImportsOnly) {
		for _, s := range f.Imports {
			p, err := strconv.Unquote(s.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
	}
	return out
}

// mentions returns the identifiers and string literals of the non-test
// files of dir that contain word, case aside.
func mentions(t *testing.T, dir, word string) []string {
	t.Helper()
	var out []string
	for _, f := range goFiles(t, dir, 0) {
		ast.Inspect(f, func(n ast.Node) bool {
			var text string
			switch n := n.(type) {
			case *ast.Ident:
				text = n.Name
			case *ast.BasicLit:
				if n.Kind == token.STRING {
					text = n.Value
				}
			}
			if strings.Contains(strings.ToLower(text), word) {
				out = append(out, text)
			}
			return true
		})
	}
	return out
}
