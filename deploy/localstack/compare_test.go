package localstack_test

import (
	"testing"

	"github.com/ordersaga/ordersaga/deploy/localstack"
	"github.com/ordersaga/ordersaga/shared/scenario"
)

// TestCompare_BothVariantsEndInTheSameState runs every scenario of the shared
// suite on the orchestrated and the choreographed variant of one all-in-one
// stack (embedded Temporal server and broker, SQLite) and asserts that the
// two end in the same final state: the same statuses, failure reasons and
// steps, and the same stock and credit. The invariants are checked after
// every scenario on each variant.
func TestCompare_BothVariantsEndInTheSameState(t *testing.T) {
	if testing.Short() {
		t.Skip("the comparison runs the whole scenario suite twice")
	}
	cfg := testConfig(t.TempDir())
	cfg.Seed = false
	s, err := localstack.Start(testContext(t), cfg, localstack.Options{
		Orchestrated:  localstack.OrchestratedBuilder,
		Choreographed: localstack.ChoreographedBuilder,
		Logger:        logger(t),
	})
	if err != nil {
		t.Fatalf("starting the stack: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the stack: %v", err)
		}
	})
	scenario.Compare(t,
		scenario.Target{Name: localstack.Orchestrated, BaseURL: s.APIURL(localstack.Orchestrated)},
		scenario.Target{Name: localstack.Choreographed, BaseURL: s.APIURL(localstack.Choreographed)},
	)
}
