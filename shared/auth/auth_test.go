package auth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/auth"
)

var (
	secretA = []byte("0123456789abcdef0123456789abcdef")
	secretB = []byte("fedcba9876543210fedcba9876543210")
	now     = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
)

func keys(t *testing.T, secrets ...[]byte) *auth.Keys {
	t.Helper()
	k, err := auth.NewKeys(secrets...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKeys_IssueVerify promises that a token carries its principal, stops
// at its expiry, and is refused when signed with another secret or
// tampered with; a rotated key set still verifies the old secret's tokens.
func TestKeys_IssueVerify(t *testing.T) {
	a := keys(t, secretA)
	p := auth.Principal{Role: auth.RoleCustomer, Subject: "ada"}
	tok, err := a.Issue(p, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.Verify(tok, now.Add(59*time.Minute)); err != nil || got != p {
		t.Fatalf("verify before expiry = %+v, %v; want %+v", got, err, p)
	}
	if _, err := a.Verify(tok, now.Add(61*time.Minute)); !errors.Is(err, auth.ErrExpired) {
		t.Errorf("verify after expiry: %v, want ErrExpired", err)
	}
	if _, err := keys(t, secretB).Verify(tok, now); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("verify with another secret: %v, want ErrInvalid", err)
	}
	parts := strings.Split(tok, ".")
	forged := parts[0] + "." + strings.TrimRight(parts[1], "=") + "x." + parts[2]
	if _, err := a.Verify(forged, now); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("verify a tampered token: %v, want ErrInvalid", err)
	}
	if _, err := a.Verify("", now); !errors.Is(err, auth.ErrNoToken) {
		t.Errorf("verify no token: %v, want ErrNoToken", err)
	}
	if _, err := a.Verify("not.a.token", now); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("verify garbage: %v, want ErrInvalid", err)
	}
	rotated := keys(t, secretB, secretA)
	if got, err := rotated.Verify(tok, now); err != nil || got != p {
		t.Errorf("rotated keys verify the old secret's token = %+v, %v; want %+v", got, err, p)
	}
}

// TestKeys_RefusesWhatItCannotSign promises short secrets, unknown roles,
// empty subjects and non-positive lifetimes are errors.
func TestKeys_RefusesWhatItCannotSign(t *testing.T) {
	if _, err := auth.NewKeys([]byte("short")); err == nil {
		t.Error("a 5-byte secret was accepted")
	}
	if _, err := auth.NewKeys(); err == nil {
		t.Error("no secret was accepted")
	}
	k := keys(t, secretA)
	for _, c := range []struct {
		p   auth.Principal
		ttl time.Duration
	}{
		{auth.Principal{Role: "admin", Subject: "x"}, time.Hour},
		{auth.Principal{Role: auth.RoleOperator}, time.Hour},
		{auth.Principal{Role: auth.RoleOperator, Subject: "ops"}, 0},
	} {
		if _, err := k.Issue(c.p, c.ttl, now); err == nil {
			t.Errorf("issue %+v for %v: no error", c.p, c.ttl)
		}
	}
}

// TestPrincipal_Owns promises an operator sees every customer's things and
// a customer only its own.
func TestPrincipal_Owns(t *testing.T) {
	op := auth.Principal{Role: auth.RoleOperator, Subject: "ops"}
	ada := auth.Principal{Role: auth.RoleCustomer, Subject: "ada"}
	if !op.Owns("bob") || !ada.Owns("ada") || ada.Owns("bob") || (auth.Principal{}).Owns("") {
		t.Error("Owns: want operator → all, customer → only its own, nobody → nothing")
	}
}

// TestParseKeys promises the secret encodings round-trip and that a
// generated secret is usable.
func TestParseKeys(t *testing.T) {
	gen, err := auth.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{gen, "hex:" + strings.Repeat("ab", 32), string(secretA), gen + "," + string(secretB)} {
		if _, err := auth.ParseKeys(s); err != nil {
			t.Errorf("ParseKeys(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "base64:!!", "hex:zz", "short"} {
		if _, err := auth.ParseKeys(s); err == nil {
			t.Errorf("ParseKeys(%q): no error", s)
		}
	}
	if got := auth.BearerToken("Bearer abc"); got != "abc" {
		t.Errorf("BearerToken = %q", got)
	}
	if got := auth.BearerToken("Basic abc"); got != "" {
		t.Errorf("BearerToken(Basic) = %q, want none", got)
	}
}

// TestTransport promises the client transport sends the token unless the
// request has its own Authorization header.
func TestTransport(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	c := &http.Client{Transport: &auth.Transport{Token: "tok"}}
	for _, h := range []string{"", "Bearer other"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(seen) != 2 || seen[0] != "Bearer tok" || seen[1] != "Bearer other" {
		t.Errorf("Authorization seen %q, want the transport's token then the request's own", seen)
	}
}
