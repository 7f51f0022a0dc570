package cli

import (
	"context"
	"flag"
	"fmt"
	"regexp"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/apiflag"
	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/shared/auth"
)

func tokenCommand() Command {
	return Command{
		Name:    "token",
		Summary: "print a bearer token for the API: -role operator or customer, -subject the operator's name or the customer's id",
		bind:    bindToken,
	}
}

func secretCommand() Command {
	return Command{
		Name:    "secret",
		Summary: "print a new random secret to sign the API's tokens with (for -auth-secret or a secret file)",
		bind: func(fs *flag.FlagSet, _ envflag.LookupEnv) (runner, error) {
			fs.Usage = usageFunc(fs, fs.Name(),
				"Prints a new random signing secret (32 bytes, base64:…) for -auth-secret, $"+apiflag.SecretEnv+" or",
				"the file of -auth-secret-file. To rotate, list the new secret first and the old one after it",
				"(comma-separated) until the tokens signed with the old one have expired.")
			return printSecret, nil
		},
	}
}

// DefaultTokenTTL is how long a token of `ordersaga token` is valid
// unless -ttl says otherwise.
const DefaultTokenTTL = 24 * time.Hour

// tokenSettings are the flags of token.
type tokenSettings struct {
	secret, secretFile string
	role               string
	subject            string
	ttl                time.Duration
}

// validSubject is what a customer id may be (API.md), and so a subject.
func validSubject(s string) bool {
	return regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`).MatchString(s)
}

// bindToken registers the flags of token: the signing secrets as every
// command serving the API reads them, and the token's principal and
// lifetime (no variables: they differ at every call).
func bindToken(fs *flag.FlagSet, lookupEnv envflag.LookupEnv) (runner, error) {
	s := &tokenSettings{ttl: DefaultTokenTTL}
	fs.Usage = usageFunc(fs, fs.Name()+" -role operator|customer -subject <name or customer id> [-ttl 24h] [flags]",
		"Prints a bearer token signed with the first secret of -auth-secret or -auth-secret-file (the API's),",
		"for a request's header: Authorization: Bearer <token>. An operator may call every endpoint;",
		"a customer places, reads and cancels its own orders and reads its own account.")
	err := envflag.Bind(fs, envflag.Prefix, lookupEnv, apiflag.SecretVars(&s.secret, &s.secretFile)...)
	fs.Var(envflag.String(&s.role), "role", "`role` of the token: operator or customer")
	fs.Var(envflag.String(&s.subject), "subject", "the operator's `name`, or the customer's id (1-64 of A-Z a-z 0-9 . _ -)")
	fs.Var(envflag.Duration(&s.ttl), "ttl", "`duration` the token is valid")
	return func(_ context.Context, env *Env, _ []string) error {
		tok, err := s.issue(time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, tok)
		return nil
	}, err
}

// issue returns the token the settings ask for, issued at now; a setting
// that cannot work is a usage error.
func (s *tokenSettings) issue(now time.Time) (string, error) {
	role := auth.Role(s.role)
	switch {
	case !role.Valid():
		return "", usageErrorf("-role %q: want %s or %s", s.role, auth.RoleOperator, auth.RoleCustomer)
	case !validSubject(s.subject):
		return "", usageErrorf("-subject %q: want the operator's name or the customer's id, 1-64 of A-Z a-z 0-9 . _ -", s.subject)
	case s.ttl <= 0:
		return "", usageErrorf("-ttl %v is not above 0", s.ttl)
	}
	keys, err := apiflag.Keys(s.secret, s.secretFile)
	if err != nil {
		return "", usageErrorf("%v", err)
	}
	if keys == nil {
		return "", usageErrorf("%v", apiflag.NoSecretError())
	}
	tok, err := keys.Issue(auth.Principal{Role: role, Subject: s.subject}, s.ttl, now)
	if err != nil {
		return "", fmt.Errorf("issuing the token: %w", err)
	}
	return tok, nil
}

// printSecret prints a new signing secret.
func printSecret(_ context.Context, env *Env, _ []string) error {
	secret, err := auth.GenerateSecret()
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, secret)
	return nil
}
