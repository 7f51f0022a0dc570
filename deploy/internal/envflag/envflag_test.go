package envflag_test

import (
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
)

func envOf(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

type settings struct {
	name    string
	dsn     string
	on      bool
	list    []string
	level   slog.Level
	timeout time.Duration
}

func bind(t *testing.T, env map[string]string) (*flag.FlagSet, *settings, error) {
	t.Helper()
	s := &settings{name: "default-name", on: true, list: []string{"a"}, level: slog.LevelInfo, timeout: time.Second}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := envflag.Bind(fs, "APP_", envOf(env),
		envflag.Var{Name: "name", Usage: "a `name`", Value: envflag.String(&s.name)},
		envflag.Var{Name: "db-url", Usage: "a database", Value: envflag.DSN(&s.dsn)},
		envflag.Var{Name: "on", Usage: "a switch", Value: envflag.Bool(&s.on)},
		envflag.Var{Name: "list", Usage: "a list", Value: envflag.List(&s.list)},
		envflag.Var{Name: "log-level", Usage: "a level", Value: envflag.Level(&s.level)},
		envflag.Var{Name: "timeout", Usage: "a duration", Value: envflag.Duration(&s.timeout)},
	)
	return fs, s, err
}

func TestBind_FlagWinsOverEnvironmentWhichWinsOverDefault(t *testing.T) {
	fs, s, err := bind(t, map[string]string{
		"APP_NAME":      "from-env",
		"APP_ON":        "no",
		"APP_LIST":      " x, ,y ",
		"APP_LOG_LEVEL": "debug",
		"APP_TIMEOUT":   "5s",
	})
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	if err := fs.Parse([]string{"-name", "from-flag", "-timeout", "1m"}); err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if s.name != "from-flag" || s.timeout != time.Minute {
		t.Errorf("flags did not win: name %q timeout %v", s.name, s.timeout)
	}
	if s.on || strings.Join(s.list, "|") != "x|y" || s.level != slog.LevelDebug {
		t.Errorf("environment did not win over the defaults: on %v list %q level %v", s.on, s.list, s.level)
	}
	if s.dsn != "" {
		t.Errorf("unset setting changed to %q", s.dsn)
	}
}

func TestBind_NothingSet_KeepsDefaults(t *testing.T) {
	fs, s, err := bind(t, nil)
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if s.name != "default-name" || !s.on || strings.Join(s.list, ",") != "a" || s.level != slog.LevelInfo || s.timeout != time.Second {
		t.Errorf("defaults changed: %+v", s)
	}
}

func TestBind_BadEnvironmentValues_NamesEachVariable(t *testing.T) {
	_, s, err := bind(t, map[string]string{"APP_ON": "maybe", "APP_LOG_LEVEL": "loud", "APP_TIMEOUT": "soon", "APP_NAME": "fine"})
	if err == nil {
		t.Fatal("bad values accepted")
	}
	for _, v := range []string{"APP_ON", "APP_LOG_LEVEL", "APP_TIMEOUT"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error %q does not name %s", err, v)
		}
	}
	if s.name != "fine" {
		t.Errorf("a good value next to bad ones was not set: %q", s.name)
	}
}

func TestBind_Usage_NamesVariableAndHidesPasswords(t *testing.T) {
	fs, _, err := bind(t, map[string]string{"APP_DB_URL": "postgres://app:s3cret@db:5432/orders"})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	fs.SetOutput(&out)
	fs.PrintDefaults()
	usage := out.String()
	if strings.Contains(usage, "s3cret") {
		t.Errorf("usage shows the password:\n%s", usage)
	}
	if !strings.Contains(usage, "postgres://app:xxxxx@db:5432/orders") {
		t.Errorf("usage lacks the redacted default:\n%s", usage)
	}
	for _, env := range []string{"$APP_NAME", "$APP_DB_URL", "$APP_LOG_LEVEL"} {
		if !strings.Contains(usage, env) {
			t.Errorf("usage does not name %s:\n%s", env, usage)
		}
	}
}

func TestRedact_HidesOnlyPasswords(t *testing.T) {
	tests := map[string]string{
		"postgres://u:pw@h/db?sslmode=disable": "postgres://u:xxxxx@h/db?sslmode=disable",
		"postgres://u@h/db":                    "postgres://u@h/db",
		"sqlite:/data/orders.db":               "sqlite:/data/orders.db",
		"":                                     "",
	}
	for in, want := range tests {
		if got := envflag.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEnvName_UpperCaseWithUnderscores(t *testing.T) {
	if got := envflag.EnvName("ORDERSAGA_", "payment-db"); got != "ORDERSAGA_PAYMENT_DB" {
		t.Errorf("EnvName = %q", got)
	}
}

func TestIntAndUint64_ParseIntegers(t *testing.T) {
	n, u := 3, uint64(4)
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := envflag.Bind(fs, "APP_", envOf(map[string]string{"APP_N": " 7 ", "APP_U": "-1"}),
		envflag.Var{Name: "n", Usage: "a `number`", Value: envflag.Int(&n)},
		envflag.Var{Name: "u", Usage: "a `count`", Value: envflag.Uint64(&u)},
	)
	if err == nil || !strings.Contains(err.Error(), "APP_U") || strings.Contains(err.Error(), "APP_N") {
		t.Errorf("Bind error %v, want one naming APP_U alone", err)
	}
	if n != 7 || u != 4 {
		t.Errorf("n=%d u=%d, want 7 from the environment and 4 kept", n, u)
	}
	if err := fs.Parse([]string{"-u", "9", "-n", "-2"}); err != nil {
		t.Fatal(err)
	}
	if n != -2 || u != 9 {
		t.Errorf("n=%d u=%d after the flags, want -2 and 9", n, u)
	}
}

func TestEnvOf_ReadsTheVariableBindNamed(t *testing.T) {
	fs, _, err := bind(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	env, usage := envflag.EnvOf(fs.Lookup("db-url"))
	if env != "APP_DB_URL" || usage != "a database" {
		t.Errorf("EnvOf(-db-url) = %q, %q; want APP_DB_URL, \"a database\"", env, usage)
	}
	fs.String("plain", "", "no variable [$ here]")
	if env, usage := envflag.EnvOf(fs.Lookup("plain")); env != "" || usage != "no variable [$ here]" {
		t.Errorf("EnvOf(-plain) = %q, %q; want no variable and the help as it is", env, usage)
	}
}

func TestSecret_HelpNeverShowsTheValue(t *testing.T) {
	var secret string
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := envflag.Bind(fs, "APP_", envOf(map[string]string{"APP_KEY": " s3cret-from-env "}),
		envflag.Var{Name: "key", Usage: "a `secret`", Value: envflag.Secret(&secret)}); err != nil {
		t.Fatal(err)
	}
	if secret != "s3cret-from-env" {
		t.Errorf("secret %q, want the variable's value without spaces", secret)
	}
	var out strings.Builder
	fs.SetOutput(&out)
	fs.PrintDefaults()
	if strings.Contains(out.String(), "s3cret") || !strings.Contains(out.String(), "xxxxx") {
		t.Errorf("the help shows the secret, or does not say one is set:\n%s", out.String())
	}
	var unset string
	if got := envflag.Secret(&unset).String(); got != "" {
		t.Errorf("an unset secret reads %q, want empty (no default shown)", got)
	}
}
