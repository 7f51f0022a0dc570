package deploycheck

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestReadBinary_ReadsTheRepositorysCommandsAndVariables(t *testing.T) {
	bin := testBinary(t, testRepo(t))
	for _, args := range [][]string{{"migrate"}, {"orchestrated"}, {"choreographed"}, {"dlq", "list"}, {"dlq", "replay"}, {"version"}} {
		if _, err := bin.Resolve(args); err != nil {
			t.Errorf("Resolve(%q): %v", args, err)
		}
	}
	for _, name := range []string{
		"ORDERSAGA_ORDERS_DB", "ORDERSAGA_SHIPPING_DB", "ORDERSAGA_HTTP_ADDR", "ORDERSAGA_TEMPORAL_ADDRESS",
		"ORDERSAGA_TEMPORAL_NAMESPACE", "ORDERSAGA_KAFKA_BROKERS", "ORDERSAGA_TOPIC_PREFIX", "ORDERSAGA_LOG_LEVEL",
	} {
		if !bin.Env[name] {
			t.Errorf("the binary does not read %s", name)
		}
	}
}

// writeModule writes files (path → content) into a new module and returns
// it as a Repo.
func writeModule(tb testing.TB, files map[string]string) Repo {
	tb.Helper()
	root := tb.TempDir()
	files["go.mod"] = "module example.com/shop\n\ngo 1.26.8\n"
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	r, err := FindRepo(root)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestReadBinary_FollowsTheCommandTableAndFlagConventions(t *testing.T) {
	r := writeModule(t, map[string]string{
		"deploy/cmd/ordersaga/main.go": `package main

import (
	"flag"

	"example.com/shop/deploy/kinds"
)

type command struct {
	name string
	sub  []command
}

const serveName = "serve"

func commands() []command {
	return []command{
		{name: serveName},
		kindCommand(kinds.Batch),
		groupCommand(),
	}
}

func kindCommand(k kinds.Kind) command { return command{name: string(k)} }

func groupCommand() command {
	return command{name: "tools", sub: []command{{name: "list"}, toolCommand("prune")}}
}

func toolCommand(name string) command {
	run := func() command { return command{name: "not-a-command"} }
	_ = run
	return command{name: name}
}

func flags(fs *flag.FlagSet, role string) {
	fs.String("data-dir", "", "folder [$ORDERSAGA_DATA_DIR]")
	fs.Bool("verbose", false, "no variable for this one")
	fs.String(role+"-db", "", "database [$ORDERSAGA_X]")
}
`,
		"deploy/kinds/kinds.go": `package kinds

type Kind string

const Batch Kind = "batch"

const EnvPrefix = "ORDERSAGA_"

type Var struct{ Name, Usage string }

func Vars(prefix string) []Var {
	return []Var{{Name: "http-addr", Usage: "where"}, {Name: prefix + "-suffix", Usage: "per role"}}
}

type option struct {
	flag, usage string
	value       *string
}

func options(v *string) []option {
	return []option{{"log-level", "how much", v}}
}

var roles = EnvPrefix + "ROLES"

const benchPrefix = "ORDERSAGA_BENCH_"

const documented = "set ORDERSAGA_SEED to seed"
`,
		"shared/skip/skip_test.go": `package skip

const fromATest = "ORDERSAGA_FROM_A_TEST"
`,
	})
	bin, err := ReadBinary(r)
	if err != nil {
		t.Fatal(err)
	}
	want := []Command{{Name: "serve"}, {Name: "batch"}, {Name: "tools", Sub: []Command{{Name: "list"}, {Name: "prune"}}}}
	if !commandsEqual(bin.Commands, want) {
		t.Errorf("commands %+v, want %+v", bin.Commands, want)
	}
	got := sortedKeys(bin.Env)
	wantEnv := []string{
		"ORDERSAGA_DATA_DIR", "ORDERSAGA_HTTP_ADDR", "ORDERSAGA_INVENTORY_DB", "ORDERSAGA_INVENTORY_SUFFIX",
		"ORDERSAGA_LOG_LEVEL", "ORDERSAGA_ORDERS_DB", "ORDERSAGA_ORDERS_SUFFIX", "ORDERSAGA_PAYMENT_DB",
		"ORDERSAGA_PAYMENT_SUFFIX", "ORDERSAGA_ROLES", "ORDERSAGA_SEED", "ORDERSAGA_SHIPPING_DB",
		"ORDERSAGA_SHIPPING_SUFFIX", "ORDERSAGA_X",
	}
	if !slices.Equal(got, wantEnv) {
		t.Errorf("variables\n got %v\nwant %v", got, wantEnv)
	}
}

func TestReadBinary_NeedsTheCommandTable(t *testing.T) {
	r := writeModule(t, map[string]string{"deploy/cmd/ordersaga/main.go": "package main\n\nfunc main() {}\n"})
	if _, err := ReadBinary(r); err == nil {
		t.Fatal("a binary without a command table was read")
	}
}

func TestResolve_NamesWhatIsMissing(t *testing.T) {
	bin := Binary{Commands: []Command{{Name: "migrate"}, {Name: "dlq", Sub: []Command{{Name: "list"}}}}}
	for _, tc := range []struct {
		args    []string
		wantErr bool
	}{
		{[]string{"migrate", "-down"}, false},
		{[]string{"dlq", "list", "-json"}, false},
		{[]string{"dlq"}, true},
		{[]string{"dlq", "drop"}, true},
		{[]string{"migrat"}, true},
		{nil, true},
	} {
		if _, err := bin.Resolve(tc.args); (err != nil) != tc.wantErr {
			t.Errorf("Resolve(%q) error %v, want an error: %v", tc.args, err, tc.wantErr)
		}
	}
}

func commandsEqual(a, b []Command) bool {
	return slices.EqualFunc(a, b, func(x, y Command) bool {
		return x.Name == y.Name && commandsEqual(x.Sub, y.Sub)
	})
}
