package scenario

import (
	"fmt"
	"sync"
	"time"

	"github.com/ordersaga/ordersaga/shared/auth"
)

// Credentials the suite mints.
const (
	// TokenTTL is how long a token the suite mints is valid. A token is
	// minted again once less than half of that remains, so a long run
	// never sends an expired one.
	TokenTTL = 5 * time.Minute
	// OperatorSubject is the operator's name in the suite's operator
	// tokens.
	OperatorSubject = "scenario-suite"
)

// credentials mints and keeps the suite's tokens for one Target: an
// operator token, and one token per customer. It is safe for concurrent
// use.
type credentials struct {
	keys     *auth.Keys // nil: no token is minted
	operator string     // Target.OperatorToken, used when keys is nil

	mu     sync.Mutex
	tokens map[auth.Principal]mintedToken
}

// mintedToken is a token and when it expires.
type mintedToken struct {
	token   string
	expires time.Time
}

// newCredentials returns the credentials of tg.
func newCredentials(tg Target) *credentials {
	return &credentials{keys: tg.Keys, operator: tg.OperatorToken, tokens: map[auth.Principal]mintedToken{}}
}

// mint returns a token for p valid for at least half of TokenTTL, minting
// one when none is.
func (c *credentials) mint(p auth.Principal) (string, error) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.tokens[p]; ok && t.expires.Sub(now) > TokenTTL/2 {
		return t.token, nil
	}
	tok, err := c.keys.Issue(p, TokenTTL, now)
	if err != nil {
		return "", fmt.Errorf("minting a %s token for %q: %w", p.Role, p.Subject, err)
	}
	c.tokens[p] = mintedToken{token: tok, expires: now.Add(TokenTTL)}
	return tok, nil
}

// operatorToken returns the token of the set-up requests: an operator's,
// or "" on a stack run open.
func (c *credentials) operatorToken() (string, error) {
	if c.keys == nil {
		return c.operator, nil
	}
	return c.mint(auth.Principal{Role: auth.RoleOperator, Subject: OperatorSubject})
}

// customerToken returns the token a customer's own requests carry: its
// own with keys, else the operator token (an operator may act for any
// customer), or "" on a stack run open. An empty customer id gets the
// operator token.
func (c *credentials) customerToken(customerID string) (string, error) {
	if c.keys == nil || customerID == "" {
		return c.operatorToken()
	}
	return c.mint(auth.Principal{Role: auth.RoleCustomer, Subject: customerID})
}

// perCustomer reports whether each customer's requests carry a token of
// its own (the Target has keys), so a customer's lists hold only its
// orders.
func (c *credentials) perCustomer() bool { return c.keys != nil }
