package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/auth"
)

// tokenSecret is the signing secret of the token tests.
const tokenSecret = "a-secret-of-the-token-command-tests"

func TestToken_PrintsATokenOfTheRoleAndSubject_SignedWithTheConfiguredSecret(t *testing.T) {
	keys, err := auth.NewKeys([]byte(tokenSecret))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(tokenSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want auth.Principal
		ttl  time.Duration
	}{
		{"customer, secret by variable", map[string]string{"ORDERSAGA_AUTH_SECRET": tokenSecret},
			[]string{"token", "-role", "customer", "-subject", "ada"}, auth.Principal{Role: auth.RoleCustomer, Subject: "ada"}, DefaultTokenTTL},
		{"operator, secret by flag, own lifetime", nil,
			[]string{"token", "-auth-secret", tokenSecret, "-role", "operator", "-subject", "ops.team", "-ttl", "90m"}, auth.Principal{Role: auth.RoleOperator, Subject: "ops.team"}, 90 * time.Minute},
		{"secret file by variable", map[string]string{"ORDERSAGA_AUTH_SECRET_FILE": file},
			[]string{"token", "-role", "customer", "-subject", "c-42"}, auth.Principal{Role: auth.RoleCustomer, Subject: "c-42"}, DefaultTokenTTL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, stdout, stderr := testEnv(tc.env)
			before := time.Now()
			if code := Execute(context.Background(), env, tc.args); code != 0 {
				t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
			}
			tok := strings.TrimSuffix(stdout.String(), "\n")
			if strings.ContainsAny(tok, " \n") {
				t.Fatalf("stdout %q is not one token on one line", stdout)
			}
			p, err := keys.Verify(tok, time.Now())
			if err != nil || p != tc.want {
				t.Fatalf("the printed token carries %+v (%v), want %+v", p, err, tc.want)
			}
			// Valid for the lifetime asked, not a second more.
			if _, err := keys.Verify(tok, before.Add(tc.ttl-time.Minute)); err != nil {
				t.Errorf("the token is not valid a minute before its lifetime ends: %v", err)
			}
			if _, err := keys.Verify(tok, time.Now().Add(tc.ttl+time.Minute)); err == nil {
				t.Error("the token is still valid a minute after its lifetime")
			}
		})
	}
}

func TestToken_BadCommandLines_AreUsageErrorsSayingWhy(t *testing.T) {
	withSecret := map[string]string{"ORDERSAGA_AUTH_SECRET": tokenSecret}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"no secret", nil, []string{"token", "-role", "customer", "-subject", "ada"}, []string{"-auth-secret", "ORDERSAGA_AUTH_SECRET_FILE", "ordersaga secret"}},
		{"short secret", map[string]string{"ORDERSAGA_AUTH_SECRET": "hidden"}, []string{"token", "-role", "customer", "-subject", "ada"}, []string{"-auth-secret"}},
		{"no role", withSecret, []string{"token", "-subject", "ada"}, []string{"-role", "operator or customer"}},
		{"unknown role", withSecret, []string{"token", "-role", "admin", "-subject", "ada"}, []string{`-role "admin"`}},
		{"no subject", withSecret, []string{"token", "-role", "customer"}, []string{"-subject"}},
		{"bad subject", withSecret, []string{"token", "-role", "customer", "-subject", "a da"}, []string{"-subject"}},
		{"no lifetime", withSecret, []string{"token", "-role", "customer", "-subject", "ada", "-ttl", "0s"}, []string{"-ttl"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, stdout, stderr := testEnv(tc.env)
			if code := Execute(context.Background(), env, tc.args); code != 2 {
				t.Errorf("exit code %d, want 2; stderr:\n%s", code, stderr)
			}
			if stdout.String() != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
			if strings.Contains(stderr.String(), "hidden") {
				t.Errorf("stderr shows the secret: %q", stderr)
			}
		})
	}
}

func TestSecret_PrintsANewSecretEachTime_ThatTheTokenCommandSignsWith(t *testing.T) {
	var secrets []string
	for range 2 {
		env, stdout, stderr := testEnv(nil)
		if code := Execute(context.Background(), env, []string{"secret"}); code != 0 {
			t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
		}
		secrets = append(secrets, strings.TrimSpace(stdout.String()))
	}
	if secrets[0] == secrets[1] || !strings.HasPrefix(secrets[0], "base64:") {
		t.Fatalf("secrets %q: want two different base64: secrets", secrets)
	}
	env, stdout, stderr := testEnv(map[string]string{"ORDERSAGA_AUTH_SECRET": secrets[0]})
	if code := Execute(context.Background(), env, []string{"token", "-role", "operator", "-subject", "ops"}); code != 0 {
		t.Fatalf("token with a made secret: exit code %d; stderr:\n%s", code, stderr)
	}
	keys, err := auth.ParseKeys(secrets[0])
	if err != nil {
		t.Fatal(err)
	}
	if p, err := keys.Verify(strings.TrimSpace(stdout.String()), time.Now()); err != nil || !p.Operator() {
		t.Errorf("the token signed with the made secret: %+v, %v", p, err)
	}
}

func TestHelp_ListsTheCredentialCommands_TokenHelpHidesTheSecret(t *testing.T) {
	env, stdout, _ := testEnv(nil)
	if code := Execute(context.Background(), env, []string{"help"}); code != 0 {
		t.Fatalf("help: exit code %d", code)
	}
	for _, want := range []string{"token", "secret"} {
		if !strings.Contains(stdout.String(), "\n  "+want+" ") {
			t.Errorf("the list of commands lacks %s:\n%s", want, stdout)
		}
	}
	env, _, stderr := testEnv(map[string]string{"ORDERSAGA_AUTH_SECRET": "s3cret-of-the-help-test-32-bytes-long"})
	if code := Execute(context.Background(), env, []string{"token", "-h"}); code != 0 {
		t.Fatalf("token -h: exit code %d", code)
	}
	help := stderr.String()
	for _, want := range []string{"-role", "-subject", "-ttl", "$ORDERSAGA_AUTH_SECRET]", "$ORDERSAGA_AUTH_SECRET_FILE", "Authorization: Bearer"} {
		if !strings.Contains(help, want) {
			t.Errorf("token -h lacks %q:\n%s", want, help)
		}
	}
	if strings.Contains(help, "s3cret") {
		t.Errorf("token -h shows the secret:\n%s", help)
	}
}
