package allinone

import (
	"context"
	"fmt"

	chstack "github.com/ordersaga/ordersaga/choreographed/stack"
	orstack "github.com/ordersaga/ordersaga/orchestrated/stack"
)

// OrchestratedBuilder builds the orchestrated variant (a Temporal saga) on
// the stack's hosted services: the workflow worker, the three services' activity
// workers and the REST API, in this one process.
func OrchestratedBuilder(ctx context.Context, env Env) (Variant, error) {
	s, err := orstack.NewOnHosted(ctx, orstack.Config{
		TemporalHostPort: env.TemporalAddress,
		Namespace:        env.TemporalNamespace,
		FaultInjection:   env.Faults != nil,
		Auth:             env.Auth,
		Limits:           env.Limits,
		Logger:           env.Logger,
		Registry:         env.Registry,
		Now:              env.Now,
		TracerProvider:   env.TracerProvider,
	}, env.Hosted)
	if err != nil {
		return nil, fmt.Errorf("orchestrated variant: %w", err)
	}
	return s, nil
}

// ChoreographedBuilder builds the choreographed variant (Kafka events) on
// the stack's hosted services: every service's relay and consumer and the REST API,
// in this one process.
func ChoreographedBuilder(ctx context.Context, env Env) (Variant, error) {
	s, err := chstack.NewOnHosted(ctx, chstack.Config{
		Brokers:        env.KafkaBrokers,
		FaultInjection: env.Faults != nil,
		Auth:           env.Auth,
		Limits:         env.Limits,
		Logger:         env.Logger,
		Registry:       env.Registry,
		Now:            env.Now,
		TracerProvider: env.TracerProvider,
	}, env.Hosted)
	if err != nil {
		return nil, fmt.Errorf("choreographed variant: %w", err)
	}
	return s, nil
}
