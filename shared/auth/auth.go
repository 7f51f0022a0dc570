// Package auth holds who may call the API: the two roles, the principal a
// request acts as, and the signed bearer tokens (JWT, HS256) that carry
// it. Tokens are issued by the operator's tooling (`ordersaga token`, or
// the all-in-one run for development) and verified by every process that
// serves the API with the same secret. The package knows no transport:
// the HTTP layer reads the Authorization header and asks Verify.
//
// A token's claims: iss "ordersaga", aud "ordersaga-api", sub (the
// customer's id, or the operator's name), role ("operator" or
// "customer"), iat and exp. Tokens are verified with every configured
// secret, so a secret can be rotated: sign with the new one first, keep
// the old one until the tokens it signed have expired.
package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Role is what a principal may do.
type Role string

// The roles.
const (
	// RoleOperator runs the shop: catalog and customer writes, every
	// order, the admin endpoints.
	RoleOperator Role = "operator"
	// RoleCustomer places, reads and cancels its own orders and reads
	// its own account.
	RoleCustomer Role = "customer"
)

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r == RoleOperator || r == RoleCustomer }

// Principal is who a request acts as.
type Principal struct {
	Role Role
	// Subject is the customer's id for RoleCustomer, the operator's name
	// for RoleOperator.
	Subject string
}

// Operator reports whether p acts as an operator.
func (p Principal) Operator() bool { return p.Role == RoleOperator }

// Owns reports whether p may see what belongs to customerID: an operator
// sees everything, a customer only its own.
func (p Principal) Owns(customerID string) bool {
	return p.Operator() || p.Role == RoleCustomer && p.Subject == customerID
}

// MinSecretBytes is the shortest signing secret accepted (HS256 wants a
// key at least as long as its hash).
const MinSecretBytes = 32

// Token claim constants.
const (
	Issuer   = "ordersaga"
	Audience = "ordersaga-api"
)

// ErrNoToken, ErrInvalid and ErrExpired are what Verify fails with.
var (
	ErrNoToken = errors.New("no bearer token")
	ErrInvalid = errors.New("invalid token")
	ErrExpired = errors.New("token expired")
)

// Keys signs and verifies tokens. The zero value is unusable; see NewKeys.
type Keys struct {
	secrets [][]byte // secrets[0] signs; all verify
}

// NewKeys returns keys for the secrets: the first signs new tokens, every
// one verifies. Each must be at least MinSecretBytes long.
func NewKeys(secrets ...[]byte) (*Keys, error) {
	if len(secrets) == 0 {
		return nil, errors.New("auth keys: no secret")
	}
	k := &Keys{}
	for i, s := range secrets {
		if len(s) < MinSecretBytes {
			return nil, fmt.Errorf("auth keys: secret %d is %d bytes, want at least %d", i+1, len(s), MinSecretBytes)
		}
		k.secrets = append(k.secrets, append([]byte(nil), s...))
	}
	return k, nil
}

// claims is a token's payload.
type claims struct {
	Role Role `json:"role"`
	jwt.RegisteredClaims
}

// Issue returns a token for p valid for ttl from now.
func (k *Keys) Issue(p Principal, ttl time.Duration, now time.Time) (string, error) {
	if !p.Role.Valid() {
		return "", fmt.Errorf("issuing a token: unknown role %q", p.Role)
	}
	if p.Subject == "" {
		return "", errors.New("issuing a token: no subject")
	}
	if ttl <= 0 {
		return "", fmt.Errorf("issuing a token: lifetime %v, want more than 0", ttl)
	}
	c := claims{Role: p.Role, RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    Issuer,
		Audience:  jwt.ClaimStrings{Audience},
		Subject:   p.Subject,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(k.secrets[0])
	if err != nil {
		return "", fmt.Errorf("signing a token: %w", err)
	}
	return s, nil
}

// Verify returns the principal a token carries, checked at now against
// every secret: ErrExpired past its expiry, ErrInvalid for anything else
// wrong (signature, algorithm, issuer, audience, role, subject).
func (k *Keys) Verify(token string, now time.Time) (Principal, error) {
	if token == "" {
		return Principal{}, ErrNoToken
	}
	var last error
	for _, secret := range k.secrets {
		var c claims
		_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return secret, nil },
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithIssuer(Issuer), jwt.WithAudience(Audience),
			jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
			jwt.WithTimeFunc(func() time.Time { return now }),
		)
		switch {
		case err == nil:
			if !c.Role.Valid() || c.Subject == "" {
				return Principal{}, fmt.Errorf("%w: role %q, subject %q", ErrInvalid, c.Role, c.Subject)
			}
			return Principal{Role: c.Role, Subject: c.Subject}, nil
		case errors.Is(err, jwt.ErrTokenSignatureInvalid):
			last = err // perhaps signed with another secret
		case errors.Is(err, jwt.ErrTokenExpired):
			return Principal{}, ErrExpired
		default:
			return Principal{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	return Principal{}, fmt.Errorf("%w: %v", ErrInvalid, last)
}

// BearerToken returns the token of an Authorization header value
// ("Bearer <token>"), or "" when there is none.
func BearerToken(header string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// GenerateSecret returns a new random signing secret, encoded as
// ParseSecret reads it.
func GenerateSecret() (string, error) {
	b := make([]byte, MinSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a secret: %w", err)
	}
	return "base64:" + base64.StdEncoding.EncodeToString(b), nil
}

// ParseSecret decodes a configured secret: "base64:<standard base64>",
// "hex:<hex>", or else the text itself.
func ParseSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "base64:"):
		b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "base64:"))
		if err != nil {
			return nil, fmt.Errorf("decoding a base64 secret: %w", err)
		}
		return b, nil
	case strings.HasPrefix(s, "hex:"):
		b, err := hex.DecodeString(strings.TrimPrefix(s, "hex:"))
		if err != nil {
			return nil, fmt.Errorf("decoding a hex secret: %w", err)
		}
		return b, nil
	default:
		return []byte(s), nil
	}
}

// ParseKeys returns the keys of a comma-separated list of secrets (see
// ParseSecret; the first signs).
func ParseKeys(list string) (*Keys, error) {
	var secrets [][]byte
	for _, s := range strings.Split(list, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		b, err := ParseSecret(s)
		if err != nil {
			return nil, err
		}
		secrets = append(secrets, b)
	}
	return NewKeys(secrets...)
}
