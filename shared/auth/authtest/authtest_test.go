package authtest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
)

// The keys of Secret verify the tokens of Keys, each carrying its
// principal; a token of RandomKeys is refused as invalid, and one issued
// more than TTL ago as expired.
func TestKeysAndTokens_CarryTheirPrincipalUnderTheSecret(t *testing.T) {
	keys, err := auth.ParseKeys(authtest.Secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, c := range []struct {
		name  string
		token string
		want  auth.Principal
	}{
		{"operator", authtest.Operator(t, authtest.Keys(t)), auth.Principal{Role: auth.RoleOperator, Subject: authtest.OperatorSubject}},
		{"customer", authtest.Customer(t, authtest.Keys(t), "ada"), auth.Principal{Role: auth.RoleCustomer, Subject: "ada"}},
		{"issued earlier", authtest.TokenAt(t, authtest.Keys(t), auth.Principal{Role: auth.RoleCustomer, Subject: "bob"}, now.Add(-authtest.TTL/2)),
			auth.Principal{Role: auth.RoleCustomer, Subject: "bob"}},
	} {
		if p, err := keys.Verify(c.token, now); err != nil || p != c.want {
			t.Errorf("%s token carries %+v (%v), want %+v", c.name, p, err, c.want)
		}
	}
	if _, err := keys.Verify(authtest.Operator(t, authtest.RandomKeys(t)), now); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("a token of random keys: %v, want %v", err, auth.ErrInvalid)
	}
	expired := authtest.TokenAt(t, authtest.Keys(t), auth.Principal{Role: auth.RoleOperator, Subject: "ops"}, now.Add(-authtest.TTL-time.Minute))
	if _, err := keys.Verify(expired, now); !errors.Is(err, auth.ErrExpired) {
		t.Errorf("a token issued more than TTL ago: %v, want %v", err, auth.ErrExpired)
	}
}
