package allinone

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/apiflag"
	"github.com/ordersaga/ordersaga/deploy/internal/demodata"
	"github.com/ordersaga/ordersaga/shared/auth"
)

// DevSecretFile is the file of the data dir holding the development
// signing secret, when no secret is configured: made on first start (mode
// 0600), read on every later one, so the tokens printed before a restart
// stay valid after it.
const DevSecretFile = "auth-secret"

// DevTokenTTL is how long the tokens the run prints stay valid.
const DevTokenTTL = 7 * 24 * time.Hour

// DevOperator is the subject of the operator token the run prints.
const DevOperator = "operator"

// Credentials are the run's signing keys and the tokens it prints.
type Credentials struct {
	// Keys sign and verify the tokens of both APIs.
	Keys *auth.Keys
	// SecretFlags are the flags that give `ordersaga token` the same
	// secret ("-auth-secret-file data/auth-secret").
	SecretFlags string
	// Created reports a development secret made by this start.
	Created bool
	// Operator is a token of DevOperator; Customer one of the demo
	// customer CustomerID. Both are valid DevTokenTTL from the start.
	Operator   string
	Customer   string
	CustomerID string
}

// credentials returns the run's keys, from AuthSecret, AuthSecretFile or
// else the development secret of the data dir (made when missing), and a
// token of each role.
func (c Config) credentials(now time.Time) (Credentials, error) {
	var cr Credentials
	keys, err := apiflag.Keys(c.AuthSecret, c.AuthSecretFile)
	switch {
	case err != nil:
		return cr, err
	case keys != nil && c.AuthSecretFile != "":
		cr.SecretFlags = "-" + apiflag.SecretFileFlag + " " + c.AuthSecretFile
	case keys != nil:
		cr.SecretFlags = "-" + apiflag.SecretFlag + " <the run's secret>"
	default:
		path := filepath.Join(c.DataDir, DevSecretFile)
		if keys, cr.Created, err = devSecret(path); err != nil {
			return cr, err
		}
		cr.SecretFlags = "-" + apiflag.SecretFileFlag + " " + path
	}
	cr.Keys = keys
	cr.CustomerID = demodata.Customers()[0].ID
	if cr.Operator, err = keys.Issue(auth.Principal{Role: auth.RoleOperator, Subject: DevOperator}, DevTokenTTL, now); err != nil {
		return cr, err
	}
	if cr.Customer, err = keys.Issue(auth.Principal{Role: auth.RoleCustomer, Subject: cr.CustomerID}, DevTokenTTL, now); err != nil {
		return cr, err
	}
	return cr, nil
}

// devSecret returns the keys of the development secret in the file path,
// making the file (mode 0600, a new random secret) when it does not exist;
// created reports that it did.
func devSecret(path string) (keys *auth.Keys, created bool, err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		keys, err := apiflag.ReadSecretFile(path)
		if err != nil {
			return nil, false, fmt.Errorf("the development secret (delete %s for a new one): %w", path, err)
		}
		return keys, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("making the development secret: %w", err)
	}
	secret, err := auth.GenerateSecret()
	if err == nil {
		_, err = f.WriteString(secret + "\n")
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, false, fmt.Errorf("making the development secret: %w", err)
	}
	keys, err = apiflag.ParseSecret(secret)
	if err != nil {
		return nil, false, err
	}
	return keys, true, nil
}
