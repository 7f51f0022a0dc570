package stack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/internal/kafkatest"
	"github.com/ordersaga/ordersaga/choreographed/stack"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/scenario"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// wantNote is the notification an order must end with.
type wantNote struct {
	orderID, customer string
	status            domain.Status
	reason            domain.FailureReason
	// tracking and total are the completed order's (checked when set).
	tracking string
	total    int64
}

// noteJSON is a notification as GET /v1/customers/{id}/notifications
// lists it.
type noteJSON struct {
	OrderID        string    `json:"order_id"`
	Status         string    `json:"status"`
	Reason         string    `json:"reason"`
	TrackingNumber string    `json:"tracking_number"`
	TotalCents     int64     `json:"total_cents"`
	Message        string    `json:"message"`
	EndedAt        time.Time `json:"ended_at"`
}

// notes lists a customer's notifications through the API, every page.
func (a api) notes(t *testing.T, customer string) []noteJSON {
	t.Helper()
	var (
		out    []noteJSON
		cursor string
	)
	for {
		path := "/v1/customers/" + customer + "/notifications?limit=200"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		status, b := a.do(t, http.MethodGet, path, nil)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, status, b)
		}
		var page struct {
			Notifications []noteJSON `json:"notifications"`
			NextCursor    string     `json:"next_cursor"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatalf("decoding %s: %v", b, err)
		}
		out = append(out, page.Notifications...)
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
}

// outcomeShop is the products and customers of orders of every outcome,
// set on the services of a stack.
type outcomeShop struct {
	u          string
	mug, rare  string // plenty in stock; none in stock
	rich, poor string
}

// newOutcomeShop sets up the shop on the services of inv (inventory) and
// pay (payment).
func newOutcomeShop(t *testing.T, inv, pay *hosted.Services) *outcomeShop {
	t.Helper()
	ctx := context.Background()
	s := &outcomeShop{u: kafkatest.Unique()}
	s.mug, s.rare, s.rich, s.poor = "mug-"+s.u, "rare-"+s.u, "rich-"+s.u, "poor-"+s.u
	for sku, stock := range map[string]int64{s.mug: 100_000, s.rare: 0} {
		if _, err := inv.Inventory.SetProduct(ctx, inventory.ProductInput{SKU: sku, Name: sku, PriceCents: 900, Stock: stock}); err != nil {
			t.Fatal(err)
		}
	}
	for id, credit := range map[string]int64{s.rich: 1_000_000_000, s.poor: 100} {
		if _, err := pay.Payment.SetCustomer(ctx, payment.CustomerInput{ID: id, Name: id, CreditCents: domain.Cents(credit)}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// outcome is an order that ends a known way without a cancel.
type outcome struct {
	status  domain.Status
	reason  domain.FailureReason
	request func(s *outcomeShop, id string) placeRequest
}

// endings are the outcomes an order reaches without a cancel.
func endings() []outcome {
	req := func(id, customer, country, sku string) placeRequest {
		return placeRequest{OrderID: id, CustomerID: customer, Items: []line{{sku, 1}},
			ShipTo: address{Name: "Ada", Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: country}}
	}
	return []outcome{
		{domain.StatusCompleted, "", func(s *outcomeShop, id string) placeRequest { return req(id, s.rich, "DE", s.mug) }},
		{domain.StatusFailed, domain.ReasonOutOfStock, func(s *outcomeShop, id string) placeRequest { return req(id, s.rich, "DE", s.rare) }},
		{domain.StatusFailed, domain.ReasonPaymentDeclined, func(s *outcomeShop, id string) placeRequest { return req(id, s.poor, "DE", s.mug) }},
		{domain.StatusFailed, domain.ReasonShippingUnavailable, func(s *outcomeShop, id string) placeRequest { return req(id, s.rich, "AQ", s.mug) }},
	}
}

// expectNotes waits until each order of wants has its notification in its
// customer's list, through the API, and fails the test unless each has
// exactly one, as wanted.
func expectNotes(t *testing.T, a api, wants []wantNote, within time.Duration) {
	t.Helper()
	byCustomer := map[string][]wantNote{}
	for _, w := range wants {
		byCustomer[w.customer] = append(byCustomer[w.customer], w)
	}
	deadline := time.Now().Add(within)
	for customer, ws := range byCustomer {
		var list []noteJSON
		for {
			list = a.notes(t, customer)
			missing := slices.ContainsFunc(ws, func(w wantNote) bool {
				return !slices.ContainsFunc(list, func(n noteJSON) bool { return n.OrderID == w.orderID })
			})
			if !missing {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("customer %s has %d notifications, want one for each of %d orders", customer, len(list), len(ws))
			}
			time.Sleep(20 * time.Millisecond)
		}
		for _, w := range ws {
			var got []noteJSON
			for _, n := range list {
				if n.OrderID == w.orderID {
					got = append(got, n)
				}
			}
			if len(got) != 1 {
				t.Errorf("order %s: %d notifications, want 1", w.orderID, len(got))
				continue
			}
			n := got[0]
			if n.Status != string(w.status) || n.Reason != string(w.reason) || n.Message == "" || n.EndedAt.IsZero() || n.EndedAt.After(time.Now()) {
				t.Errorf("order %s: notification %+v, want %s %q", w.orderID, n, w.status, w.reason)
			}
			if w.status == domain.StatusCompleted && (n.TrackingNumber != w.tracking || n.TotalCents != w.total || !strings.Contains(n.Message, w.tracking)) {
				t.Errorf("completed order %s: notification %+v, want tracking %s and total %d", w.orderID, n, w.tracking, w.total)
			}
		}
	}
}

// databases returns a new database of engine d for every role.
func databases(t *testing.T, d sqldb.Dialect) map[hosted.Role]string {
	t.Helper()
	if d == sqldb.Postgres {
		return postgresDatabases(t)
	}
	return hosted.SQLiteDatabases(t.TempDir())
}

// TestNotifications_EveryOutcome_OneNotificationEachThroughTheAPI runs
// the shared notification check (an order of every outcome, one
// notification each, listed to its customer alone) on SQLite and
// PostgreSQL; the notification service added no topic, and its group
// reads the order service's topic alone.
func TestNotifications_EveryOutcome_OneNotificationEachThroughTheAPI(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			r := startStack(t, "notify", stack.Config{Hosted: hosted.Config{Databases: databases(t, d)}})
			scenario.CheckNotifications(t, scenario.Target{Name: "choreographed/" + string(d), BaseURL: "http://" + r.Addr(), Keys: authtest.Keys(t)})

			prefix := r.Topics().Prefix
			if got, want := topicsOf(t, prefix), r.Topics().AllOf(saga.Default()); !sameSet(got, want) {
				t.Errorf("topics of %s: %v, want the saga's %v", prefix, got, want)
			}
			if got := groupTopics(t, prefix+".notifications"); !slices.Equal(got, []string{r.Topics().Of(events.Orders)}) {
				t.Errorf("group %s.notifications reads %v, want the order service's topic alone", prefix, got)
			}
		})
	}
}

// lateOrders is how many orders end before the notification service
// starts in TestNotifications_LateStart….
const lateOrders = 200

// lateWave is how many of them are in flight at once.
const lateWave = 50

// lateCatchUpBound bounds the late notification service's catch-up.
const lateCatchUpBound = time.Minute

// TestNotifications_LateStart_CatchesUpOnTheOrdersThatEndedBeforeItExisted:
// the stack runs without the notification service while lateOrders
// orders end; a process hosting it alone then starts on the same broker
// and databases, and its new consumer group reads the order service's
// topic from the start: every order gets its one notification.
func TestNotifications_LateStart_CatchesUpOnTheOrdersThatEndedBeforeItExisted(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			dbs := databases(t, d)
			withoutNotifications := slices.DeleteFunc(hosted.AllRoles(), func(r hosted.Role) bool { return r == hosted.RoleNotifications })
			r := startStack(t, "late", stack.Config{Hosted: hosted.Config{Roles: withoutNotifications, Databases: dbs}})
			if r.Hosted().Notifications != nil {
				t.Fatal("the stack hosts the notification service")
			}
			a := api{base: "http://" + r.Addr()}
			shop := newOutcomeShop(t, r.Hosted(), r.Hosted())
			var wants []wantNote
			// In waves below the API's bound on orders in flight.
			for i := range lateOrders {
				o := endings()[i%len(endings())]
				req := o.request(shop, fmt.Sprintf("late%d-%s", i, shop.u))
				a.place(t, req)
				wants = append(wants, wantNote{orderID: req.OrderID, customer: req.CustomerID, status: o.status, reason: o.reason})
				if len(wants)%lateWave == 0 || len(wants) == lateOrders {
					for j := len(wants) - 1 - (len(wants)-1)%lateWave; j < len(wants); j++ {
						if o := a.waitFinal(t, wants[j].orderID); o.Status == domain.StatusCompleted {
							wants[j].tracking, wants[j].total = o.TrackingNumber, *o.TotalCents
						}
					}
				}
			}
			if d == sqldb.SQLite {
				path := strings.TrimPrefix(dbs[hosted.RoleNotifications], "sqlite:")
				if _, err := os.Stat(path); !os.IsNotExist(err) {
					t.Fatalf("the notification database %s exists before its service started (%v)", filepath.Base(path), err)
				}
			}

			began := time.Now()
			late, err := start(context.Background(), stack.Config{
				Hosted:      hosted.Config{Roles: []hosted.Role{hosted.RoleNotifications}, Databases: dbs},
				Brokers:     brokers,
				TopicPrefix: r.Topics().Prefix,
				HTTPAddr:    "127.0.0.1:0",
				Auth:        authtest.Keys(t),
				Logger:      logger.With("env", "late-notifications"),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := late.stop(); err != nil {
					t.Errorf("stopping the notification service: %v", err)
				}
			})
			store := late.Hosted().Notifications
			for {
				n, err := store.Count(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if n >= lateOrders {
					break
				}
				if time.Since(began) > lateCatchUpBound {
					t.Fatalf("the late notification service recorded %d of %d notifications in %v", n, lateOrders, lateCatchUpBound)
				}
				time.Sleep(10 * time.Millisecond)
			}
			took := time.Since(began)
			t.Logf("%s: the notification service started after %d orders ended and notified them all in %v (start and group join included)",
				d, lateOrders, took.Round(time.Millisecond))
			expectNotes(t, api{base: "http://" + late.Addr()}, wants, finalWithin)
			if n, err := store.Count(context.Background()); err != nil || n != lateOrders {
				t.Errorf("%d notifications (%v), want %d", n, err, lateOrders)
			}
		})
	}
}

// topicsOf returns the broker's topics named <prefix>.….
func topicsOf(t *testing.T, prefix string) []string {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	meta, err := client.Metadata(context.Background(), &kafka.MetadataRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tp := range meta.Topics {
		if strings.HasPrefix(tp.Name, prefix+".") {
			out = append(out, tp.Name)
		}
	}
	return out
}

// groupTopics returns the topics the members of a consumer group are
// assigned, sorted.
func groupTopics(t *testing.T, group string) []string {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	resp, err := client.DescribeGroups(context.Background(), &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range resp.Groups {
		if g.Error != nil {
			t.Fatalf("group %s: %v", group, g.Error)
		}
		for _, m := range g.Members {
			for _, tp := range m.MemberAssignments.Topics {
				out = append(out, tp.Topic)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// sameSet reports whether a and b hold the same strings.
func sameSet(a, b []string) bool {
	a, b = slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
	return slices.Equal(a, b)
}
