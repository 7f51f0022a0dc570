package stack_test

import (
	"testing"

	"github.com/ordersaga/ordersaga/shared/scenario"
)

// TestOrchestrated_ScenarioSuite runs the scenario suite both variants must
// pass, through the REST API only, against one orchestrated process.
func TestOrchestrated_ScenarioSuite(t *testing.T) {
	p := startProcess(t, newNamespace(t), sqliteDatabases(t))
	tg := scenario.Target{Name: "orchestrated", BaseURL: p.url}
	scenario.Run(t, tg)
	scenario.RunBadInput(t, tg)
}
