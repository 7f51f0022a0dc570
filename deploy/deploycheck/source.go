package deploycheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/shared/node"
)

// Binary is what the ordersaga binary offers, as its Go sources say.
type Binary struct {
	// Commands is its command table.
	Commands []Command
	// Env holds the ORDERSAGA_* environment variables the module's code
	// reads.
	Env map[string]bool
}

// Command is a command of the binary, or a group of subcommands.
type Command struct {
	Name string
	Sub  []Command
}

// Resolve checks that args start with a command of b (and, for a group,
// one of its subcommands) and returns the command path they name.
func (b Binary) Resolve(args []string) ([]string, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("no command given (the image would run its default command)")
	}
	table := b.Commands
	var cmdPath []string
	for _, arg := range args {
		i := slices.IndexFunc(table, func(c Command) bool { return c.Name == arg })
		if i < 0 {
			names := make([]string, len(table))
			for j, c := range table {
				names[j] = c.Name
			}
			return nil, fmt.Errorf("ordersaga %s: no such command (commands: %s)",
				strings.Join(append(cmdPath, arg), " "), strings.Join(names, ", "))
		}
		cmdPath = append(cmdPath, arg)
		if table[i].Sub == nil {
			return cmdPath, nil
		}
		table = table[i].Sub
	}
	return nil, fmt.Errorf("ordersaga %s: a subcommand is missing", strings.Join(cmdPath, " "))
}

// sourceDirs returns the folders whose Go sources make the binary.
func sourceDirs() []string { return []string{"deploy", "orchestrated", "choreographed", "shared"} }

// commandDir is the package of the binary's command table.
const commandDir = "deploy/cmd/ordersaga"

// ReadBinary reads the binary's command table and the environment
// variables its code reads from the non-test Go sources of the repository
// (this package's own excepted).
//
// The command table is what the function commands of deploy/cmd/ordersaga
// returns, followed through the functions it calls: each command{name: …,
// sub: …} literal, its name evaluated from string constants.
//
// An environment variable is read when its full name appears in a string
// of the code (a literal, or constants joined with +), or when it is the
// variable of a flag by the binary's convention (ORDERSAGA_ and the flag's
// name in upper case, dashes as underscores): a literal with Name and Usage
// fields (an envflag.Var), a row {"flag-name", "usage", …} of a table, or a
// flag.FlagSet definition whose help names its variable ("[$…]"). A flag
// name written as role + "-suffix" stands for every role.
func ReadBinary(r Repo) (Binary, error) {
	ix := newSourceIndex(r)
	bin := Binary{Env: map[string]bool{}}
	for _, dir := range sourceDirs() {
		if !r.exists(dir) {
			continue
		}
		err := filepath.WalkDir(r.Path(dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				return nil
			}
			rel := r.rel(p)
			if d.Name() == "testdata" || rel == "deploy/deploycheck" {
				return filepath.SkipDir
			}
			pkg, err := ix.pkg(rel)
			if err != nil {
				return err
			}
			for name := range pkg.envNames(ix) {
				bin.Env[name] = true
			}
			return nil
		})
		if err != nil {
			return Binary{}, fmt.Errorf("reading the Go sources of %s: %w", dir, err)
		}
	}
	main, err := ix.pkg(commandDir)
	if err != nil {
		return Binary{}, err
	}
	fn := main.funcs["commands"]
	if fn == nil {
		return Binary{}, fmt.Errorf("%s has no function commands (the command table)", commandDir)
	}
	bin.Commands = ix.commandsReturned(main, fn, nil, 0)
	if len(bin.Commands) == 0 {
		return Binary{}, fmt.Errorf("found no commands in the command table of %s", commandDir)
	}
	return bin, nil
}

// sourceIndex parses the module's packages on demand.
type sourceIndex struct {
	repo Repo
	pkgs map[string]*goPackage // by folder relative to the root
}

func newSourceIndex(r Repo) *sourceIndex {
	return &sourceIndex{repo: r, pkgs: map[string]*goPackage{}}
}

// goPackage is the non-test Go files of one folder.
type goPackage struct {
	dir    string
	files  []*ast.File
	funcs  map[string]*ast.FuncDecl // package-level functions
	consts map[string]ast.Expr      // package-level constants with a value
	types  map[string]bool          // package-level type names
	fileOf map[ast.Node]*ast.File   // the file of each function and constant
}

// pkg returns the package in folder dir (relative to the root), parsed
// once; a folder without Go files gives an empty package.
func (ix *sourceIndex) pkg(dir string) (*goPackage, error) {
	if p, ok := ix.pkgs[dir]; ok {
		return p, nil
	}
	p := &goPackage{dir: dir, funcs: map[string]*ast.FuncDecl{}, consts: map[string]ast.Expr{},
		types: map[string]bool{}, fileOf: map[ast.Node]*ast.File{}}
	ix.pkgs[dir] = p
	entries, err := os.ReadDir(ix.repo.Path(dir))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, ix.repo.Path(path.Join(dir, name)), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parsing %s/%s: %w", dir, name, err)
		}
		p.add(f)
	}
	return p, nil
}

func (p *goPackage) add(f *ast.File) {
	p.files = append(p.files, f)
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				p.funcs[d.Name.Name] = d
				p.fileOf[d] = f
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.ValueSpec:
					if d.Tok != token.CONST {
						continue
					}
					for i, n := range s.Names {
						if i < len(s.Values) {
							p.consts[n.Name] = s.Values[i]
							p.fileOf[s.Values[i]] = f
						}
					}
				case *ast.TypeSpec:
					p.types[s.Name.Name] = true
				}
			}
		}
	}
}

// importedPkg returns the module package that name refers to in file f,
// or nil for a package outside the module or an unknown name.
func (ix *sourceIndex) importedPkg(f *ast.File, name string) *goPackage {
	for _, imp := range f.Imports {
		ipath, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		local := path.Base(ipath)
		if imp.Name != nil {
			local = imp.Name.Name
		}
		if local != name {
			continue
		}
		rel, ok := strings.CutPrefix(ipath, ix.repo.Module+"/")
		if !ok {
			return nil
		}
		p, err := ix.pkg(rel)
		if err != nil {
			return nil
		}
		return p
	}
	return nil
}

// scope is where an expression is evaluated: its package, its file and the
// string values of the parameters of its function.
type scope struct {
	pkg    *goPackage
	file   *ast.File
	params map[string]string
}

// str evaluates x to a string when it is made of string literals,
// constants, parameters bound to strings, conversions and +.
func (ix *sourceIndex) str(sc scope, x ast.Expr) (string, bool) {
	switch e := x.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.ParenExpr:
		return ix.str(sc, e.X)
	case *ast.Ident:
		if v, ok := sc.params[e.Name]; ok {
			return v, true
		}
		if v, ok := sc.pkg.consts[e.Name]; ok {
			return ix.str(scope{pkg: sc.pkg, file: sc.pkg.fileOf[v]}, v)
		}
	case *ast.SelectorExpr:
		id, ok := e.X.(*ast.Ident)
		if !ok || sc.file == nil {
			return "", false
		}
		if p := ix.importedPkg(sc.file, id.Name); p != nil {
			if v, ok := p.consts[e.Sel.Name]; ok {
				return ix.str(scope{pkg: p, file: p.fileOf[v]}, v)
			}
		}
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		a, okA := ix.str(sc, e.X)
		b, okB := ix.str(sc, e.Y)
		return a + b, okA && okB
	case *ast.CallExpr:
		if len(e.Args) == 1 && ix.isConversion(sc, e.Fun) {
			return ix.str(sc, e.Args[0])
		}
	}
	return "", false
}

// isConversion reports whether fun, called with one argument, is a
// conversion to a string type.
func (ix *sourceIndex) isConversion(sc scope, fun ast.Expr) bool {
	switch f := fun.(type) {
	case *ast.Ident:
		return f.Name == "string" || sc.pkg.types[f.Name]
	case *ast.SelectorExpr:
		if id, ok := f.X.(*ast.Ident); ok && sc.file != nil {
			if p := ix.importedPkg(sc.file, id.Name); p != nil {
				return p.types[f.Sel.Name]
			}
		}
	}
	return false
}

// maxCallDepth bounds how deep the command table is followed through calls.
const maxCallDepth = 8

// commandsReturned returns the commands that fn returns, its parameters
// bound to args (evaluated in the caller's scope).
func (ix *sourceIndex) commandsReturned(p *goPackage, fn *ast.FuncDecl, params map[string]string, depth int) []Command {
	if depth > maxCallDepth || fn.Body == nil {
		return nil
	}
	sc := scope{pkg: p, file: p.fileOf[fn], params: params}
	var out []Command
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.FuncLit:
			return false // a closure's returns are not fn's
		case *ast.ReturnStmt:
			if len(s.Results) == 1 {
				out = append(out, ix.commandsOf(sc, s.Results[0], depth)...)
			}
			return false
		}
		return true
	})
	return out
}

// commandsOf returns the commands expression x makes: a command literal, a
// []command literal, or a call of a function returning them.
func (ix *sourceIndex) commandsOf(sc scope, x ast.Expr, depth int) []Command {
	switch e := x.(type) {
	case *ast.CompositeLit:
		switch t := e.Type.(type) {
		case *ast.Ident:
			if t.Name == "command" {
				return []Command{ix.commandLit(sc, e, depth)}
			}
		case *ast.ArrayType:
			if id, ok := t.Elt.(*ast.Ident); ok && id.Name == "command" {
				var out []Command
				for _, elt := range e.Elts {
					if lit, ok := elt.(*ast.CompositeLit); ok && lit.Type == nil {
						out = append(out, ix.commandLit(sc, lit, depth))
						continue
					}
					out = append(out, ix.commandsOf(sc, elt, depth)...)
				}
				return out
			}
		}
	case *ast.CallExpr:
		id, ok := e.Fun.(*ast.Ident)
		if !ok {
			return nil
		}
		fn := sc.pkg.funcs[id.Name]
		if fn == nil {
			return nil
		}
		params := map[string]string{}
		i := 0
		for _, field := range fn.Type.Params.List {
			for _, name := range field.Names {
				if i < len(e.Args) {
					if v, ok := ix.str(sc, e.Args[i]); ok {
						params[name.Name] = v
					}
				}
				i++
			}
		}
		return ix.commandsReturned(sc.pkg, fn, params, depth+1)
	}
	return nil
}

// commandLit reads a command{name: …, sub: …} literal.
func (ix *sourceIndex) commandLit(sc scope, lit *ast.CompositeLit, depth int) Command {
	var c Command
	for _, elt := range lit.Elts {
		kv, ok := elt.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		key, _ := kv.Key.(*ast.Ident)
		if key == nil {
			continue
		}
		switch key.Name {
		case "name":
			if v, ok := ix.str(sc, kv.Value); ok {
				c.Name = v
			} else {
				c.Name = "<name not a constant>"
			}
		case "sub":
			c.Sub = ix.commandsOf(sc, kv.Value, depth)
			if c.Sub == nil {
				c.Sub = []Command{}
			}
		}
	}
	return c
}

// envPattern is an environment variable of the binary inside a string.
var envPattern = regexp.MustCompile(process.EnvPrefix + `[A-Z0-9]+(?:_[A-Z0-9]+)*`)

// flagNamePattern is what a flag name looks like.
var flagNamePattern = regexp.MustCompile(`^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$`)

// flagNameArg returns the index of the name argument of a flag.FlagSet
// method defining a flag, and false for another method.
func flagNameArg(method string) (int, bool) {
	switch method {
	case "String", "Bool", "Int", "Int64", "Uint", "Uint64", "Float64", "Duration", "Func", "BoolFunc":
		return 0, true
	case "StringVar", "BoolVar", "IntVar", "Int64Var", "UintVar", "Uint64Var", "Float64Var", "DurationVar", "TextVar", "Var":
		return 1, true
	}
	return 0, false
}

// envNames returns the environment variables the package's code reads (see
// ReadBinary).
func (p *goPackage) envNames(ix *sourceIndex) map[string]bool {
	names := map[string]bool{}
	addFlag := func(sc scope, x ast.Expr) {
		for _, flagName := range ix.flagNames(sc, x) {
			names[envflag.EnvName(process.EnvPrefix, flagName)] = true
		}
	}
	for _, f := range p.files {
		sc := scope{pkg: p, file: f}
		ast.Inspect(f, func(n ast.Node) bool {
			switch e := n.(type) {
			case *ast.BasicLit:
				if s, ok := ix.str(sc, e); ok {
					addEnvNamesIn(names, s)
				}
			case *ast.BinaryExpr:
				if s, ok := ix.str(sc, e); ok && e.Op == token.ADD {
					addEnvNamesIn(names, s)
				}
			case *ast.CompositeLit:
				if x := keyedField(e, "Name"); x != nil && keyedField(e, "Usage") != nil {
					addFlag(sc, x)
				} else if e.Type == nil && len(e.Elts) >= 3 && isStringLit(e.Elts[1]) {
					if _, keyed := e.Elts[0].(*ast.KeyValueExpr); !keyed {
						addFlag(sc, e.Elts[0])
					}
				}
			case *ast.CallExpr:
				sel, ok := e.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				i, ok := flagNameArg(sel.Sel.Name)
				if ok && i < len(e.Args) && namesEnvInHelp(e.Args) {
					addFlag(sc, e.Args[i])
				}
			}
			return true
		})
	}
	return names
}

// addEnvNamesIn adds to names the environment variables named in s; a
// name followed by an underscore is a prefix of names, not a name.
func addEnvNamesIn(names map[string]bool, s string) {
	for _, m := range envPattern.FindAllStringIndex(s, -1) {
		if m[1] < len(s) && s[m[1]] == '_' {
			continue
		}
		names[s[m[0]:m[1]]] = true
	}
}

// flagNames evaluates the flag name x: one name, or for role + "-suffix"
// one per role.
func (ix *sourceIndex) flagNames(sc scope, x ast.Expr) []string {
	if s, ok := ix.str(sc, x); ok {
		if flagNamePattern.MatchString(s) {
			return []string{s}
		}
		return nil
	}
	b, ok := x.(*ast.BinaryExpr)
	if !ok || b.Op != token.ADD {
		return nil
	}
	suffix, ok := ix.str(sc, b.Y)
	if !ok {
		return nil
	}
	var out []string
	for _, r := range node.AllRoles() {
		if name := string(r) + suffix; flagNamePattern.MatchString(name) {
			out = append(out, name)
		}
	}
	return out
}

// keyedField returns the value of the field key of a keyed literal, or nil.
func keyedField(lit *ast.CompositeLit, key string) ast.Expr {
	for _, elt := range lit.Elts {
		if kv, ok := elt.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == key {
				return kv.Value
			}
		}
	}
	return nil
}

func isStringLit(x ast.Expr) bool {
	lit, ok := x.(*ast.BasicLit)
	return ok && lit.Kind == token.STRING
}

// namesEnvInHelp reports whether a string literal among args (a flag's
// help) names an environment variable: "[$…]".
func namesEnvInHelp(args []ast.Expr) bool {
	found := false
	for _, a := range args {
		ast.Inspect(a, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && strings.Contains(lit.Value, "[$") {
				found = true
			}
			return !found
		})
	}
	return found
}
