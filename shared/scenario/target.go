package scenario

import (
	"net/http"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/saga"
)

// Defaults of a Target's optional fields.
const (
	// DefaultFinalWithin bounds how long an order may take to become final
	// once placed, and how long the stack may take to become quiet once
	// every order of a scenario is final. It holds with room to spare
	// for a 200-order burst on either variant while `make test` runs every
	// test package at once on two cores; an idle machine finishes the burst
	// in a few seconds.
	DefaultFinalWithin = 30 * time.Second
	// DefaultBurstOrders is how many orders the burst scenario places.
	DefaultBurstOrders = 200
	// DefaultClientConcurrency is how many requests the suite keeps in
	// flight when it places or polls many orders.
	DefaultClientConcurrency = 16
)

// Target is a running stack under test.
type Target struct {
	Name    string       // "orchestrated" | "choreographed"
	BaseURL string       // e.g. an httptest server's URL, without a trailing slash
	Client  *http.Client // nil: a client with a 60 s timeout and a connection pool sized for the suite
	// FinalWithin bounds how long any order may take to become final once
	// placed, and how long the stack may take to become quiet after that;
	// 0 means DefaultFinalWithin (30 s).
	FinalWithin time.Duration
	// BurstOrders is how many orders the burst scenario places; 0 means
	// DefaultBurstOrders (200).
	BurstOrders int
	// Concurrency is how many requests the suite keeps in flight when it
	// places or polls many orders; 0 means DefaultClientConcurrency (16).
	Concurrency int
	// Saga is the saga the stack runs; nil means saga.Default(). The
	// expected step lists follow from it.
	Saga *saga.Saga
	// StepDeadline is the step deadline the stack runs with
	// (saga.Policy.StepDeadline): FailureScenarios time their outages by
	// it; 0 means saga.DefaultStepDeadline.
	StepDeadline time.Duration
	// Keys, when set, are the keys the stack verifies its bearer tokens
	// with: the suite mints short-lived tokens with them (TokenTTL), an
	// operator's for the set-up endpoints (products, customers, faults)
	// and one for each scenario customer, with which it places, reads,
	// cancels and lists that customer's orders. CheckAccess needs them.
	Keys *auth.Keys
	// OperatorToken is the credential for a stack run elsewhere, whose
	// keys the suite does not hold: every request carries it (an operator
	// may act for any customer). It is ignored when Keys is set. With
	// neither, requests carry no credential: a stack run open.
	OperatorToken string
}

// withDefaults returns tg with every zero optional field set.
func (tg Target) withDefaults() Target {
	tg.BaseURL = strings.TrimRight(tg.BaseURL, "/")
	if tg.FinalWithin <= 0 {
		tg.FinalWithin = DefaultFinalWithin
	}
	if tg.BurstOrders <= 0 {
		tg.BurstOrders = DefaultBurstOrders
	}
	if tg.Concurrency <= 0 {
		tg.Concurrency = DefaultClientConcurrency
	}
	if tg.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = 128
		tr.MaxIdleConnsPerHost = 64
		tg.Client = &http.Client{Timeout: 60 * time.Second, Transport: tr}
	}
	if tg.StepDeadline <= 0 {
		tg.StepDeadline = saga.DefaultStepDeadline
	}
	if tg.Saga == nil {
		tg.Saga = saga.Default()
	}
	if tg.Name == "" {
		tg.Name = tg.BaseURL
	}
	return tg
}
