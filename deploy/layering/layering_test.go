// Package layering_test checks the module's layers from its import graph:
// dependencies point deploy → variants → shared, the two variants never
// import each other, and the domain (orders, money, the saga's definition)
// depends on no transport, framework or database.
//
// The graph is what `go list -deps -json ./...` reports from the module
// root, so the test needs the go command, not a build of the packages.
package layering_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pkg is one package of the import graph.
type pkg struct {
	// Imports are the packages its non-test files import.
	Imports []string
	// TestImports are the packages its tests import (in-package and
	// external tests), beyond Imports.
	TestImports []string
}

// graph is an import graph: packages by import path.
type graph map[string]pkg

// violation is one import the layers forbid.
type violation struct {
	rule string
	// chain is the path of imports from the package that breaks the rule
	// to the package it must not reach.
	chain []string
}

func (v violation) String() string { return v.rule + ": " + strings.Join(v.chain, " -> ") }

// rules are the layers of a module, by import path prefix.
type rules struct {
	module string
	// below lists, for a layer (a folder of the module), the layers its
	// packages and their tests must not import directly.
	below map[string][]string
	// domain are packages that must not depend, even through other
	// packages, on any of pure (non-test imports only).
	domain []string
	// pure are import path prefixes the domain must not reach: a prefix
	// ending in "/" matches the packages under it, another one the
	// package itself and those under it.
	pure []string
}

// moduleRules returns the layers of this module.
func moduleRules(module string) rules {
	return rules{
		module: module,
		below: map[string][]string{
			"shared":        {"orchestrated", "choreographed", "deploy"},
			"orchestrated":  {"choreographed", "deploy"},
			"choreographed": {"orchestrated", "deploy"},
		},
		domain: []string{module + "/shared/domain", module + "/shared/errs", module + "/shared/saga"},
		pure: []string{
			// Transport and frameworks.
			"net/http", "google.golang.org/grpc", "github.com/gin-gonic/gin", "go.temporal.io/",
			"github.com/segmentio/kafka-go", "github.com/twmb/franz-go",
			// Databases and their drivers.
			"database/sql", "github.com/jackc/pgx", "github.com/lib/pq", "modernc.org/sqlite",
			module + "/shared/sqldb",
		},
	}
}

// under reports whether path is prefix or a package under it.
func under(path, prefix string) bool {
	if p, ok := strings.CutSuffix(prefix, "/"); ok {
		return strings.HasPrefix(path, p+"/")
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// layerOf returns the layer of a module package ("shared" for
// module/shared/x), or "" for a package outside the module's layers.
func (r rules) layerOf(path string) string {
	rest, ok := strings.CutPrefix(path, r.module+"/")
	if !ok {
		return ""
	}
	layer, _, _ := strings.Cut(rest, "/")
	if _, ok := r.below[layer]; ok {
		return layer
	}
	if layer == "deploy" {
		return layer
	}
	return ""
}

// check returns every violation of r in g, in a stable order.
func check(r rules, g graph) []violation {
	var out []violation
	for _, from := range sortedPaths(g) {
		layer := r.layerOf(from)
		forbidden := r.below[layer]
		if len(forbidden) == 0 {
			continue
		}
		p := g[from]
		for _, to := range slices.Concat(p.Imports, p.TestImports) {
			for _, f := range forbidden {
				if under(to, r.module+"/"+f) {
					out = append(out, violation{
						rule:  fmt.Sprintf("%s must not import %s", layer, f),
						chain: []string{from, to},
					})
				}
			}
		}
	}
	for _, d := range r.domain {
		if _, ok := g[d]; !ok {
			out = append(out, violation{rule: "the domain package is missing from the graph", chain: []string{d}})
			continue
		}
		for _, chain := range reachable(g, d, func(path string) bool {
			return slices.ContainsFunc(r.pure, func(prefix string) bool { return under(path, prefix) })
		}) {
			out = append(out, violation{rule: "the domain must not depend on " + chain[len(chain)-1], chain: chain})
		}
	}
	return out
}

// reachable returns a shortest chain of non-test imports from start to
// each package that bad reports, not looking past such a package.
func reachable(g graph, start string, bad func(string) bool) [][]string {
	parent := map[string]string{start: ""}
	queue := []string{start}
	var found []string
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		imports := slices.Clone(g[cur].Imports)
		slices.Sort(imports)
		for _, next := range imports {
			if _, seen := parent[next]; seen {
				continue
			}
			parent[next] = cur
			if bad(next) {
				found = append(found, next)
				continue
			}
			queue = append(queue, next)
		}
	}
	var out [][]string
	for _, f := range found {
		var chain []string
		for p := f; p != ""; p = parent[p] {
			chain = append(chain, p)
		}
		slices.Reverse(chain)
		out = append(out, chain)
	}
	return out
}

func sortedPaths(g graph) []string {
	paths := make([]string, 0, len(g))
	for p := range g {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths
}

// listedPackage is what `go list -json` says of a package.
type listedPackage struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Module       *struct{ Path, Dir string }
	Error        *struct{ Err string }
}

// moduleGraph returns the import graph of every package of the module
// holding this folder, with every package they depend on, and the module
// path. A package that does not compile still has its imports listed.
func moduleGraph(t *testing.T) (string, graph) {
	t.Helper()
	root, err := goCommand(".", "env", "GOMOD")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(strings.TrimSpace(string(root)))
	out, err := goCommand(dir, "list", "-e", "-deps",
		"-json=ImportPath,Imports,TestImports,XTestImports,Module,Error", "./...")
	if err != nil {
		t.Fatal(err)
	}
	module := ""
	g := graph{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("reading go list output: %v", err)
		}
		if p.Module != nil && p.Module.Dir == dir {
			module = p.Module.Path
		}
		g[p.ImportPath] = pkg{Imports: p.Imports, TestImports: slices.Concat(p.TestImports, p.XTestImports)}
	}
	if module == "" {
		t.Fatalf("go list in %s listed no package of the main module", dir)
	}
	return module, g
}

// goCommand runs the go command in dir and returns its standard output.
func goCommand(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

func TestModule_DependenciesFollowTheLayers(t *testing.T) {
	module, g := moduleGraph(t)
	r := moduleRules(module)
	for _, layer := range []string{"shared", "orchestrated", "choreographed", "deploy"} {
		if !slices.ContainsFunc(sortedPaths(g), func(p string) bool { return r.layerOf(p) == layer }) {
			t.Errorf("the graph has no package of %s/%s: the module layout changed, update the rules", module, layer)
		}
	}
	for _, v := range check(r, g) {
		t.Error(v)
	}
}

func TestCheck_ReportsEachKindOfViolation(t *testing.T) {
	const m = "example.com/shop"
	r := moduleRules(m)
	clean := func() graph {
		return graph{
			m + "/shared/errs":               {Imports: []string{"errors", "fmt"}},
			m + "/shared/domain":             {Imports: []string{m + "/shared/errs", "time"}},
			m + "/shared/saga":               {Imports: []string{m + "/shared/domain"}},
			m + "/shared/sqldb":              {Imports: []string{"database/sql", "github.com/jackc/pgx/v5/stdlib"}},
			m + "/shared/orders":             {Imports: []string{m + "/shared/domain", m + "/shared/sqldb"}},
			m + "/shared/httpapi":            {Imports: []string{m + "/shared/domain", "github.com/gin-gonic/gin"}},
			m + "/orchestrated/workflow":     {Imports: []string{m + "/shared/saga", "go.temporal.io/sdk/workflow"}},
			m + "/choreographed/events":      {Imports: []string{m + "/shared/domain", "github.com/segmentio/kafka-go"}},
			m + "/deploy/cmd/shop":           {Imports: []string{m + "/orchestrated/workflow", m + "/choreographed/events"}},
			"database/sql":                   {},
			"github.com/jackc/pgx/v5/stdlib": {Imports: []string{"database/sql"}},
			"github.com/gin-gonic/gin":       {Imports: []string{"net/http"}},
			"github.com/segmentio/kafka-go":  {},
			"go.temporal.io/sdk/workflow":    {},
			"errors":                         {},
			"fmt":                            {},
			"net/http":                       {},
			"time":                           {},
		}
	}
	if got := check(r, clean()); len(got) > 0 {
		t.Fatalf("the clean graph has violations: %v", got)
	}
	for _, tc := range []struct {
		name   string
		mutate func(g graph)
		want   string
	}{
		{"shared imports a variant", func(g graph) {
			g[m+"/shared/httpapi"] = pkg{Imports: []string{m + "/orchestrated/workflow"}}
		}, "shared must not import orchestrated: example.com/shop/shared/httpapi -> example.com/shop/orchestrated/workflow"},
		{"a test of shared imports deploy", func(g graph) {
			g[m+"/shared/orders"] = pkg{Imports: g[m+"/shared/orders"].Imports, TestImports: []string{m + "/deploy/cmd/shop"}}
		}, "shared must not import deploy"},
		{"a variant imports the other", func(g graph) {
			g[m+"/choreographed/events"] = pkg{Imports: []string{m + "/orchestrated/workflow"}}
		}, "choreographed must not import orchestrated"},
		{"a variant imports deploy", func(g graph) {
			g[m+"/orchestrated/workflow"] = pkg{Imports: []string{m + "/deploy/cmd/shop"}}
		}, "orchestrated must not import deploy"},
		{"the domain reaches the database through another package", func(g graph) {
			g[m+"/shared/saga"] = pkg{Imports: []string{m + "/shared/domain", m + "/shared/orders"}}
		}, "the domain must not depend on example.com/shop/shared/sqldb: example.com/shop/shared/saga -> example.com/shop/shared/orders -> example.com/shop/shared/sqldb"},
		{"the domain imports a framework", func(g graph) {
			g[m+"/shared/errs"] = pkg{Imports: []string{"go.temporal.io/sdk/workflow"}}
		}, "the domain must not depend on go.temporal.io/sdk/workflow"},
		{"the domain imports a transport through a library", func(g graph) {
			g[m+"/shared/domain"] = pkg{Imports: []string{"github.com/gin-gonic/gin"}}
		}, "the domain must not depend on github.com/gin-gonic/gin"},
		{"a domain package is gone", func(g graph) {
			delete(g, m+"/shared/saga")
		}, "the domain package is missing from the graph: example.com/shop/shared/saga"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := clean()
			tc.mutate(g)
			got := check(r, g)
			if !slices.ContainsFunc(got, func(v violation) bool { return strings.Contains(v.String(), tc.want) }) {
				t.Errorf("no violation mentions %q; got %v", tc.want, got)
			}
		})
	}
}

func TestUnder_MatchesPackagesByPathElements(t *testing.T) {
	for _, tc := range []struct {
		path, prefix string
		want         bool
	}{
		{"go.temporal.io/sdk/client", "go.temporal.io/", true},
		{"github.com/jackc/pgx/v5", "github.com/jackc/pgx", true},
		{"github.com/jackc/pgxpool", "github.com/jackc/pgx", false},
		{"net/http", "net/http", true},
		{"net/http/httptest", "net/http", true},
		{"net/httpx", "net/http", false},
		{"example.com/shop/shared/sqldb/sqltest", "example.com/shop/shared/sqldb", true},
	} {
		if got := under(tc.path, tc.prefix); got != tc.want {
			t.Errorf("under(%q, %q) = %v, want %v", tc.path, tc.prefix, got, tc.want)
		}
	}
}
