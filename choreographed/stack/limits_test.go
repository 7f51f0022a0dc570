package stack_test

import (
	"testing"

	"github.com/ordersaga/ordersaga/choreographed/stack"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/scenario"
)

// With MaxWaiting 4 and authentication on, many concurrent POST
// /v1/orders?wait= requests: those past the bound get 503 problem+json
// with Retry-After and place nothing, those within it get their completed
// order, ordinary orders placed meanwhile complete, and a later waiter is
// served again (scenario.CheckWaitBound).
func TestLimits_WaitersPastTheBoundRefusedWhileSagasComplete(t *testing.T) {
	const maxWaiting = 4
	r := startStack(t, "limits", stack.Config{
		Hosted: hosted.Config{Databases: postgresDatabases(t)},
		Limits: httpapi.Limits{MaxWaiting: maxWaiting},
	})
	scenario.CheckWaitBound(t, scenario.Target{Name: "choreographed/limits", BaseURL: "http://" + r.Addr(), FinalWithin: finalWithin, Keys: authtest.Keys(t)}, maxWaiting)
}

// With MaxInFlight 3, slow services and authentication on, a burst of new
// orders: those past the bound get 503 problem+json with Retry-After and
// place nothing while the admitted ones complete; repeats, reads and
// cancels are served at the bound; once the admitted orders are final a
// new order is admitted again, and the in-flight gauge and the refusal
// counter follow (scenario.CheckAdmission).
func TestAdmission_RefusesPastTheBoundThenAdmitsAgain(t *testing.T) {
	const maxInFlight = 3
	r := startStack(t, "admission", stack.Config{
		Hosted: hosted.Config{Databases: postgresDatabases(t)},
		Limits: httpapi.Limits{MaxInFlight: maxInFlight},
	})
	scenario.CheckAdmission(t, scenario.Target{Name: "choreographed/admission", BaseURL: "http://" + r.Addr(), FinalWithin: finalWithin, Keys: authtest.Keys(t)}, maxInFlight)
}
