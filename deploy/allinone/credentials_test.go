package allinone_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/allinone"
	"github.com/ordersaga/ordersaga/shared/auth"
)

// givenSecret is a secret given to the run instead of its development one.
const givenSecret = "a-secret-given-to-the-all-in-one-run"

func TestStart_GivenSecret_WinsOverTheDevelopmentOne_AndSignsThePrintedTokens(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "api-secret")
	if err := os.WriteFile(secretFile, []byte(givenSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, set := range map[string]func(*allinone.Config){
		"flag": func(c *allinone.Config) { c.AuthSecret = givenSecret },
		"file": func(c *allinone.Config) { c.AuthSecretFile = secretFile },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := fastConfig(t.TempDir())
			set(&cfg)
			s := startStack(t, cfg)
			if _, err := os.Stat(filepath.Join(cfg.DataDir, allinone.DevSecretFile)); !os.IsNotExist(err) {
				t.Errorf("a development secret was made although one was given: %v", err)
			}
			given, err := auth.NewKeys([]byte(givenSecret))
			if err != nil {
				t.Fatal(err)
			}
			cr := s.Credentials()
			for token, want := range map[string]auth.Principal{
				cr.Operator: {Role: auth.RoleOperator, Subject: allinone.DevOperator},
				cr.Customer: {Role: auth.RoleCustomer, Subject: "ada"},
			} {
				if p, err := given.Verify(token, time.Now()); err != nil || p != want {
					t.Errorf("printed token: %+v, %v; want %+v signed with the given secret", p, err, want)
				}
			}
			if cr.CustomerID != "ada" || cr.Created {
				t.Errorf("credentials %+v: want the demo customer ada, no secret made", cr)
			}
			// The APIs verify with the same keys: the operator token reads
			// the fault settings.
			if code := call(t, cr.Operator, http.MethodGet, s.APIURL(allinone.Orchestrated)+"/v1/admin/faults", "", nil); code != http.StatusOK {
				t.Errorf("GET /v1/admin/faults with the printed operator token: %d, want 200", code)
			}
			if want := "ordersaga token -" + map[string]string{"flag": "auth-secret", "file": "auth-secret-file " + secretFile}[name]; !strings.Contains(s.Banner(), want) {
				t.Errorf("the banner does not say how to make more tokens (%q):\n%s", want, s.Banner())
			}
		})
	}
}

func TestStart_DevelopmentSecretUnreadable_FailsNamingTheFile(t *testing.T) {
	cfg := fastConfig(t.TempDir())
	if err := os.WriteFile(filepath.Join(cfg.DataDir, allinone.DevSecretFile), []byte("too-short"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := allinone.Start(testContext(t), cfg, allinone.Options{Logger: logger(t)})
	if err == nil || !strings.Contains(err.Error(), allinone.DevSecretFile) || strings.Contains(err.Error(), "too-short") {
		t.Errorf("Start = %v, want an error naming the secret's file, not the secret", err)
	}
}
