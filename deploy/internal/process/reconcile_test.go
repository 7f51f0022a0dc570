package process_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/process"
	orstack "github.com/ordersaga/ordersaga/orchestrated/stack"
)

func TestLoadConfig_ReconcileMinAge_DefaultThenEnvironmentThenFlag_AboveZero(t *testing.T) {
	cfg, err := load(process.Orchestrated, nil, "orders", "-data-dir", "/d")
	if err != nil || cfg.ReconcileMinAge != orstack.DefaultReconcileMinAge {
		t.Errorf("default reconcile minimum age %v (%v), want %v", cfg.ReconcileMinAge, err, orstack.DefaultReconcileMinAge)
	}
	env := map[string]string{"ORDERSAGA_RECONCILE_MIN_AGE": "3s"}
	if cfg, err = load(process.Orchestrated, env, "orders", "-data-dir", "/d"); err != nil || cfg.ReconcileMinAge != 3*time.Second {
		t.Errorf("reconcile minimum age from the environment: %v (%v), want 3s", cfg.ReconcileMinAge, err)
	}
	if cfg, err = load(process.Orchestrated, env, "orders", "-data-dir", "/d", "-reconcile-min-age", "1m"); err != nil || cfg.ReconcileMinAge != time.Minute {
		t.Errorf("reconcile minimum age from the flag: %v (%v), want 1m", cfg.ReconcileMinAge, err)
	}
	if _, err = load(process.Orchestrated, nil, "orders", "-data-dir", "/d", "-reconcile-min-age", "0s"); err == nil || !strings.Contains(err.Error(), "reconcile minimum age") {
		t.Errorf("a reconcile minimum age of 0: %v, want it refused", err)
	}
	if _, err = load(process.Choreographed, nil, "orders", "-data-dir", "/d", "-reconcile-min-age", "3s"); err == nil {
		t.Error("the choreographed process accepted -reconcile-min-age, which only the orchestrated one has")
	}
}
