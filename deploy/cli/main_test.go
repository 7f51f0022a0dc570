package cli

import (
	"context"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/deploy/internal/proctest"
	"github.com/ordersaga/ordersaga/shared/hosted"
)

// processSecret is the signing secret the service processes of these
// tests are given.
const processSecret = "a-signing-secret-of-the-command-tests"

// secretEnv returns an environment holding processSecret alone.
func secretEnv() map[string]string { return map[string]string{"ORDERSAGA_AUTH_SECRET": processSecret} }

func testEnv(vars map[string]string) (*Env, *proctest.Buffer, *proctest.Buffer) {
	stdout, stderr := &proctest.Buffer{}, &proctest.Buffer{}
	return &Env{Stdout: stdout, Stderr: stderr, LookupEnv: func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}}, stdout, stderr
}

func TestExecute_HelpAndUnknownCommand_ExitCodes(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"help"}, 0, "migrate", ""},
		{[]string{"-h"}, 0, "run", ""},
		{[]string{"help", "migrate"}, 0, "", "-postgres-url"},
		{[]string{"migrate", "-h"}, 0, "", "-data-dir"},
		{[]string{"bogus"}, 2, "", `unknown command "bogus"`},
		{[]string{"run", "-kafka-partitions", "0"}, 2, "", "partitions"},
		{[]string{"-no-such-flag"}, 2, "", "no-such-flag"},
		{[]string{"version", "extra"}, 2, "", "unexpected arguments"},
		{[]string{"version"}, 0, "ordersaga", ""},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			env, stdout, stderr := testEnv(nil)
			if got := Execute(context.Background(), env, tc.args); got != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", got, tc.code, stderr)
			}
			if !strings.Contains(stdout.String(), tc.inStdout) {
				t.Errorf("stdout %q lacks %q", stdout, tc.inStdout)
			}
			if !strings.Contains(stderr.String(), tc.inStderr) {
				t.Errorf("stderr %q lacks %q", stderr, tc.inStderr)
			}
		})
	}
}

func TestDispatch_Group_RunsSubcommandWithItsFlagsAndArguments(t *testing.T) {
	var got []string
	n := 0
	list := Command{Name: "list", args: "<ref>...", bind: func(fs *flag.FlagSet, _ envflag.LookupEnv) (runner, error) {
		fs.Var(envflag.Int(&n), "n", "`count`")
		return func(_ context.Context, _ *Env, args []string) error {
			got = args
			return nil
		}, nil
	}}
	table := []Command{{Name: "dlq", Sub: []Command{list}}}
	env, _, _ := testEnv(nil)
	if err := dispatch(context.Background(), env, "ordersaga", table, []string{"dlq", "list", "a", "-n", "5", "b"}, false); err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	if strings.Join(got, " ") != "a b" || n != 5 {
		t.Errorf("subcommand got arguments %q and -n %d, want \"a b\" and 5", got, n)
	}
}

func TestExecute_BadEnvironmentValue_IsAUsageErrorNamingTheVariable(t *testing.T) {
	env, _, stderr := testEnv(map[string]string{"ORDERSAGA_KAFKA_PARTITIONS": "four"})
	if code := Execute(context.Background(), env, []string{"run"}); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "ordersaga run: ORDERSAGA_KAFKA_PARTITIONS") {
		t.Errorf("stderr %q does not name the command and the variable", stderr)
	}
}

func TestExecute_NoCommand_RunsStackUntilInterrupted(t *testing.T) {
	dir := t.TempDir()
	env, stdout, stderr := testEnv(map[string]string{
		"ORDERSAGA_DATA_DIR":           dir,
		"ORDERSAGA_ORCHESTRATED_ADDR":  "127.0.0.1:0",
		"ORDERSAGA_CHOREOGRAPHED_ADDR": "127.0.0.1:0",
		"ORDERSAGA_TEMPORAL_LISTEN":    "127.0.0.1:0",
		"ORDERSAGA_TEMPORAL_UI_LISTEN": "127.0.0.1:0",
		"ORDERSAGA_KAFKA_LISTEN":       "127.0.0.1:0",
		"ORDERSAGA_LOG_LEVEL":          "warn",
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- Execute(ctx, env, nil) }()

	// The banner appears once everything answers.
	apiURL := regexp.MustCompile(`orchestrated API\s+(http://127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(90 * time.Second)
	var url string
	for url == "" {
		if m := apiURL.FindStringSubmatch(stdout.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("ordersaga exited with %d before printing its banner; stderr:\n%s", code, stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner after 90 s; stderr:\n%s", stderr)
		}
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: %d", resp.StatusCode)
	}
	for _, want := range []string{"choreographed API", "Temporal UI", "Kafka bootstrap", "curl -s -X POST", "-H 'Authorization: Bearer ey",
		"operator token", "customer token (ada)", "ordersaga token -auth-secret-file " + filepath.Join(dir, "auth-secret")} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, stdout)
		}
	}

	cancel() // what Ctrl-C does
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d after interrupt, want 0; stderr:\n%s", code, stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ordersaga did not stop within 30 s of the interrupt")
	}
	if _, err := os.Stat(filepath.Join(dir, "temporal", "temporal.db")); err != nil {
		t.Errorf("temporal database in the data dir: %v", err)
	}
	// The development secret the banner's tokens are signed with is kept
	// in the data dir, and the token command reads it.
	env, tokenOut, tokenErr := testEnv(map[string]string{"ORDERSAGA_AUTH_SECRET_FILE": filepath.Join(dir, "auth-secret")})
	if code := Execute(context.Background(), env, []string{"token", "-role", "customer", "-subject", "bob"}); code != 0 {
		t.Fatalf("ordersaga token with the run's secret: exit %d; stderr:\n%s", code, tokenErr)
	}
	if !strings.HasPrefix(tokenOut.String(), "ey") {
		t.Errorf("ordersaga token printed %q, want a token", tokenOut)
	}
}

func TestMigrate_DataDir_MigratesEveryDatabaseOfBothVariants(t *testing.T) {
	dir := t.TempDir()
	env, stdout, stderr := testEnv(map[string]string{"ORDERSAGA_DATA_DIR": dir})
	if code := Execute(context.Background(), env, []string{"migrate"}); code != 0 {
		t.Fatalf("migrate: exit %d; stderr:\n%s", code, stderr)
	}
	for _, v := range []string{"orchestrated", "choreographed"} {
		for _, role := range hosted.AllRoles() {
			r := string(role)
			want := v + "/" + r + `\s+` + r + ` version [1-9]`
			switch {
			case v == "choreographed" && role == hosted.RoleNotifications:
				want += `, inbox version [1-9]` // it emits nothing: no outbox
			case v == "choreographed":
				want += `, outbox version [1-9], inbox version [1-9]`
				if r == "orders" {
					want += `, order_timeline version [1-9]`
				}
			}
			if !regexp.MustCompile(want + "\n").MatchString(stdout.String()) {
				t.Errorf("output lacks a migrated %s/%s (%s):\n%s", v, r, want, stdout)
			}
			if _, err := os.Stat(filepath.Join(dir, v, r+".db")); err != nil {
				t.Errorf("database file: %v", err)
			}
		}
	}

	// -down reverts one database given by its address, of the variant
	// named: a database's address alone does not say which tables it holds.
	dsn := "sqlite:" + filepath.Join(dir, "choreographed", "payment.db")
	env, _, stderr = testEnv(nil)
	if code := Execute(context.Background(), env, []string{"migrate", "-down", "-payment-db", dsn}); code != 2 || !strings.Contains(stderr.String(), "-variant") {
		t.Errorf("migrate -down -payment-db without -variant: exit %d, want 2 naming -variant; stderr:\n%s", code, stderr)
	}
	env, stdout, stderr = testEnv(nil)
	if code := Execute(context.Background(), env, []string{"migrate", "-down", "-variant", "choreographed", "-payment-db", dsn}); code != 0 {
		t.Fatalf("migrate -down: exit %d; stderr:\n%s", code, stderr)
	}
	if !regexp.MustCompile(`payment\s+payment version 0, outbox version 0, inbox version 0\n`).MatchString(stdout.String()) || strings.Contains(stdout.String(), "orders") {
		t.Errorf("migrate -down output:\n%s", stdout)
	}
}
