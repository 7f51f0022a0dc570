package apiflag_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/apiflag"
	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

const (
	oldSecret = "an-old-secret-of-at-least-32-bytes!!"
	newSecret = "a-new-secret-of-at-least-32-bytes!!!"
)

// issue returns a token for ada signed with secret.
func issue(t *testing.T, secret string) string {
	t.Helper()
	k, err := auth.NewKeys([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := k.Issue(auth.Principal{Role: auth.RoleCustomer, Subject: "ada"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestKeys_FromTheFlagOrAFile_VerifyEveryListedSecret_SignWithTheFirst(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	// A mounted secret: one per line, a trailing line end.
	if err := os.WriteFile(file, []byte(newSecret+"\r\n"+oldSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, load := range map[string]func() (*auth.Keys, error){
		"flag": func() (*auth.Keys, error) { return apiflag.Keys(newSecret+", "+oldSecret, "") },
		"file": func() (*auth.Keys, error) { return apiflag.Keys("", file) },
	} {
		t.Run(name, func(t *testing.T) {
			k, err := load()
			if err != nil || k == nil {
				t.Fatalf("Keys: %v, %v", k, err)
			}
			for _, secret := range []string{oldSecret, newSecret} {
				if _, err := k.Verify(issue(t, secret), time.Now()); err != nil {
					t.Errorf("a token signed with a listed secret is refused: %v", err)
				}
			}
			tok, err := k.Issue(auth.Principal{Role: auth.RoleOperator, Subject: "ops"}, time.Hour, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			onlyNew, _ := auth.NewKeys([]byte(newSecret))
			if _, err := onlyNew.Verify(tok, time.Now()); err != nil {
				t.Errorf("a new token is not signed with the first secret: %v", err)
			}
		})
	}
}

func TestKeys_NoneBothOrBad_SaySoWithoutTheSecret(t *testing.T) {
	if k, err := apiflag.Keys("", ""); k != nil || err != nil {
		t.Errorf("no secret: %v, %v; want nil, nil", k, err)
	}
	if _, err := apiflag.Keys(newSecret, "/some/file"); err == nil || !strings.Contains(err.Error(), "give one") {
		t.Errorf("both: %v, want an error saying to give one", err)
	}
	short := "short-s3cret"
	_, err := apiflag.Keys(short, "")
	if err == nil || strings.Contains(err.Error(), short) || !strings.Contains(err.Error(), "-auth-secret") {
		t.Errorf("a short secret: %v; want an error naming the flag, not the secret", err)
	}
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(short), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := apiflag.Keys("", file); err == nil || strings.Contains(err.Error(), short) {
		t.Errorf("a short secret in a file: %v; want an error without the secret", err)
	}
	if _, err := apiflag.Keys("", filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "-auth-secret-file") {
		t.Errorf("a missing file: %v; want an error naming the flag", err)
	}
	for _, want := range []string{"-auth-secret", "ORDERSAGA_AUTH_SECRET_FILE", "ordersaga token", "ordersaga secret"} {
		if !strings.Contains(apiflag.NoSecretError().Error(), want) {
			t.Errorf("the no-secret error %q does not name %s", apiflag.NoSecretError(), want)
		}
	}
}

func TestSecretVars_ReadTheirVariables_HelpHidesTheSecret(t *testing.T) {
	var secret, file string
	fs := flag.NewFlagSet("any", flag.ContinueOnError)
	env := map[string]string{apiflag.SecretEnv: newSecret, apiflag.SecretFileEnv: "/run/secrets/api"}
	if err := envflag.Bind(fs, envflag.Prefix, func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		apiflag.SecretVars(&secret, &file)...); err != nil {
		t.Fatal(err)
	}
	if secret != newSecret || file != "/run/secrets/api" {
		t.Errorf("secret %q, file %q: not read from %s and %s", secret, file, apiflag.SecretEnv, apiflag.SecretFileEnv)
	}
	var help strings.Builder
	fs.SetOutput(&help)
	fs.PrintDefaults()
	if strings.Contains(help.String(), newSecret) {
		t.Errorf("the help shows the secret:\n%s", help.String())
	}
}

func TestLimitProblems_NegativeOrAWriteTimeoutBelowTheLongestWait(t *testing.T) {
	if p := apiflag.LimitProblems(httpapi.DefaultLimits()); len(p) != 0 {
		t.Errorf("the defaults have problems: %v", p)
	}
	if p := apiflag.LimitProblems(httpapi.Limits{}); len(p) != 0 {
		t.Errorf("zero limits (the defaults) have problems: %v", p)
	}
	bad := httpapi.Limits{ReadTimeout: -time.Second, WriteTimeout: 10 * time.Second, MaxRequests: -1, MaxWaiting: -2}
	p := apiflag.LimitProblems(bad)
	text := ""
	for _, e := range p {
		text += e.Error() + "\n"
	}
	for _, want := range []string{"-read-timeout", "-write-timeout", "-max-requests", "-max-waiting"} {
		if !strings.Contains(text, want) {
			t.Errorf("problems do not name %s:\n%s", want, text)
		}
	}
}
