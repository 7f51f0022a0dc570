package chaos

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/deploy/internal/proctest"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// ordersaga is the binary under test, built once per test binary.
var ordersaga = &proctest.Binary{Package: "github.com/ordersaga/ordersaga/deploy/cmd/ordersaga"}

func TestMain(m *testing.M) {
	code := m.Run()
	ordersaga.Remove()
	os.Exit(code)
}

func TestChoreographed_ServiceKilledOrBrokerDownMidBurst_EveryOrderEndsFinalOnceNothingLostOrDoubled(t *testing.T) {
	skipShort(t)
	t.Parallel()
	runChaos(t, startCluster(t, process.Choreographed, NewBroker(t, "")))
}

func TestOrchestrated_ServiceKilledOrTemporalDownMidBurst_EveryOrderEndsFinalOnceNothingLostOrDoubled(t *testing.T) {
	skipShort(t)
	t.Parallel()
	runChaos(t, startCluster(t, process.Orchestrated, NewTemporal(t, "")))
}

// startCluster starts a cluster of variant v with a process for each role
// (see startClusterOf).
func startCluster(tb testing.TB, v process.Variant, in Infra) *Cluster {
	tb.Helper()
	return startClusterOf(tb, v, in, hosted.AllRoles())
}

// startClusterOf starts a cluster of variant v on infrastructure in, of the
// binary under test, with a process for each of roles (orders, inventory
// and payment among them), the payment database on PostgreSQL, and args on
// top of every process's own arguments.
func startClusterOf(tb testing.TB, v process.Variant, in Infra, roles []hosted.Role, args ...string) *Cluster {
	tb.Helper()
	return StartCluster(tb, v, in, Config{Binary: ordersaga.Path(tb), PaymentDB: sqltest.DSN(tb, sqldb.Postgres), Roles: roles, Args: args})
}

// skipShort skips a chaos test in -short mode: each takes a minute or two.
func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos tests kill and restart processes for a minute or two")
	}
}

// runChaos runs the chaos scenarios on the cluster one after another: a
// warm-up and an undisturbed burst (the baseline), a burst with each
// service's process killed and restarted, and a burst with the
// infrastructure down for outageFor. It logs what each measured.
func runChaos(t *testing.T, c *Cluster) {
	ds := []Disruption{
		Undisturbed("warm_up", "none (first orders)", 4),
		Undisturbed("baseline", "none", burstOrders),
	}
	for _, r := range hosted.AllRoles() {
		ds = append(ds, c.KillRestart(r, burstOrders))
	}
	// The payment database away for longer than the quick retries (see
	// PaymentDBOutage).
	ds = append(ds, c.PaymentDBOutage(dbOutageFor, burstOrders))
	ds = append(ds, c.InfraOutage(outageFor, burstOrders))
	if t := c.infra.callTimeout(); t > 0 {
		// Down for longer than the processes wait for it: the POSTs sent
		// once it is down give up on it, their orders stored without a
		// saga. No POST is let through while it stops, so that the first
		// ones after the strike surely meet it down.
		long := t + outageFor
		ds = append(ds, Disruption{
			Scenario:     c.infra.name() + "_outage_long",
			What:         fmt.Sprintf("%s down %v, restart", c.infra.name(), long),
			Orders:       burstOrders,
			finalWithin:  c.infra.outageBound(),
			gaveUpWithin: reconciledWithin,
			strike: func(tb testing.TB, b *burst) {
				b.hold()
				c.infra.stop()
				b.release()
				time.Sleep(long) // the outage itself
				c.infra.start(tb)
			},
		})
	}
	var ms []Measure
	for _, d := range ds {
		if !t.Run(d.Scenario, func(t *testing.T) { ms = append(ms, RunDisruption(t, c, d)) }) {
			// The cluster may be left broken; later scenarios would only
			// wait out their bounds.
			t.Logf("%s failed: the scenarios after it do not run", d.Scenario)
			break
		}
	}
	t.Logf("%s (%d orders a burst, %d clients):\n%s", c.variant, burstOrders, burstClients, table(ms))
}

// table formats the measures as a text table.
func table(ms []Measure) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "scenario\tdisruption\taccepted/final at strike\tdown\tPOST retries (no answer/503)\tslowest POST\tlast final after back\tgave up (last final after back)\tmedian order\tslowest order\tfirst POST to last final\tbound")
	for _, m := range ms {
		final := "-"
		if m.FinalAtStrike >= 0 {
			final = fmt.Sprint(m.FinalAtStrike)
		}
		at, down, after, gaveUp := "-", "-", "-", "-"
		if m.Down > 0 {
			at = fmt.Sprintf("%d/%s", m.AcceptedAtStrike, final)
			down = m.Down.Round(time.Millisecond).String()
			after = m.AfterBack.Round(time.Millisecond).String()
		}
		if m.GaveUp > 0 {
			gaveUp = fmt.Sprintf("%d (%v)", m.GaveUp, m.GaveUpAfterBack.Round(time.Millisecond))
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d/%d\t%v\t%s\t%s\t%v\t%v\t%v\t%v\n", m.Scenario, m.What, at, down, m.ConnErrors, m.Unavailable,
			m.SlowestPost.Round(time.Millisecond), after, gaveUp, m.MedianOrder.Round(time.Millisecond),
			m.SlowestOrder.Round(time.Millisecond), m.Elapsed.Round(time.Millisecond), m.Bound)
	}
	_ = w.Flush() // writes to a strings.Builder, which cannot fail
	return b.String()
}
