// Package envflag binds settings to command-line flags and environment
// variables. A setting starts at its default, takes its environment
// variable's value when that is set, and then its flag's value when the flag
// is given: a flag wins over the environment, which wins over the default.
//
// Every command of the ordersaga binary reads its settings through this
// package: a flag's environment variable is Prefix (or a longer prefix
// starting with it) and the flag's name, and the flag's help names it
// ("[$ORDERSAGA_DATA_DIR]"), which EnvOf reads back.
package envflag

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Prefix starts the environment variable of every setting of the
// ordersaga binary.
const Prefix = "ORDERSAGA_"

// LookupEnv finds an environment variable: os.LookupEnv, or a stand-in
// environment in tests and checks.
type LookupEnv func(name string) (value string, ok bool)

// Var is one setting: a flag and the environment variable of the same name.
type Var struct {
	// Name is the flag's name; the environment variable is the prefix
	// given to Bind and Name in upper case with underscores for dashes.
	Name string
	// Usage is the flag's help; a word in back quotes names its value (see
	// flag.UnquoteUsage).
	Usage string
	// Value holds the setting, already set to its default.
	Value flag.Value
}

// EnvName returns the environment variable of the flag name: prefix and the
// name in upper case with underscores for dashes.
func EnvName(prefix, name string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Bind sets each of vars from its environment variable, when lookupEnv
// (os.LookupEnv, say) finds it, and registers it as a flag of fs whose help
// names the variable. It reports every environment value that does not
// parse; the others are set all the same.
func Bind(fs *flag.FlagSet, prefix string, lookupEnv LookupEnv, vars ...Var) error {
	var errList []error
	for _, v := range vars {
		env := EnvName(prefix, v.Name)
		if s, ok := lookupEnv(env); ok {
			if err := v.Value.Set(s); err != nil {
				errList = append(errList, fmt.Errorf("%s: %w", env, err))
			}
		}
		fs.Var(v.Value, v.Name, v.Usage+envSuffix(env))
	}
	return errors.Join(errList...)
}

// envSuffix is how a flag's help names its environment variable.
func envSuffix(env string) string { return " [$" + env + "]" }

// EnvOf returns the environment variable that sets f, as Bind named it at
// the end of f's help, and f's help without it; env is "" for a flag that
// no variable sets.
func EnvOf(f *flag.Flag) (env, usage string) {
	start := strings.LastIndex(f.Usage, " [$")
	if start < 0 || !strings.HasSuffix(f.Usage, "]") {
		return "", f.Usage
	}
	env = f.Usage[start+len(" [$") : len(f.Usage)-1]
	if env == "" || strings.ContainsAny(env, " []$") {
		return "", f.Usage
	}
	return env, f.Usage[:start]
}

// String returns a flag.Value setting *p, without surrounding spaces.
func String(p *string) flag.Value { return (*stringValue)(p) }

// DSN returns a flag.Value setting *p to a database address. Its String
// hides a password, so a help text never shows one.
func DSN(p *string) flag.Value { return (*dsnValue)(p) }

// Secret returns a flag.Value setting *p to a secret, without
// surrounding spaces. Its String never shows the secret (xxxxx when one is
// set), so a help text, which shows a flag's value from the environment as
// its default, never does.
func Secret(p *string) flag.Value { return (*secretValue)(p) }

// Bool returns a boolean flag.Value setting *p; it takes 1, t, true, yes,
// on and 0, f, false, no, off.
func Bool(p *bool) flag.Value { return (*boolValue)(p) }

// List returns a flag.Value setting *p to a comma-separated list, without
// empty items.
func List(p *[]string) flag.Value { return (*listValue)(p) }

// Level returns a flag.Value setting *p to a log level: debug, info, warn
// or error.
func Level(p *slog.Level) flag.Value { return (*levelValue)(p) }

// Duration returns a flag.Value setting *p to a Go duration ("5s").
func Duration(p *time.Duration) flag.Value { return (*durationValue)(p) }

// Float returns a flag.Value setting *p to a number ("0.25").
func Float(p *float64) flag.Value { return (*floatValue)(p) }

// Int returns a flag.Value setting *p to an integer.
func Int(p *int) flag.Value { return (*intValue)(p) }

// Uint64 returns a flag.Value setting *p to a non-negative integer.
func Uint64(p *uint64) flag.Value { return (*uint64Value)(p) }

type (
	stringValue   string
	dsnValue      string
	secretValue   string
	boolValue     bool
	listValue     []string
	levelValue    slog.Level
	durationValue time.Duration
	floatValue    float64
	intValue      int
	uint64Value   uint64
)

func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Set(s string) error { *v = stringValue(strings.TrimSpace(s)); return nil }

func (v *dsnValue) String() string     { return Redact(string(*v)) }
func (v *dsnValue) Set(s string) error { *v = dsnValue(strings.TrimSpace(s)); return nil }

func (v *secretValue) String() string {
	if *v == "" {
		return ""
	}
	return "xxxxx"
}
func (v *secretValue) Set(s string) error { *v = secretValue(strings.TrimSpace(s)); return nil }

func (v *boolValue) String() string   { return fmt.Sprint(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }
func (v *boolValue) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "yes", "on":
		*v = true
	case "0", "f", "false", "no", "off":
		*v = false
	default:
		return fmt.Errorf("%q is not a boolean", s)
	}
	return nil
}

func (v *listValue) String() string { return strings.Join(*v, ",") }
func (v *listValue) Set(s string) error {
	var items []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	*v = items
	return nil
}

func (v *levelValue) String() string { return slog.Level(*v).String() }
func (v *levelValue) Set(s string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return fmt.Errorf("%q is not a log level (debug, info, warn or error)", s)
	}
	*v = levelValue(l)
	return nil
}

func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }
func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	*v = floatValue(f)
	return nil
}

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not an integer", s)
	}
	*v = intValue(n)
	return nil
}

func (v *uint64Value) String() string { return strconv.FormatUint(uint64(*v), 10) }
func (v *uint64Value) Set(s string) error {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a non-negative integer", s)
	}
	*v = uint64Value(n)
	return nil
}

func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a duration", s)
	}
	*v = durationValue(d)
	return nil
}

// Redact returns a database or server address with every password it
// holds (user:password@, ?password=, key=value forms) replaced by xxxxx:
// sqldb.Redact.
func Redact(address string) string { return sqldb.Redact(address) }
