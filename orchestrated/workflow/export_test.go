package workflow

import "github.com/ordersaga/ordersaga/shared/saga"

// NewBeforeNotify returns the workflow as it was before the customer
// notification (ChangeNotifyCustomer), for tests that run a worker of that
// code: it issues the commands the code before the change issued, in the
// same order, because the change only added notify at the end of the
// saga, and this skips notify whole: the GetVersion call (which, run for
// the first time, records a version marker and upserts the
// TemporalChangeVersion search attribute) and the activity. The histories
// recorded before the change (testdata/order-*.json) replay under it.
func NewBeforeNotify(g *saga.Saga, p saga.Policy) *Saga {
	w := New(g, p)
	w.beforeNotify = true
	return w
}
