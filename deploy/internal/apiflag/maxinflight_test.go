package apiflag_test

import (
	"flag"
	"strconv"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/deploy/internal/apiflag"
	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

// bindLimits binds LimitVars over the defaults with the environment env
// and parses args.
func bindLimits(t *testing.T, env map[string]string, args ...string) (httpapi.Limits, string) {
	t.Helper()
	l := httpapi.DefaultLimits()
	fs := flag.NewFlagSet("any", flag.ContinueOnError)
	if err := envflag.Bind(fs, envflag.Prefix, func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		apiflag.LimitVars(&l)...); err != nil {
		t.Fatal(err)
	}
	var help strings.Builder
	fs.SetOutput(&help)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	fs.PrintDefaults()
	return l, help.String()
}

// The bound of orders in flight is 0 (each variant's default) unless
// -max-in-flight or ORDERSAGA_MAX_IN_FLIGHT sets it, the flag winning; the
// help names both variants' defaults.
func TestLimitVars_MaxInFlight_FlagOrVariable(t *testing.T) {
	if l, help := bindLimits(t, nil); l.MaxInFlight != 0 || !strings.Contains(help, "-"+apiflag.MaxInFlightFlag) ||
		!strings.Contains(help, "orchestrated "+strconv.Itoa(httpapi.DefaultMaxInFlightOrchestrated)) ||
		!strings.Contains(help, "choreographed "+strconv.Itoa(httpapi.DefaultMaxInFlightChoreographed)) {
		t.Errorf("no setting: MaxInFlight %d, help:\n%s\nwant 0 and the variants' defaults named", l.MaxInFlight, help)
	}
	env := map[string]string{envflag.Prefix + "MAX_IN_FLIGHT": "40"}
	if l, _ := bindLimits(t, env); l.MaxInFlight != 40 {
		t.Errorf("from the variable: MaxInFlight %d, want 40", l.MaxInFlight)
	}
	if l, _ := bindLimits(t, env, "-max-in-flight", "12"); l.MaxInFlight != 12 {
		t.Errorf("flag and variable: MaxInFlight %d, want the flag's 12", l.MaxInFlight)
	}
}

// A negative bound of orders in flight is a problem naming the flag.
func TestLimitProblems_NegativeMaxInFlight(t *testing.T) {
	p := apiflag.LimitProblems(httpapi.Limits{MaxInFlight: -1})
	if len(p) != 1 || !strings.Contains(p[0].Error(), "-max-in-flight") {
		t.Errorf("problems %v, want one naming -max-in-flight", p)
	}
}
