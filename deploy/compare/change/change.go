package change

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/deploy/compare/report"
	"github.com/ordersaga/ordersaga/deploy/compare/section"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// modulePath is the module whose source tree the change section reads.
const modulePath = "github.com/ordersaga/ordersaga"

// errNoSourceTree is the change section's error away from a checkout.
var errNoSourceTree = errors.New("needs the source tree: run it from a checkout")

// The changes the section counts, by key.
const (
	changeStep     = "new step"
	changeConsumer = "new consumer"
)

// The parts of the tree a change's files are counted in.
const (
	partShared     = "shared/"
	partProduction = "production"
	partTests      = "tests"
)

// changeRule says which code of the tree belongs to a change: every file
// under its packages, whole, and elsewhere the Go code that refers to it
// through an identifier the rule matches or an import of one of its
// packages.
type changeRule struct {
	// Key names the change in figures ("new step").
	Key string
	// Title says what the change is, for the report.
	Title string
	// Packages are module-relative folders that belong to the change
	// wholly: every file under them counts, whole.
	Packages []string
	// Ident reports whether an identifier names the change.
	Ident func(name string) bool
	// Rule says, in words, which identifiers Ident matches.
	Rule string
	// Words are what a file's text must hold (in any case) for Ident to
	// match any of its identifiers: a file holding none is not parsed.
	Words []string
}

// changeRules returns the changes the section counts: a fourth step added
// the way a new feature is (shared/scenario/loyaltytest, wired in by each
// variant's newstep test), and a new consumer of the order's end (the
// customer notification service).
func changeRules() []changeRule {
	return []changeRule{
		{
			Key:      changeStep,
			Title:    "a new saga step (loyalty points after payment)",
			Packages: []string{"shared/scenario/loyaltytest"},
			Ident: func(name string) bool {
				return name == "loyaltytest" || strings.Contains(name, "Loyalty")
			},
			Rule:  "`loyaltytest` and identifiers containing `Loyalty` (`TestNewStep_Loyalty_…`)",
			Words: []string{"loyalty"},
		},
		{
			Key:      changeConsumer,
			Title:    "a new consumer of the order's end (customer notifications)",
			Packages: []string{"shared/notifications", "choreographed/notifier"},
			Ident: func(name string) bool {
				return strings.Contains(strings.ToLower(name), "notif") || name == "Notice"
			},
			Rule: "identifiers containing `notif` in any case (`notifier`, `notifications`, `NotifyCustomer`, " +
				"`TaskQueueNotifications`, `RoleNotifications`, …) and `Notice` (the orchestrated activity's input)",
			Words: []string{"notif", "notice"},
		},
	}
}

// fileCount is what one file counts for a change.
type fileCount struct {
	Path string `json:"path"`
	// Whole says the file counts whole: it is under one of the change's
	// packages, or most of its code lines refer to the change.
	Whole     bool `json:"whole"`
	Lines     int  `json:"lines"`
	CodeLines int  `json:"code_lines"`
}

// partCount is what a change touches in one part of the tree.
type partCount struct {
	Files     int         `json:"files"`
	Lines     int         `json:"lines"`
	CodeLines int         `json:"code_lines"`
	List      []fileCount `json:"list,omitempty"`
}

func (p *partCount) add(f fileCount) {
	p.Files++
	p.Lines += f.Lines
	p.CodeLines += f.CodeLines
	p.List = append(p.List, f)
}

// variantCount is what a change touches for one variant: shared/ (the
// same for both), the variant's production code and its tests.
type variantCount struct {
	Shared     partCount `json:"shared"`
	Production partCount `json:"production"`
	Tests      partCount `json:"tests"`
}

// part returns the part with the name.
func (v *variantCount) part(name string) *partCount {
	switch name {
	case partShared:
		return &v.Shared
	case partProduction:
		return &v.Production
	default:
		return &v.Tests
	}
}

// changeCount is what one change touches, by variant.
type changeCount struct {
	Key      string                   `json:"key"`
	Title    string                   `json:"title"`
	Packages []string                 `json:"packages"`
	Rule     string                   `json:"rule"`
	Variants map[string]*variantCount `json:"variants"`
}

// stepMentions are a variant's production lines that name a step of the
// default saga.
type stepMentions struct {
	Files  int            `json:"files"`
	Lines  int            `json:"lines"`
	ByFile map[string]int `json:"by_file,omitempty"`
}

// changeData is the change section's detailed result.
type changeData struct {
	Root string `json:"root"`
	// GoFiles is how many Go files were read.
	GoFiles      int                      `json:"go_files"`
	Changes      []*changeCount           `json:"changes"`
	StepMentions map[string]*stepMentions `json:"step_mentions"`
}

// Section counts, in the source tree the command runs from, the
// files and lines each change touches in each variant.
func Section(ctx context.Context, e *section.Env) (*report.Section, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("change: working folder: %w", err)
	}
	root, err := FindModuleRoot(wd)
	if err != nil {
		return &report.Section{Notes: []string{"Run `ordersaga compare` from a checkout of the repository (or below it): " +
			"this section reads the source tree."}}, err
	}
	e.Progressf("reading the source tree at %s", root)
	d, err := countChanges(ctx, root, changeRules(), stepNames())
	if err != nil {
		return nil, err
	}
	sec := changeReport(d)
	e.Progressf("%d Go files read", d.GoFiles)
	return sec, nil
}

// FindModuleRoot walks up from dir to the folder whose go.mod is the
// module's.
func FindModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("change: %w", err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && moduleOf(b) == modulePath {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errNoSourceTree
		}
		dir = parent
	}
}

// moduleOf returns the module path a go.mod declares.
func moduleOf(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(l, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			p := strings.TrimSpace(rest)
			if uq, err := strconv.Unquote(p); err == nil {
				p = uq
			}
			return p
		}
	}
	return ""
}

// stepWords are what names a step of the default saga in code: the
// step's name capitalised (an identifier containing it), and its names as
// they are written whole (identifiers or string literals equal to them:
// the step's name, its actions, its refusal reasons, its events).
type stepWords struct {
	contains []string
	exact    map[string]bool
}

// stepNames returns the words that name the default saga's steps, read
// from the saga and the choreographed event table.
func stepNames() stepWords {
	w := stepWords{exact: map[string]bool{}}
	for _, s := range saga.Default().Steps() {
		name := string(s.Name)
		w.contains = append(w.contains, strings.ToUpper(name[:1])+name[1:])
		w.exact[name] = true
		for _, a := range []saga.Action{s.Action, s.Compensation, s.Completion} {
			if a != "" {
				w.exact[string(a)] = true
			}
		}
		for _, r := range s.Refusals {
			w.exact[string(r)] = true
		}
		ts := events.TypesOf(s)
		for _, t := range []events.Type{ts.Done, ts.Refused, ts.Undone, ts.Completed} {
			if t != "" {
				w.exact[string(t)] = true
			}
		}
	}
	return w
}

// ident reports whether an identifier names a step.
func (w stepWords) ident(name string) bool {
	if w.exact[name] {
		return true
	}
	for _, c := range w.contains {
		if strings.Contains(name, c) {
			return true
		}
	}
	return false
}

// treeParts returns the module's top folders the section reads, each
// with the variant it belongs to ("" for shared/).
func treeParts() map[string]string {
	return map[string]string{"shared": "", report.Orchestrated: report.Orchestrated, report.Choreographed: report.Choreographed}
}

// srcFile is one file of the tree, read.
type srcFile struct {
	rel   string // slash-separated, module-relative
	isGo  bool
	lines int
	code  map[int]bool // the lines holding code (not blank, not only comments)
	fset  *token.FileSet
	ast   *ast.File // nil for a file that is not Go
}

// countChanges reads the tree under root and counts each change and the
// variants' production lines that name a step.
func countChanges(ctx context.Context, root string, rules []changeRule, steps stepWords) (*changeData, error) {
	files, err := readTree(ctx, root, func(rel string, src []byte) bool {
		return mayHold(rel, src, rules, steps)
	})
	if err != nil {
		return nil, err
	}
	d := &changeData{Root: root, StepMentions: map[string]*stepMentions{}}
	for _, v := range report.Variants() {
		d.StepMentions[v] = &stepMentions{ByFile: map[string]int{}}
	}
	for _, r := range rules {
		c := &changeCount{Key: r.Key, Title: r.Title, Packages: r.Packages, Rule: r.Rule,
			Variants: map[string]*variantCount{report.Orchestrated: {}, report.Choreographed: {}}}
		d.Changes = append(d.Changes, c)
		for _, f := range files {
			fc, ok := countFile(f, r)
			if !ok {
				continue
			}
			variant, part := placeOf(f.rel)
			for _, v := range report.Variants() {
				if variant == "" || variant == v {
					c.Variants[v].part(part).add(fc)
				}
			}
		}
	}
	for _, f := range files {
		if f.isGo {
			d.GoFiles++
		}
		variant, part := placeOf(f.rel)
		if variant == "" || part != partProduction || f.ast == nil {
			continue
		}
		if n := len(stepLines(f, steps)); n > 0 {
			m := d.StepMentions[variant]
			m.Files++
			m.Lines += n
			m.ByFile[f.rel] = n
		}
	}
	return d, nil
}

// mayHold reports whether a Go file may hold something of a change or
// name a step: it is under a change's packages, or its text holds one of
// a change's words, or it is a variant's production file holding a word
// of a step.
func mayHold(rel string, src []byte, rules []changeRule, steps stepWords) bool {
	lower := bytes.ToLower(src)
	for _, r := range rules {
		for _, p := range r.Packages {
			if rel == p || strings.HasPrefix(rel, p+"/") {
				return true
			}
		}
		for _, w := range r.Words {
			if bytes.Contains(lower, []byte(strings.ToLower(w))) {
				return true
			}
		}
	}
	if variant, part := placeOf(rel); variant == "" || part != partProduction {
		return false
	}
	for _, w := range steps.contains {
		if bytes.Contains(src, []byte(w)) {
			return true
		}
	}
	for w := range steps.exact {
		if bytes.Contains(src, []byte(w)) {
			return true
		}
	}
	return false
}

// placeOf returns the variant a file belongs to ("" for shared/) and its
// part.
func placeOf(rel string) (variant, part string) {
	top, _, _ := strings.Cut(rel, "/")
	variant = treeParts()[top]
	switch {
	case variant == "":
		return "", partShared
	case strings.HasSuffix(rel, "_test.go"):
		return variant, partTests
	default:
		return variant, partProduction
	}
}

// readTree reads every file under the module's shared/, orchestrated/ and
// choreographed/ folders (not testdata/ nor hidden folders), on a few
// goroutines, parsing the files parse says may be of interest.
func readTree(ctx context.Context, root string, parse func(rel string, src []byte) bool) ([]*srcFile, error) {
	var paths []string
	for top := range treeParts() {
		dir := filepath.Join(root, top)
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := de.Name()
			if de.IsDir() {
				if p != dir && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
					return filepath.SkipDir
				}
				return nil
			}
			if de.Type().IsRegular() {
				paths = append(paths, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("change: reading %s: %w", dir, err)
		}
	}
	sort.Strings(paths)
	files := make([]*srcFile, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, min(4, len(paths))) {
		wg.Go(func() {
			for i := range next {
				files[i], errs[i] = readFile(root, paths[i], parse)
			}
		})
	}
	for i := range paths {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("change: %w", err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return files, nil
}

// readFile reads one file: its lines, and for a file that is not Go or a
// Go file parse wants, its code lines and its syntax tree.
func readFile(root, path string, parse func(rel string, src []byte) bool) (*srcFile, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("change: %w", err)
	}
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return nil, fmt.Errorf("change: %w", err)
	}
	f := &srcFile{rel: filepath.ToSlash(rel), lines: countLines(src), code: map[int]bool{},
		isGo: strings.HasSuffix(path, ".go")}
	switch {
	case f.isGo && !parse(f.rel, src):
		// Nothing of interest: lines only.
	case f.isGo:
		f.fset = token.NewFileSet()
		f.ast, err = parser.ParseFile(f.fset, path, src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("change: parsing %s: %w", f.rel, err)
		}
		// A line holds code when a token other than a comment starts on
		// it (not counting the semicolons the scanner puts at line ends).
		tf := token.NewFileSet().AddFile(path, -1, len(src))
		var s scanner.Scanner
		s.Init(tf, src, nil, 0)
		for {
			pos, tok, lit := s.Scan()
			if tok == token.EOF {
				break
			}
			if tok == token.SEMICOLON && lit != ";" {
				continue
			}
			l := tf.Line(pos)
			for i := 0; i <= strings.Count(lit, "\n"); i++ {
				f.code[l+i] = true // a raw string's every line
			}
		}
	case bytes.IndexByte(src, 0) >= 0:
		// A binary file: no lines.
		f.lines = 0
	default:
		comment := "#"
		if strings.HasSuffix(path, ".sql") {
			comment = "--"
		}
		for i, l := range strings.Split(string(src), "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, comment) {
				f.code[i+1] = true
			}
		}
	}
	return f, nil
}

// countLines returns the file's number of lines.
func countLines(src []byte) int {
	if len(src) == 0 {
		return 0
	}
	n := bytes.Count(src, []byte("\n"))
	if src[len(src)-1] != '\n' {
		n++
	}
	return n
}

// countFile counts what the file holds of the change: whole when it is
// under one of the change's packages or when most of its code lines refer
// to the change, else the lines that do. It reports false when the file
// holds nothing of it.
func countFile(f *srcFile, r changeRule) (fileCount, bool) {
	whole := fileCount{Path: f.rel, Whole: true, Lines: f.lines, CodeLines: len(f.code)}
	for _, p := range r.Packages {
		if f.rel == p || strings.HasPrefix(f.rel, p+"/") {
			return whole, true
		}
	}
	if f.ast == nil {
		return fileCount{}, false
	}
	marked := changeLines(f, r)
	if len(marked) == 0 {
		return fileCount{}, false
	}
	code := 0
	for l := range marked {
		if f.code[l] {
			code++
		}
	}
	if 2*code > len(f.code) {
		return whole, true
	}
	return fileCount{Path: f.rel, Lines: len(marked), CodeLines: code}, true
}

// changeLines returns the lines of a Go file that belong to the change:
// the imports of its packages, and for every identifier naming it (or the
// name an import of its packages is used by), the smallest piece of code
// around it: the declaration it names (a function, type, constant,
// variable or field, with its doc comment), or the statement holding it
// (a compound statement whole when the identifier is in its header: the
// code it guards is the change's), or the element of a multi-line
// literal or call.
func changeLines(f *srcFile, r changeRule) map[int]bool {
	marked := map[int]bool{}
	mark := func(from, to token.Pos) {
		for l := f.fset.Position(from).Line; l <= f.fset.Position(to).Line; l++ {
			marked[l] = true
		}
	}
	line := func(p token.Pos) int { return f.fset.Position(p).Line }
	qualifiers := map[string]bool{}
	for _, im := range f.ast.Imports {
		p, err := strconv.Unquote(im.Path.Value)
		if err != nil {
			continue
		}
		for _, pkg := range r.Packages {
			if p == modulePath+"/"+pkg {
				mark(im.Pos(), im.End())
				name := p[strings.LastIndex(p, "/")+1:]
				if im.Name != nil {
					name = im.Name.Name
				}
				qualifiers[name] = true
			}
		}
	}
	var stack []ast.Node
	ast.Inspect(f.ast, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return false
		}
		stack = append(stack, n)
		id, ok := n.(*ast.Ident)
		if !ok || id == f.ast.Name || !(r.Ident(id.Name) || qualifiers[id.Name]) {
			return true
		}
		if len(stack) >= 2 {
			if _, isImport := stack[len(stack)-2].(*ast.ImportSpec); isImport {
				return true
			}
		}
		from, to := enclosing(stack, line)
		mark(from, to)
		return true
	})
	return marked
}

// enclosing returns the span of the smallest piece of code around the
// identifier at the top of the stack (see changeLines).
func enclosing(stack []ast.Node, line func(token.Pos) int) (token.Pos, token.Pos) {
	withDoc := func(doc *ast.CommentGroup, n ast.Node) (token.Pos, token.Pos) {
		if doc != nil {
			return doc.Pos(), n.End()
		}
		return n.Pos(), n.End()
	}
	multiLine := func(n ast.Node) bool { return line(n.Pos()) != line(n.End()) }
	for i := len(stack) - 2; i >= 0; i-- {
		child := stack[i+1]
		switch n := stack[i].(type) {
		case *ast.FuncDecl:
			return withDoc(n.Doc, n)
		case *ast.Field:
			return withDoc(n.Doc, n)
		case *ast.ValueSpec:
			if g := genDeclOf(stack[:i]); g != nil && !g.Lparen.IsValid() {
				return withDoc(g.Doc, g)
			}
			return withDoc(n.Doc, n)
		case *ast.TypeSpec:
			if g := genDeclOf(stack[:i]); g != nil && !g.Lparen.IsValid() {
				return withDoc(g.Doc, g)
			}
			return withDoc(n.Doc, n)
		case *ast.KeyValueExpr:
			return n.Pos(), n.End()
		case *ast.CompositeLit:
			if child != n.Type && multiLine(n) {
				return child.Pos(), child.End()
			}
		case *ast.CallExpr:
			if child != n.Fun && multiLine(n) {
				return child.Pos(), child.End()
			}
		case *ast.BlockStmt:
			continue
		case ast.Stmt:
			return n.Pos(), n.End()
		case *ast.GenDecl:
			return withDoc(n.Doc, n)
		}
	}
	id := stack[len(stack)-1]
	return id.Pos(), id.End()
}

// genDeclOf returns the innermost GenDecl on the stack, nil when none.
func genDeclOf(stack []ast.Node) *ast.GenDecl {
	for i := len(stack) - 1; i >= 0; i-- {
		if g, ok := stack[i].(*ast.GenDecl); ok {
			return g
		}
	}
	return nil
}

// stepLines returns the lines of a Go file that name a step of the
// default saga: an identifier (not the package clause's, not an import's
// name) or a string literal stepWords matches.
func stepLines(f *srcFile, w stepWords) map[int]bool {
	lines := map[int]bool{}
	ast.Inspect(f.ast, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ImportSpec:
			return false
		case *ast.Ident:
			if n != f.ast.Name && w.ident(n.Name) {
				lines[f.fset.Position(n.Pos()).Line] = true
			}
		case *ast.BasicLit:
			if n.Kind == token.STRING {
				if v, err := strconv.Unquote(n.Value); err == nil && w.exact[v] {
					lines[f.fset.Position(n.Pos()).Line] = true
				}
			}
		}
		return true
	})
	return lines
}

// changeReport makes the section of the counts.
func changeReport(d *changeData) *report.Section {
	sec := &report.Section{Data: d}
	sec.Method = "Counted at run time from the source tree the command runs in (the folder of go.mod of module " +
		modulePath + ", found walking up from the working folder): every file under shared/, orchestrated/ and " +
		"choreographed/ is read, the Go files parsed with go/parser. A change is named by its packages and its " +
		"identifiers. A file under one of the change's packages counts whole (its migrations too). In any other Go file, " +
		"an identifier naming the change (or the name an import of its packages is used by; comments do not count) " +
		"marks the smallest piece of code around it: the function, type, constant, variable or field it declares, " +
		"with its doc comment; else the statement holding it, a compound statement whole when the identifier is in " +
		"its header (what it guards belongs to the change); else the element of a multi-line literal or call; and the " +
		"imports of the change's packages. A file whose code lines are more than half marked counts whole. Lines are " +
		"the file's lines; code lines leave out blank lines and lines holding only comments (Go tokens via go/scanner; " +
		"`--` comments in SQL). Parts: shared/ (the same code serves both variants, so it counts for each), the " +
		"variant's production code (its non-test files) and its tests (_test.go). A variant's production lines that " +
		"name a step of the default saga are the lines of its non-test Go files holding an identifier containing a " +
		"step's capitalised name (Inventory, Payment, Shipping), or an identifier or string literal equal to a step's " +
		"name, action, compensation, completion, refusal reason or event type (from shared/saga and the " +
		"choreographed event table)."
	rules := map[string]string{}
	for _, c := range d.Changes {
		rules[c.Key] = c.Rule
	}
	for _, c := range d.Changes {
		for _, v := range report.Variants() {
			vc := c.Variants[v]
			for _, p := range []struct {
				label string
				part  *partCount
				how   string
			}{
				{"shared/", &vc.Shared, "files under shared/ the change touches (the same for both variants)"},
				{"production", &vc.Production, "the variant's non-test files the change touches"},
				{"test", &vc.Tests, "the variant's _test.go files the change touches"},
			} {
				how := p.how + "; change named by its packages (" + strings.Join(c.Packages, ", ") + ") and " + c.Rule
				sec.Add(v, fmt.Sprintf("%s: %s files", c.Key, p.label), float64(p.part.Files), "files", how)
				sec.Add(v, fmt.Sprintf("%s: %s lines", c.Key, p.label), float64(p.part.Lines), "lines", how)
				sec.Add(v, fmt.Sprintf("%s: %s code lines", c.Key, p.label), float64(p.part.CodeLines), "lines",
					how+"; without blank and comment-only lines")
			}
		}
	}
	for _, v := range report.Variants() {
		m := d.StepMentions[v]
		how := "non-test Go files of the variant with an identifier or string naming a step of the default saga"
		sec.Add(v, "production files naming a default step", float64(m.Files), "files", how)
		sec.Add(v, "production lines naming a default step", float64(m.Lines), "lines", how)
	}

	tb := report.Table{Title: "What each change touches, by part of the tree",
		Columns: []string{"change", "part", "orchestrated: files", "orchestrated: lines (code lines)",
			"choreographed: files", "choreographed: lines (code lines)"}}
	for _, c := range d.Changes {
		for _, part := range []string{partShared, partProduction, partTests} {
			row := []string{c.Key, part}
			for _, v := range report.Variants() {
				p := c.Variants[v].part(part)
				row = append(row, strconv.Itoa(p.Files), fmt.Sprintf("%d (%d)", p.Lines, p.CodeLines))
			}
			tb.Rows = append(tb.Rows, row)
		}
	}
	tb.Notes = []string{"shared/ is the same code in both variants: its figures are the same in both columns."}
	sec.Tables = append(sec.Tables, tb)

	mt := report.Table{Title: "Production code that names a step of the default saga",
		Columns: []string{"variant", "files", "lines", "where (lines)"}}
	for _, v := range report.Variants() {
		m := d.StepMentions[v]
		mt.Rows = append(mt.Rows, []string{v, strconv.Itoa(m.Files), strconv.Itoa(m.Lines), byFile(m.ByFile)})
	}
	sec.Tables = append(sec.Tables, mt)

	for _, c := range d.Changes {
		ft := report.Table{Title: "Files counted for " + c.Title,
			Columns: []string{"file", "variant", "part", "counted", "lines", "code lines"}}
		for _, part := range []string{partShared, partProduction, partTests} {
			for _, v := range report.Variants() {
				if part == partShared && v != report.Orchestrated {
					continue // the same list for both
				}
				variant := v
				if part == partShared {
					variant = "both"
				}
				for _, f := range c.Variants[v].part(part).List {
					counted := "lines naming it"
					if f.Whole {
						counted = "whole file"
					}
					ft.Rows = append(ft.Rows, []string{f.Path, variant, part, counted,
						strconv.Itoa(f.Lines), strconv.Itoa(f.CodeLines)})
				}
			}
		}
		ft.Notes = []string{"Named by its packages (" + strings.Join(c.Packages, ", ") + ") and " + c.Rule + "."}
		sec.Tables = append(sec.Tables, ft)
	}

	for _, ch := range []struct{ title, part string }{
		{"Production files each change touches", "files"},
		{"Production code lines each change touches", "code lines"},
	} {
		chart := report.Chart{Title: ch.title, Unit: "lines", LowerIsBetter: true}
		if ch.part == "files" {
			chart.Unit = "files"
		}
		for _, c := range d.Changes {
			g := report.BarGroup{Label: c.Key}
			for _, v := range report.Variants() {
				p := c.Variants[v].Production
				val := p.CodeLines
				if ch.part == "files" {
					val = p.Files
				}
				g.Bars = append(g.Bars, report.Bar{Series: v, Value: float64(val)})
			}
			chart.Groups = append(chart.Groups, g)
		}
		sec.Charts = append(sec.Charts, chart)
	}

	for _, c := range d.Changes {
		o, ch := c.Variants[report.Orchestrated], c.Variants[report.Choreographed]
		sec.Summary = append(sec.Summary, fmt.Sprintf(
			"%s: production files touched: orchestrated %d (%s), choreographed %d (%s); "+
				"shared/ %s (%s); tests: orchestrated %s (%s), choreographed %s (%s).",
			capitalise(c.Title), o.Production.Files, plural(o.Production.CodeLines, "code line"),
			ch.Production.Files, plural(ch.Production.CodeLines, "code line"),
			plural(o.Shared.Files, "file"), plural(o.Shared.CodeLines, "code line"),
			plural(o.Tests.Files, "file"), plural(o.Tests.CodeLines, "code line"),
			plural(ch.Tests.Files, "file"), plural(ch.Tests.CodeLines, "code line")))
	}
	o, ch := d.StepMentions[report.Orchestrated], d.StepMentions[report.Choreographed]
	sec.Summary = append(sec.Summary, fmt.Sprintf(
		"Production code naming a step of the default saga: orchestrated %s in %s, choreographed %s in %s.",
		plural(o.Lines, "line"), plural(o.Files, "file"), plural(ch.Lines, "line"), plural(ch.Files, "file")))

	sec.Notes = []string{
		"Counted from the tree as it is, not from its history: what belongs to the change today. The README's " +
			"change-cost tables count `git diff` lines of the commits that made a change, which also holds " +
			"lines since moved or removed.",
		"Not counted: documentation (README.md, *.md), the command line (deploy/), recorded histories and " +
			"other testdata/, and non-Go files outside a change's packages (the OpenAPI document).",
		"The new step is defined outside production code (shared/scenario/loyaltytest) and wired in by each " +
			"variant's newstep test (TestNewStep_Loyalty_RunsTheSuiteAndItsOwnScenarios) through " +
			"hosted.Config.Saga and hosted.Config.Participants: what the counts show is what adding it takes.",
	}
	return sec
}

// byFile formats per-file counts, most first.
func byFile(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s (%d)", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// plural formats a count with its noun.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// capitalise upper-cases the first letter.
func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
