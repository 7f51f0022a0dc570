// Package faults injects transient failures and latency into a service, for
// demos and chaos tests. An injected failure is an errs.Unavailable error,
// which every caller must treat as transient and retry.
package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ordersaga/ordersaga/shared/errs"
)

// ErrInjected marks a failure the injector made up.
var ErrInjected = errors.New("injected fault")

// MaxLatency bounds the latency an injector adds to one call.
const MaxLatency = 10 * time.Second

// Setting is how a service misbehaves: the share of calls that fail, from 0
// to 1, and the latency added to every call.
type Setting struct {
	ErrorRate float64
	Latency   time.Duration
}

// Validate reports a setting out of range.
func (s Setting) Validate() error {
	if s.ErrorRate < 0 || s.ErrorRate > 1 || s.ErrorRate != s.ErrorRate {
		return fmt.Errorf("error rate %v is not from 0 to 1", s.ErrorRate)
	}
	if s.Latency < 0 || s.Latency > MaxLatency {
		return fmt.Errorf("latency %v is not from 0 to %v", s.Latency, MaxLatency)
	}
	return nil
}

// Injector injects the faults of one service. The zero value is not usable;
// a nil *Injector injects nothing. It is safe for concurrent use.
type Injector struct {
	service string
	mu      sync.Mutex
	setting Setting
	rnd     *rand.Rand
}

// New returns an injector for the named service that injects nothing until
// Set is called. seed makes its choices repeatable.
func New(service string, seed uint64) *Injector {
	return &Injector{service: service, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Service returns the name of the service the injector belongs to.
func (in *Injector) Service() string { return in.service }

// Set replaces the setting.
func (in *Injector) Set(s Setting) error {
	if err := s.Validate(); err != nil {
		return errs.Wrap(errs.Invalid, err, fmt.Sprintf("%s faults: %v", in.service, err))
	}
	in.mu.Lock()
	in.setting = s
	in.mu.Unlock()
	return nil
}

// Get returns the current setting.
func (in *Injector) Get() Setting {
	if in == nil {
		return Setting{}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.setting
}

// Inject sleeps for the configured latency, then fails with an
// errs.Unavailable error wrapping ErrInjected at the configured rate. It
// returns early with ctx's error when ctx ends.
func (in *Injector) Inject(ctx context.Context, op string) error {
	if in == nil {
		return nil
	}
	s, fail := in.roll()
	if s.Latency > 0 {
		t := time.NewTimer(s.Latency)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s %s: %w", in.service, op, ctx.Err())
		case <-t.C:
		}
	}
	if fail {
		return errs.Wrap(errs.Unavailable, fmt.Errorf("%s %s: %w", in.service, op, ErrInjected), in.service+" is unavailable")
	}
	return nil
}

// Set is the injectors of a stack's three services, keyed by service name.
type Set map[string]*Injector

// InjectLostReply fails at the configured rate without adding latency. A
// service calls it after its work committed, to simulate a reply lost on the
// way back: the effect happened but the caller sees a transient failure and
// retries, which the operation's idempotency must absorb.
func (in *Injector) InjectLostReply(ctx context.Context, op string) error {
	if in == nil {
		return nil
	}
	if _, fail := in.roll(); fail {
		return errs.Wrap(errs.Unavailable, fmt.Errorf("%s %s: reply lost: %w", in.service, op, ErrInjected), in.service+" is unavailable")
	}
	return nil
}

// roll returns the current setting and whether this call fails.
func (in *Injector) roll() (Setting, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.setting, in.setting.ErrorRate > 0 && in.rnd.Float64() < in.setting.ErrorRate
}
