// Package apiflag holds the settings every command serving the REST API
// shares: the secrets that sign and verify its bearer tokens (by flag,
// environment variable or file) and its limits (timeouts, requests served
// and waiting at once, orders in flight). The commands that issue tokens
// (`ordersaga token`) and call the API (`ordersaga bench`) read the same
// secret settings.
//
// A secret is never shown: its flag's help hides it (envflag.Secret), and
// no error of this package repeats it.
package apiflag

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

// The flags of the signing secrets; their variables are ORDERSAGA_AUTH_SECRET
// and ORDERSAGA_AUTH_SECRET_FILE.
const (
	SecretFlag     = "auth-secret"
	SecretFileFlag = "auth-secret-file"
)

// SecretEnv and SecretFileEnv are the environment variables of the secret
// flags.
const (
	SecretEnv     = envflag.Prefix + "AUTH_SECRET"
	SecretFileEnv = envflag.Prefix + "AUTH_SECRET_FILE"
)

// SecretVars returns the settings of the signing secrets, bound to secret
// (a comma-separated list) and file (a file holding such a list). Bind
// them with envflag.Prefix, so that every command reads the same
// variables (SecretEnv, SecretFileEnv).
func SecretVars(secret, file *string) []envflag.Var {
	return []envflag.Var{
		{Name: SecretFlag, Usage: "`secrets` signing and verifying the API's bearer tokens, comma-separated: the first signs, every one verifies " +
			"(list the new one first and keep the old one until its tokens expired to rotate); each at least 32 bytes, " +
			"as text, base64:… or hex:… (`ordersaga secret` makes one)", Value: envflag.Secret(secret)},
		{Name: SecretFileFlag, Usage: "`file` holding the secrets of -" + SecretFlag + ", comma- or line-separated " +
			"(a Kubernetes or Compose secret mounted as a file)", Value: envflag.String(file)},
	}
}

// Keys returns the keys of the secrets given, read from file when secret
// is empty; nil and no error when neither is given. Giving both is an
// error.
func Keys(secret, file string) (*auth.Keys, error) {
	switch {
	case secret != "" && file != "":
		return nil, fmt.Errorf("both -%s and -%s are set: give one", SecretFlag, SecretFileFlag)
	case secret != "":
		return ParseSecret(secret)
	case file != "":
		return ReadSecretFile(file)
	}
	return nil, nil
}

// ParseSecret returns the keys of a comma-separated list of secrets (see
// auth.ParseKeys); its error names the flag, never the secret.
func ParseSecret(list string) (*auth.Keys, error) {
	k, err := auth.ParseKeys(list)
	if err != nil {
		return nil, fmt.Errorf("-%s ($%s): %w", SecretFlag, SecretEnv, err)
	}
	return k, nil
}

// ReadSecretFile returns the keys of the secrets in a file: separated by
// commas or line ends, surrounding spaces ignored.
func ReadSecretFile(path string) (*auth.Keys, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-%s: reading the secret file: %w", SecretFileFlag, err)
	}
	list := strings.NewReplacer("\r\n", ",", "\n", ",", "\r", ",").Replace(string(b))
	k, err := auth.ParseKeys(list)
	if err != nil {
		return nil, fmt.Errorf("-%s %s: %w", SecretFileFlag, path, err)
	}
	return k, nil
}

// NoSecretError is the error of a command that needs a signing secret and
// was given none; its message says how to give one and how to make one.
func NoSecretError() error {
	return errors.New("no secret to verify the API's bearer tokens: set -" + SecretFlag + " ($" + SecretEnv + ") or -" +
		SecretFileFlag + " ($" + SecretFileEnv + "); `ordersaga secret` makes one, and `ordersaga token` issues tokens signed with it")
}

// MaxWait is the longest ?wait= of POST /v1/orders (API.md): the write
// timeout must be above it, or a waiting request is cut off.
const MaxWait = 30 * time.Second

// MaxInFlightFlag is the flag of the bound of orders in flight
// (httpapi.Limits.MaxInFlight); its variable is ORDERSAGA_MAX_IN_FLIGHT.
const MaxInFlightFlag = "max-in-flight"

// LimitVars returns the settings of the API's limits, bound to l's fields.
// Set l to httpapi.DefaultLimits() first, so the help shows the defaults.
func LimitVars(l *httpapi.Limits) []envflag.Var {
	return []envflag.Var{
		{Name: "read-header-timeout", Usage: "`duration` a client may take to send a request's headers", Value: envflag.Duration(&l.ReadHeaderTimeout)},
		{Name: "read-timeout", Usage: "`duration` a client may take to send a whole request, body included", Value: envflag.Duration(&l.ReadTimeout)},
		{Name: "write-timeout", Usage: "`duration` a response may take, from the end of the request's headers; above the longest ?wait= (30s)", Value: envflag.Duration(&l.WriteTimeout)},
		{Name: "idle-timeout", Usage: "`duration` a kept-alive connection may wait for its next request", Value: envflag.Duration(&l.IdleTimeout)},
		{Name: "max-requests", Usage: "most `requests` served at once; past it 503 with Retry-After", Value: envflag.Int(&l.MaxRequests)},
		{Name: "max-waiting", Usage: "most POST /v1/orders?wait= `requests` waiting at once; past it 503 with Retry-After", Value: envflag.Int(&l.MaxWaiting)},
		{Name: MaxInFlightFlag, Usage: fmt.Sprintf("most `orders` in flight (admitted by this process and not final yet); "+
			"past it POST /v1/orders of a new order answers 503 with Retry-After and places nothing; "+
			"0: the variant's default (orchestrated %d, choreographed %d)",
			httpapi.DefaultMaxInFlightOrchestrated, httpapi.DefaultMaxInFlightChoreographed), Value: envflag.Int(&l.MaxInFlight)},
	}
}

// LimitProblems reports the limits that cannot work: a negative one (zero
// takes the default), or a write timeout that would cut off a waiting
// request.
func LimitProblems(l httpapi.Limits) []error {
	var out []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"read-header-timeout", l.ReadHeaderTimeout}, {"read-timeout", l.ReadTimeout}, {"write-timeout", l.WriteTimeout}, {"idle-timeout", l.IdleTimeout}} {
		if d.v < 0 {
			out = append(out, fmt.Errorf("-%s %v is negative", d.name, d.v))
		}
	}
	if l.WriteTimeout > 0 && l.WriteTimeout <= MaxWait {
		out = append(out, fmt.Errorf("-write-timeout %v is not above the longest ?wait= (%v): a waiting request would be cut off", l.WriteTimeout, MaxWait))
	}
	if l.MaxRequests < 0 {
		out = append(out, fmt.Errorf("-max-requests %d is negative", l.MaxRequests))
	}
	if l.MaxWaiting < 0 {
		out = append(out, fmt.Errorf("-max-waiting %d is negative", l.MaxWaiting))
	}
	if l.MaxInFlight < 0 {
		out = append(out, fmt.Errorf("-%s %d is negative", MaxInFlightFlag, l.MaxInFlight))
	}
	return out
}
