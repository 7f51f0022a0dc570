package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/events"
	chstack "github.com/ordersaga/ordersaga/choreographed/stack"
	"github.com/ordersaga/ordersaga/deploy/allinone"
	"github.com/ordersaga/ordersaga/deploy/kafkadev"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// rebuildOrders is how many orders end before the projections are
// rebuilt in TestChoreographedRebuild_…; lateRebuildOrders more are
// placed while the rebuild runs.
const (
	rebuildOrders     = 200
	lateRebuildOrders = 20
)

// gate holds a service's consumer before it handles an event of an
// order, until released.
type gate struct {
	service events.Service
	typ     events.Type
	orderID string
	reached chan struct{}
	release chan struct{}
	reach   sync.Once
	free    sync.Once
}

func (g *gate) open() { g.free.Do(func() { close(g.release) }) }

// waitReached fails the test unless the service reached the gate.
func (g *gate) waitReached(t *testing.T) {
	t.Helper()
	select {
	case <-g.reached:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s never reached %s of order %s", g.service, g.typ, g.orderID)
	}
}

// gates are the gates of a stack, added as a test goes.
type gates struct {
	mu   sync.Mutex
	list []*gate
}

// add puts a gate in force; it opens when the test ends at the latest.
func (gs *gates) add(t *testing.T, service events.Service, typ events.Type, orderID string) *gate {
	g := &gate{service: service, typ: typ, orderID: orderID, reached: make(chan struct{}), release: make(chan struct{})}
	gs.mu.Lock()
	gs.list = append(gs.list, g)
	gs.mu.Unlock()
	t.Cleanup(g.open)
	return g
}

// middleware holds the service's batches holding an event a gate names.
func (gs *gates) middleware(service events.Service) []consumer.Middleware {
	return []consumer.Middleware{func(next consumer.Handler) consumer.Handler {
		return func(ctx context.Context, batch []*consumer.Message) error {
			gs.mu.Lock()
			var held []*gate
			for _, g := range gs.list {
				if g.service == service && slices.ContainsFunc(batch, func(m *consumer.Message) bool {
					return m.Event != nil && m.Event.Type == g.typ && m.Event.OrderID == g.orderID
				}) {
					held = append(held, g)
				}
			}
			gs.mu.Unlock()
			for _, g := range held {
				g.reach.Do(func() { close(g.reached) })
				select {
				case <-g.release:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return next(ctx, batch)
		}
	}}
}

// rebuildStack is a choreographed stack of every service, its consumers
// behind gates, on an embedded broker of its own.
type rebuildStack struct {
	*chstack.Stack
	broker string
	prefix string
	gates  *gates
	u      string // suffix of the test's ids
}

func startRebuildStack(t *testing.T, dbs map[hosted.Role]string) *rebuildStack {
	t.Helper()
	b, err := kafkadev.Start(kafkadev.Config{Address: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	rs := &rebuildStack{broker: b.Addrs()[0], prefix: "rebuilt", gates: &gates{}, u: fmt.Sprint(time.Now().UnixNano())}
	ctx := context.Background()
	s, err := chstack.New(ctx, chstack.Config{
		Hosted: hosted.Config{Databases: dbs, Migrate: true}, Brokers: []string{rs.broker}, TopicPrefix: rs.prefix,
		Middleware: rs.gates.middleware,
	})
	if err != nil {
		t.Fatal(err)
	}
	rs.Stack = s
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("running the stack: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("closing the stack: %v", err)
		}
	})
	n := s.Hosted()
	for sku, stock := range map[string]int64{"mug": 1_000_000, "rare": 0} {
		if _, err := n.Inventory.SetProduct(ctx, inventory.ProductInput{SKU: sku, Name: sku, PriceCents: 700, Stock: stock}); err != nil {
			t.Fatal(err)
		}
	}
	for id, credit := range map[string]int64{"rich": 1_000_000_000, "poor": 100} {
		if _, err := n.Payment.SetCustomer(ctx, payment.CustomerInput{ID: id, Name: id, CreditCents: domain.Cents(credit)}); err != nil {
			t.Fatal(err)
		}
	}
	return rs
}

// place places order i of the outcome i selects: completed, out of
// stock, payment declined, shipping unavailable.
func (rs *rebuildStack) place(t *testing.T, i int) string {
	t.Helper()
	id, err := rs.placeOrder(i)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// placeOrder is place, returning the error.
func (rs *rebuildStack) placeOrder(i int) (string, error) {
	customer, country, sku := "rich", "DE", "mug"
	switch i % 4 {
	case 1:
		sku = "rare"
	case 2:
		customer = "poor"
	case 3:
		country = "AQ"
	}
	id := fmt.Sprintf("o%d-%s", i, rs.u)
	o, err := domain.NewOrder(domain.PlaceOrder{
		OrderID: id, CustomerID: customer, Items: []domain.Item{{SKU: sku, Quantity: 1}},
		ShipTo: domain.Address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: country},
	}, saga.Default().Names(), time.Now())
	if err != nil {
		return "", err
	}
	if _, _, err := rs.Intake().Place(context.Background(), o); err != nil {
		return "", err
	}
	return id, nil
}

// placeCancelled places an order and cancels it while shipping is held at
// its PaymentCompleted.
func (rs *rebuildStack) placeCancelled(t *testing.T) string {
	t.Helper()
	id := fmt.Sprintf("o%d-%s", 0, rs.u+"c")
	g := rs.gates.add(t, events.Shipping, events.PaymentCompleted, id)
	o, err := domain.NewOrder(domain.PlaceOrder{
		OrderID: id, CustomerID: "rich", Items: []domain.Item{{SKU: "mug", Quantity: 1}},
		ShipTo: domain.Address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"},
	}, saga.Default().Names(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rs.Intake().Place(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	g.waitReached(t)
	if _, err := rs.Intake().Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	g.open()
	return id
}

// waitFinal waits until every order is final and returns their statuses.
func (rs *rebuildStack) waitFinal(t *testing.T, ids []string) map[domain.Status]int {
	t.Helper()
	out := map[domain.Status]int{}
	deadline := time.Now().Add(time.Minute)
	for _, id := range ids {
		for {
			o, err := rs.Hosted().Orders.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if st := o.Status(); st.Final() {
				out[st]++
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("order %s is not final after a minute", id)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return out
}

// projections are the rows of both projections, without the columns that
// record when this database wrote them: notifications.recorded_at, the
// timeline's seq (the order rows were written in), and its handled_at of a
// consumed event (when the live service handled it, or a rebuild read it;
// of a published event it is the event's occurred_at, and compared).
type projections struct {
	notifications, customers, timeline []string
}

func (rs *rebuildStack) snapshot(t *testing.T) projections {
	t.Helper()
	dbs := rs.Hosted().DBs
	return projections{
		notifications: rows(t, dbs[hosted.RoleNotifications], `SELECT order_id, customer_id, status, reason, tracking_number, total_cents, message, ended_at FROM notifications ORDER BY order_id`),
		customers:     rows(t, dbs[hosted.RoleNotifications], `SELECT order_id, customer_id FROM order_customers ORDER BY order_id`),
		timeline: rows(t, dbs[hosted.RoleOrders], `SELECT order_id, event_id, event_type, producer, direction, occurred_at,
			CASE WHEN direction = 'published' THEN handled_at ELSE 0 END, outcome FROM order_timeline ORDER BY event_id`),
	}
}

// rows returns each row of the query as its columns joined by "|".
func rows(t *testing.T, db *sqldb.DB, query string) []string {
	t.Helper()
	rs, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var cells []string
		for _, v := range vals {
			cells = append(cells, v.String)
		}
		out = append(out, strings.Join(cells, "|"))
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitQuiet waits until the projections hold a notification of each of
// orders and stop changing (the events that follow an order's end are
// in the timeline too), and returns them.
func (rs *rebuildStack) waitQuiet(t *testing.T, orders int) projections {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	last, since := rs.snapshot(t), time.Now()
	for len(last.notifications) != orders || time.Since(since) < time.Second {
		if time.Now().After(deadline) {
			t.Fatalf("the projections did not settle: %d notifications, want %d", len(last.notifications), orders)
		}
		time.Sleep(50 * time.Millisecond)
		if now := rs.snapshot(t); !now.equal(last) {
			last, since = now, time.Now()
		}
	}
	return last
}

// of returns the rows of the orders ids (each row starts with its order
// id).
func (p projections) of(ids []string) projections {
	keep := func(rows []string) []string {
		return slices.DeleteFunc(slices.Clone(rows), func(r string) bool {
			id, _, _ := strings.Cut(r, "|")
			return !slices.Contains(ids, id)
		})
	}
	return projections{notifications: keep(p.notifications), customers: keep(p.customers), timeline: keep(p.timeline)}
}

func (p projections) equal(q projections) bool {
	return slices.Equal(p.notifications, q.notifications) && slices.Equal(p.customers, q.customers) && slices.Equal(p.timeline, q.timeline)
}

// expectSame fails the test unless got holds the rows of want, row for
// row (with extra rows when subset).
func expectSame(t *testing.T, what string, got, want projections, subset bool) {
	t.Helper()
	for _, c := range []struct {
		name      string
		got, want []string
	}{{"notifications", got.notifications, want.notifications}, {"order_customers", got.customers, want.customers}, {"order_timeline", got.timeline, want.timeline}} {
		var missing []string
		for _, r := range c.want {
			if !slices.Contains(c.got, r) {
				missing = append(missing, r)
			}
		}
		if len(missing) > 0 || !subset && len(c.got) != len(c.want) {
			t.Errorf("%s: %s has %d rows, want %d; %d rows missing, the first %v", what, c.name, len(c.got), len(c.want), len(missing), missing[:min(len(missing), 3)])
		}
	}
}

// rebuildArgs are the command lines locating the stack's projections.
func (rs *rebuildStack) rebuildArgs(projection string, dbArgs []string) []string {
	return append([]string{"choreographed", "rebuild", projection, "-kafka-brokers", rs.broker, "-topic-prefix", rs.prefix}, dbArgs...)
}

// runRebuild runs ordersaga choreographed rebuild through the command
// line and returns its output.
func runRebuild(t *testing.T, args []string) string {
	t.Helper()
	env, stdout, stderr := testEnv(nil)
	if code := Execute(context.Background(), env, args); code != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout.String()
}

// TestChoreographedRebuild_EveryOutcome_RebuiltRowsEqualTheLiveOnes:
// orders of every outcome end on a running stack; `ordersaga
// choreographed rebuild` of the notifications and of the timeline, run
// while the stack keeps running, yields the live rows, row for row. A
// second wave of orders runs during the rebuilds, with the notification
// service held at an OrderCompleted and the order service at a
// ShipmentCreated (both below the rebuild's high-water marks, so both the
// rebuild and the live consumer apply them); once everything settled, the
// projections equal those of a rebuild on the quiet stack.
func TestChoreographedRebuild_EveryOutcome_RebuiltRowsEqualTheLiveOnes(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			var dbs map[hosted.Role]string
			var dbArgs []string
			if d == sqldb.SQLite {
				dir := t.TempDir()
				if err := os.Mkdir(filepath.Join(dir, "choreographed"), 0o755); err != nil {
					t.Fatal(err)
				}
				dbs = hosted.SQLiteDatabases(filepath.Join(dir, "choreographed"))
				dbArgs = []string{"-data-dir", dir}
			} else {
				dbs = map[hosted.Role]string{}
				for _, r := range hosted.AllRoles() {
					dbs[r] = sqltest.DSN(t, d)
				}
				dbArgs = []string{"-orders-db", dbs[hosted.RoleOrders], "-notifications-db", dbs[hosted.RoleNotifications]}
			}
			rs := startRebuildStack(t, dbs)
			var ids []string
			for i := range rebuildOrders {
				ids = append(ids, rs.place(t, i))
			}
			ids = append(ids, rs.placeCancelled(t))
			firstWave := slices.Clone(ids)
			statuses := rs.waitFinal(t, ids)
			if statuses[domain.StatusCompleted] == 0 || statuses[domain.StatusFailed] == 0 || statuses[domain.StatusCancelled] != 1 {
				t.Fatalf("outcomes %v, want every one", statuses)
			}
			live := rs.waitQuiet(t, len(ids))

			// The second wave, two orders held where the live consumers
			// lag behind the rebuild.
			heldNote := fmt.Sprintf("o%d-%s", rebuildOrders, rs.u)
			heldOrder := fmt.Sprintf("o%d-%s", rebuildOrders+4, rs.u)
			notes := rs.gates.add(t, events.Service(hosted.RoleNotifications), events.OrderCompleted, heldNote)
			ids = append(ids, rs.place(t, rebuildOrders))
			notes.waitReached(t)
			orders := rs.gates.add(t, events.Orders, events.ShipmentCreated, heldOrder)
			ids = append(ids, rs.place(t, rebuildOrders+4))
			orders.waitReached(t)
			var (
				g    errgroup.Group
				late []string
			)
			g.Go(func() error {
				for i := rebuildOrders + 8; i < rebuildOrders+8+lateRebuildOrders; i++ {
					id, err := rs.placeOrder(i)
					if err != nil {
						return err
					}
					late = append(late, id)
				}
				return nil
			})
			outs := map[string]string{}
			for _, p := range []string{"notifications", "timeline"} {
				outs[p] = runRebuild(t, rs.rebuildArgs(p, dbArgs))
				t.Logf("%s: rebuild %s with %d orders ended (and %d more placed meanwhile):\n%s", d, p, rebuildOrders+1, lateRebuildOrders+2, outs[p])
			}
			if err := g.Wait(); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, late...)
			notes.open()
			orders.open()
			rs.waitFinal(t, ids)
			settled := rs.waitQuiet(t, len(ids))
			expectSame(t, "the projections after rebuilds during the second wave, against the live ones before it", settled, live, true)

			// A rebuild on the quiet stack: the same rows.
			for _, p := range []string{"notifications", "timeline"} {
				out := runRebuild(t, rs.rebuildArgs(p, dbArgs))
				t.Logf("%s: rebuild %s on the quiet stack:\n%s", d, p, out)
			}
			quiet := rs.snapshot(t)
			expectSame(t, "a rebuild on the quiet stack, against the projections live consumers and rebuilds wrote together", quiet, settled, false)
			expectSame(t, "a rebuild's rows of the first wave, against the live ones", quiet.of(firstWave), live, false)
			for p, want := range map[string]string{
				"notifications": `rebuilt notifications from \d+ events of rebuilt\.orders \(4 partitions, \d+ messages read, \d+ not followed\): \d+ notifications, \d+ order_customers`,
				"timeline":      `rebuilt timeline from \d+ events of rebuilt\.orders, rebuilt\.inventory, rebuilt\.payment, rebuilt\.shipping \(16 partitions.*: \d+ order_timeline`,
			} {
				if !regexp.MustCompile(want).MatchString(outs[p]) {
					t.Errorf("the %s rebuild printed %q, want it to match %q", p, outs[p], want)
				}
			}
		})
	}
}

func TestChoreographedRebuild_CommandLine_NamesItsProjectionAndItsDatabase(t *testing.T) {
	empty := t.TempDir()
	for _, tc := range []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"choreographed", "rebuild"}, 2, "", "name one projection: notifications or timeline"},
		{[]string{"choreographed", "rebuild", "orders"}, 2, "", `unknown projection "orders"`},
		{[]string{"choreographed", "rebuild", "notifications", "timeline"}, 2, "", "name one projection"},
		{[]string{"choreographed", "rebuild", "-h"}, 0, "", "Projections:"},
		{[]string{"choreographed", "rebuild", "timeline", "-data-dir", empty}, 1, "", "no orders database at " + filepath.Join(empty, "choreographed", "orders.db")},
		{[]string{"help"}, 0, "choreographed rebuild", ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			env, stdout, stderr := testEnv(nil)
			if got := Execute(context.Background(), env, tc.args); got != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", got, tc.code, stderr)
			}
			if !strings.Contains(stdout.String(), tc.inStdout) || !strings.Contains(stderr.String(), tc.inStderr) {
				t.Errorf("stdout %q, stderr %q; want %q and %q in them", stdout, stderr, tc.inStdout, tc.inStderr)
			}
		})
	}
	var paths []string
	for _, l := range Leaves(Commands()) {
		paths = append(paths, l.Path)
	}
	if !slices.Contains(paths, "choreographed") || !slices.Contains(paths, "choreographed rebuild") {
		t.Errorf("the commands that run are %v, want choreographed and choreographed rebuild among them", paths)
	}
}

// allInOneOrder places an order on the choreographed API of an
// all-in-one stack and returns its final status.
func allInOneOrder(t *testing.T, s *allinone.Stack, id, customer string) domain.Status {
	t.Helper()
	base := s.APIURL(allinone.Choreographed)
	body := fmt.Sprintf(`{"order_id":%q,"customer_id":%q,"items":[{"sku":"mug","quantity":1}],`+
		`"ship_to":{"name":"Ada","line1":"1 Main St","city":"Berlin","postal_code":"10115","country":"DE"}}`, id, customer)
	if code, b := apiCall(t, s, http.MethodPost, base+"/v1/orders", body); code != http.StatusAccepted {
		t.Fatalf("POST /v1/orders %s: %d %s", id, code, b)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		code, b := apiCall(t, s, http.MethodGet, base+"/v1/orders/"+id, "")
		var o struct {
			Status domain.Status `json:"status"`
		}
		if code != http.StatusOK || json.Unmarshal(b, &o) != nil {
			t.Fatalf("GET /v1/orders/%s: %d %s", id, code, b)
		}
		if o.Status.Final() {
			return o.Status
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s is %s after a minute", id, o.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// apiCall sends a request with the stack's operator token and returns the
// status and body.
func apiCall(t *testing.T, s *allinone.Stack, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+s.Credentials().Operator)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestChoreographedRebuild_AfterAnAllInOneRestart_SeesTheOrdersOfBefore:
// the all-in-one run keeps the embedded broker's log in its data dir
// (<data-dir>/kafka), so after a restart a rebuild with the command's
// defaults for that layout still reads the events of the orders placed
// before it: their notifications and timelines come back. (The
// orchestrated variant serves its API alone here: the test is about the
// choreographed one.)
func TestChoreographedRebuild_AfterAnAllInOneRestart_SeesTheOrdersOfBefore(t *testing.T) {
	dir := t.TempDir()
	cfg := allinone.DefaultConfig()
	cfg.DataDir = dir
	cfg.OrchestratedAddr, cfg.ChoreographedAddr, cfg.KafkaListen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.TemporalAddress = "127.0.0.1:1"
	cfg.KafkaPartitions = 2
	start := func() *allinone.Stack {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, err := allinone.Start(ctx, cfg, allinone.Options{Choreographed: allinone.ChoreographedBuilder, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	u := fmt.Sprint(time.Now().UnixNano())
	before := map[string]domain.Status{}
	s := start()
	for i, customer := range []string{"ada", "ada", "bob"} { // bob's credit pays for no mug
		id := fmt.Sprintf("before%d-%s", i, u)
		before[id] = allInOneOrder(t, s, id, customer)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(filepath.Join(dir, "kafka")); err != nil || len(entries) == 0 {
		t.Fatalf("the broker's log folder %s: %v, %d entries", filepath.Join(dir, "kafka"), err, len(entries))
	}

	again := start()
	after := "after-" + u
	if st := allInOneOrder(t, again, after, "ada"); st != domain.StatusCompleted {
		t.Fatalf("order placed after the restart is %s", st)
	}
	for _, p := range []string{"notifications", "timeline"} {
		out := runRebuild(t, []string{"choreographed", "rebuild", p, "-data-dir", dir, "-kafka-brokers", again.KafkaBrokers()[0]})
		t.Logf("rebuild %s after the restart:\n%s", p, out)
	}

	base := again.APIURL(allinone.Choreographed)
	noted := map[string]string{}
	for _, customer := range []string{"ada", "bob"} {
		code, b := apiCall(t, again, http.MethodGet, base+"/v1/customers/"+customer+"/notifications?limit=200", "")
		var page struct {
			Notifications []struct {
				OrderID string `json:"order_id"`
				Status  string `json:"status"`
			} `json:"notifications"`
		}
		if code != http.StatusOK || json.Unmarshal(b, &page) != nil {
			t.Fatalf("notifications of %s: %d %s", customer, code, b)
		}
		for _, n := range page.Notifications {
			noted[n.OrderID] = n.Status
		}
	}
	for id, st := range before {
		if noted[id] != string(st) {
			t.Errorf("order %s placed before the restart ended %s; its rebuilt notification says %q", id, st, noted[id])
		}
		code, b := apiCall(t, again, http.MethodGet, base+"/v1/orders/"+id+"/timeline", "")
		if code != http.StatusOK || !strings.Contains(string(b), `"order_placed"`) || !strings.Contains(string(b), `"order_final"`) {
			t.Errorf("rebuilt timeline of order %s placed before the restart: %d %s", id, code, b)
		}
	}
	if noted[after] != string(domain.StatusCompleted) {
		t.Errorf("the order placed after the restart has notification %q", noted[after])
	}
}
