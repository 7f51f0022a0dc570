package cli

import (
	"flag"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
)

// Flag is one flag of a command, as the command's help lists it.
type Flag struct {
	// Name is the flag's name, without the dash.
	Name string
	// Env is the environment variable that sets the flag, "" for none.
	Env string
	// Usage is the flag's help, without its variable and its default.
	Usage string
	// ValueName names the flag's value in the help ("folder"); it is ""
	// for a boolean flag, given without a value.
	ValueName string
	// Default is the flag's default as the help shows it; "" when the
	// help shows none (the zero value of its type: empty, 0, false).
	Default string
	// IsBool reports a flag given without a value.
	IsBool bool
}

// Leaf is a command that runs (not a group), with the words naming it.
type Leaf struct {
	// Path names the command after "ordersaga": "run", "dlq list".
	Path string
	Command
}

// Leaves returns every command of table that runs, subcommands of groups
// and of commands that run themselves too ("choreographed rebuild")
// included, in the table's order.
func Leaves(table []Command) []Leaf {
	var out []Leaf
	var walk func(prefix string, table []Command)
	walk = func(prefix string, table []Command) {
		for _, c := range table {
			if c.Sub != nil {
				walk(prefix+c.Name+" ", c.Sub)
				continue
			}
			out = append(out, Leaf{Path: prefix + c.Name, Command: c})
			walk(prefix+c.Name+" ", c.also)
		}
	}
	walk("", table)
	return out
}

// Settings returns the flags of a command that runs, bound as in an
// environment without variables, sorted by name, and every environment
// variable the command reads, sorted: those of its flags and the others
// it reads (the roles of a process, its service name, the listen address
// a health check probes). A group has none.
func (c Command) Settings() (flags []Flag, env []string) {
	if c.bind == nil {
		return nil, nil
	}
	read := map[string]bool{}
	for _, name := range c.env {
		read[name] = true
	}
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, _ = c.bind(fs, func(name string) (string, bool) {
		read[name] = true
		return "", false
	})
	fs.VisitAll(func(f *flag.Flag) {
		fl := flagOf(f)
		if fl.Env != "" {
			read[fl.Env] = true
		}
		flags = append(flags, fl)
	})
	for name := range read {
		env = append(env, name)
	}
	slices.Sort(env)
	return flags, env
}

// flagOf describes a registered flag as flag.PrintDefaults shows it.
func flagOf(f *flag.Flag) Flag {
	env, usage := envflag.EnvOf(f)
	valueName, usage := flag.UnquoteUsage(&flag.Flag{Name: f.Name, Usage: usage, Value: f.Value})
	fl := Flag{Name: f.Name, Env: env, Usage: usage, ValueName: valueName, IsBool: isBoolFlag(f.Value)}
	if !isZeroValue(f) {
		fl.Default = f.DefValue
	}
	return fl
}

// isBoolFlag reports whether v is a flag given without a value.
func isBoolFlag(v flag.Value) bool {
	b, ok := v.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// isZeroValue reports whether f's default is the zero value of its type,
// which flag.PrintDefaults does not show: the same test as the flag
// package's.
func isZeroValue(f *flag.Flag) (zero bool) {
	typ := reflect.TypeOf(f.Value)
	var z reflect.Value
	if typ.Kind() == reflect.Pointer {
		z = reflect.New(typ.Elem())
	} else {
		z = reflect.Zero(typ)
	}
	defer func() {
		if recover() != nil {
			zero = false
		}
	}()
	v, ok := z.Interface().(flag.Value)
	return ok && f.DefValue == v.String()
}

// String returns the flag as one line: "-name value [$ENV] (default x)".
func (f Flag) String() string {
	var b strings.Builder
	b.WriteString("-" + f.Name)
	if f.ValueName != "" {
		b.WriteString(" " + f.ValueName)
	}
	if f.Env != "" {
		b.WriteString(" [$" + f.Env + "]")
	}
	if f.Default != "" {
		fmt.Fprintf(&b, " (default %s)", f.Default)
	}
	return b.String()
}
