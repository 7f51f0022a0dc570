// Package authtest makes the signing keys and bearer tokens of tests: the
// keys of one fixed test secret, which a test's servers verify with and its
// clients sign with (a child process gets the secret itself, see Secret),
// the keys of a random secret that no server under test holds, and tokens
// of either for any principal.
package authtest

import (
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/auth"
)

// Secret is the fixed signing secret of Keys, written as a process reads
// its configured secret (auth.ParseKeys), so a test can hand it to a child
// process in its environment or flags.
const Secret = "authtest-signing-secret-of-the-api-under-test"

// TTL is how long a token of Token, TokenAt, Operator and Customer stays
// valid from its issue: longer than any test.
const TTL = 12 * time.Hour

// OperatorSubject is the operator's name in the tokens of Operator.
const OperatorSubject = "authtest-operator"

// Keys returns the keys of Secret.
func Keys(tb testing.TB) *auth.Keys {
	tb.Helper()
	k, err := auth.ParseKeys(Secret)
	if err != nil {
		tb.Fatalf("authtest keys: %v", err)
	}
	return k
}

// RandomKeys returns the keys of a new random secret: keys that no server
// of a test holds, so what they sign is refused as not valid.
func RandomKeys(tb testing.TB) *auth.Keys {
	tb.Helper()
	secret, err := auth.GenerateSecret()
	if err != nil {
		tb.Fatalf("authtest random keys: %v", err)
	}
	k, err := auth.ParseKeys(secret)
	if err != nil {
		tb.Fatalf("authtest random keys: %v", err)
	}
	return k
}

// Token returns a token of keys for p, issued now and valid for TTL.
func Token(tb testing.TB, keys *auth.Keys, p auth.Principal) string {
	tb.Helper()
	return TokenAt(tb, keys, p, time.Now())
}

// TokenAt returns a token of keys for p issued at issued and valid for TTL
// from then: for a server with a clock of its own, or, issued more than
// TTL ago, a token that has expired.
func TokenAt(tb testing.TB, keys *auth.Keys, p auth.Principal, issued time.Time) string {
	tb.Helper()
	tok, err := keys.Issue(p, TTL, issued)
	if err != nil {
		tb.Fatalf("authtest token: %v", err)
	}
	return tok
}

// Operator returns a token of keys for the operator OperatorSubject.
func Operator(tb testing.TB, keys *auth.Keys) string {
	tb.Helper()
	return Token(tb, keys, auth.Principal{Role: auth.RoleOperator, Subject: OperatorSubject})
}

// Customer returns a token of keys for the customer customerID.
func Customer(tb testing.TB, keys *auth.Keys, customerID string) string {
	tb.Helper()
	return Token(tb, keys, auth.Principal{Role: auth.RoleCustomer, Subject: customerID})
}
