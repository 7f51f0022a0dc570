package split_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/deploy/internal/proctest"
	"github.com/ordersaga/ordersaga/deploy/kafkadev"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/scenario"
)

// ordersaga is the binary under test, built once per test binary.
var ordersaga = &proctest.Binary{Package: "github.com/ordersaga/ordersaga/deploy/cmd/ordersaga"}

func TestMain(m *testing.M) {
	code := m.Run()
	ordersaga.Remove()
	os.Exit(code)
}

// burstOrders is the size of the suite's burst here: five processes, the
// embedded server and the test share the machine with every other test
// package, and the burst's point (many orders at once through the
// forwarding process) holds at this size.
const burstOrders = 60

func TestOrchestrated_OneProcessPerService_TheWholeAPIAtTheOrdersAddress_PassesTheSuiteAndTheBadInputTable(t *testing.T) {
	skipShort(t)
	t.Parallel()
	runSplit(t, startSplit(t, process.Orchestrated, startTemporal(t)))
}

func TestChoreographed_OneProcessPerService_TheWholeAPIAtTheOrdersAddress_PassesTheSuiteAndTheBadInputTable(t *testing.T) {
	skipShort(t)
	t.Parallel()
	runSplit(t, startSplit(t, process.Choreographed, startBroker(t)))
}

// skipShort skips a split test in -short mode: each runs the whole suite
// on a process per role.
func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("the split tests run the scenario suite on a process per role")
	}
}

// split is one variant as a process per role.
type split struct {
	variant process.Variant
	procs   map[hosted.Role]*proctest.Proc
}

// api is the one address of the split deployment: the orders process's.
func (s *split) api() string { return s.procs[hosted.RoleOrders].URL }

// runSplit runs the scenario suite, the bad-input table and the access
// check through the orders process alone, every process started with
// proctest.Secret: the orders process forwards each request's
// Authorization header to the service process owning it, which verifies
// it with the same secret. Then it checks what the orders process answers
// for a service whose process is gone.
func runSplit(t *testing.T, s *split) {
	tg := scenario.Target{Name: "split " + string(s.variant), BaseURL: s.api(), BurstOrders: burstOrders, Keys: proctest.Keys(t)}
	if !t.Run("suite", func(t *testing.T) { scenario.Run(t, tg) }) {
		return
	}
	if !t.Run("bad_input", func(t *testing.T) { scenario.RunBadInput(t, tg) }) {
		return
	}
	if !t.Run("access", func(t *testing.T) { scenario.CheckAccess(t, tg) }) {
		return
	}
	t.Run("service_processes_verify_tokens", func(t *testing.T) { checkServiceProcessesVerify(t, s) })
	t.Run("faults_reach_each_process", func(t *testing.T) { checkFaultsReachEachProcess(t, s) })
	t.Run("notifications_at_the_orders_address", func(t *testing.T) { checkNotificationsForwarded(t, s) })
	t.Run("a_service_down", func(t *testing.T) { checkServiceDown(t, s) })
}

// checkServiceProcessesVerify checks that the service processes, reached
// directly, verify tokens with the deployment's secret themselves: a
// set-up request without a token is answered 401, with a token signed
// with another secret 401, with a customer's 403, with an operator's
// 200.
func checkServiceProcessesVerify(t *testing.T, s *split) {
	other, err := auth.NewKeys([]byte("another-secret-than-the-deployment's"))
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.Issue(auth.Principal{Role: auth.RoleOperator, Subject: "intruder"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for r, path := range map[hosted.Role]string{hosted.RoleInventory: "/v1/products/split-verify", hosted.RolePayment: "/v1/customers/split-verify"} {
		body := `{"name": "Verify", "price_cents": 100, "stock": 1}`
		if r == hosted.RolePayment {
			body = `{"name": "Verify", "credit_cents": 100}`
		}
		for _, tc := range []struct {
			who   string
			token string
			want  int
		}{
			{"no token", "", http.StatusUnauthorized},
			{"another secret's token", forged, http.StatusUnauthorized},
			{"a customer", proctest.Token(t, auth.RoleCustomer, "split-verify"), http.StatusForbidden},
			{"an operator", proctest.Token(t, auth.RoleOperator, "split-test"), http.StatusOK},
		} {
			if resp, b := doAs(t, tc.token, http.MethodPut, s.procs[r].URL+path, body); resp.StatusCode != tc.want {
				t.Errorf("PUT %s on the %s process as %s: %s %s, want %d", path, r, tc.who, resp.Status, b, tc.want)
			}
		}
	}
}

// checkFaultsReachEachProcess checks that a fault setting sent to the
// orders process lands in the process of the service it names, and only
// there.
func checkFaultsReachEachProcess(t *testing.T, s *split) {
	put(t, s.api()+"/v1/admin/faults", `{"shipping": {"error_rate": 0.25, "latency_ms": 5}}`, http.StatusOK)
	t.Cleanup(func() {
		put(t, s.api()+"/v1/admin/faults", `{"shipping": {"error_rate": 0, "latency_ms": 0}}`, http.StatusOK)
	})
	merged := getFaults(t, s.api())
	for _, r := range []hosted.Role{hosted.RoleInventory, hosted.RolePayment, hosted.RoleShipping} {
		own := getFaults(t, s.procs[r].URL)[string(r)]
		if merged[string(r)] != own {
			t.Errorf("the orders process reports %s as %+v, its process as %+v", r, merged[string(r)], own)
		}
	}
	if got := merged["shipping"]; got.ErrorRate != 0.25 || got.LatencyMS != 5 {
		t.Errorf("shipping's setting is %+v after the PUT", got)
	}
	if got := getFaults(t, s.procs[hosted.RoleInventory].URL)["shipping"]; got != (fault{}) {
		t.Errorf("the inventory process's own shipping injector changed: %+v", got)
	}
}

// checkNotificationsForwarded checks that GET
// /v1/customers/{id}/notifications at the orders address is answered by
// the notification service's process: 200 with a list for the customer
// (as on that process itself) and for an operator, 404 for another
// customer, 401 without a token. (Whether the list holds the customer's
// ended orders is the scenario suite's notification check.)
func checkNotificationsForwarded(t *testing.T, s *split) {
	const customer = "split-notes"
	path := "/v1/customers/" + customer + "/notifications"
	own := proctest.Token(t, auth.RoleCustomer, customer)
	for _, base := range []string{s.api(), s.procs[hosted.RoleNotifications].URL} {
		for _, token := range []string{own, proctest.Token(t, auth.RoleOperator, "split-test")} {
			resp, body := doAs(t, token, http.MethodGet, base+path+"?limit=5", "")
			var page struct {
				Notifications []json.RawMessage `json:"notifications"`
			}
			if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &page) != nil || page.Notifications == nil {
				t.Errorf("GET %s%s: %s %s, want 200 with a notifications list", base, path, resp.Status, body)
			}
		}
	}
	if resp, body := doAs(t, proctest.Token(t, auth.RoleCustomer, "someone-else"), http.MethodGet, s.api()+path, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s as another customer: %s %s, want 404", path, resp.Status, body)
	}
	if resp, body := doAs(t, "", http.MethodGet, s.api()+path, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET %s without a token: %s %s, want 401", path, resp.Status, body)
	}
}

// checkServiceDown stops the payment process and checks that the orders
// process answers its endpoints, and the fault settings, with a 503
// problem naming it, while orders are still listed; then it stops the
// notification service's process, and the orders process answers the
// notifications with a 503 problem naming that service.
func checkServiceDown(t *testing.T, s *split) {
	if err := s.procs[hosted.RolePayment].Stop(); err != nil {
		t.Fatalf("stopping the payment process: %v", err)
	}
	for _, path := range []string{"/v1/customers/ada", "/v1/admin/faults"} {
		resp, body := get(t, s.api()+path)
		var p struct {
			Type   string `json:"type"`
			Status int    `json:"status"`
			Detail string `json:"detail"`
		}
		if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != http.StatusServiceUnavailable ||
			resp.Header.Get("Content-Type") != "application/problem+json" || p.Status != http.StatusServiceUnavailable ||
			!strings.Contains(p.Detail, "payment service") {
			t.Errorf("GET %s with the payment process down: %s %s %s", path, resp.Status, resp.Header.Get("Content-Type"), body)
		}
	}
	if resp, body := get(t, s.api()+"/v1/orders?limit=1"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/orders with the payment process down: %s %s", resp.Status, body)
	}

	if err := s.procs[hosted.RoleNotifications].Stop(); err != nil {
		t.Fatalf("stopping the notifications process: %v", err)
	}
	resp, body := get(t, s.api()+"/v1/customers/ada/notifications")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(string(body), "notifications service") {
		t.Errorf("GET /v1/customers/ada/notifications with the notifications process down: %s %s %s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
}

// startSplit migrates the databases of variant v in a fresh data folder,
// then starts a process per role, each on its own HTTP port with fault
// injection on, the orders process given the others' addresses, and waits
// until every one is ready. Everything stops when t's test ends.
func startSplit(t *testing.T, v process.Variant, infra []string) *split {
	t.Helper()
	bin := ordersaga.Path(t)
	dir := t.TempDir()
	migrate(t, bin, v, dir)
	addrs := map[hosted.Role]string{}
	for _, r := range hosted.AllRoles() {
		addrs[r] = proctest.FreeAddr(t)
	}
	var specs []proctest.Spec
	for _, r := range hosted.AllRoles() {
		args := []string{string(v), string(r), "-data-dir", dir, "-http-addr", addrs[r], "-fault-injection"}
		args = append(args, infra...)
		if r == hosted.RoleOrders {
			for _, peer := range process.UpstreamRoles() {
				args = append(args, "-"+process.UpstreamFlag(peer), "http://"+addrs[peer])
			}
		}
		specs = append(specs, proctest.Spec{Name: string(v) + " " + string(r), Binary: bin, Args: args, Addr: addrs[r]})
	}
	s := &split{variant: v, procs: map[hosted.Role]*proctest.Proc{}}
	for i, p := range proctest.StartAll(t, specs...) {
		s.procs[hosted.AllRoles()[i]] = p
	}
	return s
}

// migrate runs `ordersaga migrate` on the variant's databases in dir, as a
// deployment does before it starts the processes.
func migrate(t *testing.T, bin string, v process.Variant, dir string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "migrate", "-variant", string(v), "-data-dir", dir)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ORDERSAGA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ordersaga migrate: %v\n%s", err, out)
	}
}

// startTemporal starts an embedded Temporal server (in memory) for the
// test and returns the flags that point the processes at it.
func startTemporal(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := temporaldev.Start(ctx, temporaldev.Config{FrontendAddress: "127.0.0.1:0", NoUI: true, Logger: serverLog(t)})
	if err != nil {
		t.Fatalf("starting the Temporal server: %v", err)
	}
	t.Cleanup(srv.Stop)
	return []string{"-temporal-address", srv.FrontendAddress()}
}

// startBroker starts an embedded broker (in memory) for the test and
// returns the flags that point the processes at it.
func startBroker(t *testing.T) []string {
	t.Helper()
	b, err := kafkadev.Start(kafkadev.Config{Address: "127.0.0.1:0", Logger: serverLog(t)})
	if err != nil {
		t.Fatalf("starting the broker: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() }) // never fails
	return []string{"-kafka-brokers", strings.Join(b.Addrs(), ","), "-topic-prefix", "split"}
}

// serverLog keeps what an embedded server logs (warnings and up) and shows
// it when the test failed.
func serverLog(t *testing.T) *slog.Logger {
	t.Helper()
	b := &proctest.Buffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("embedded server log:\n%s", b.String())
		}
	})
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// fault is one service's fault setting as the API shows it.
type fault struct {
	ErrorRate float64 `json:"error_rate"`
	LatencyMS int64   `json:"latency_ms"`
}

// getFaults reads GET /v1/admin/faults at base.
func getFaults(t *testing.T, base string) map[string]fault {
	t.Helper()
	resp, body := get(t, base+"/v1/admin/faults")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/v1/admin/faults: %s %s", base, resp.Status, body)
	}
	var out map[string]fault
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("GET %s/v1/admin/faults: %v: %s", base, err, body)
	}
	return out
}

// get, put and do call the API as an operator (proctest.Token).
func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	return do(t, http.MethodGet, url, "")
}

func put(t *testing.T, url, body string, want int) {
	t.Helper()
	if resp, b := do(t, http.MethodPut, url, body); resp.StatusCode != want {
		t.Fatalf("PUT %s %s: %s %s, want %d", url, body, resp.Status, b, want)
	}
}

func do(t *testing.T, method, url, body string) (*http.Response, []byte) {
	t.Helper()
	return doAs(t, proctest.Token(t, auth.RoleOperator, "split-test"), method, url, body)
}

// doAs sends a request with token as its bearer token (none when empty).
func doAs(t *testing.T, token, method, url, body string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, url, err)
	}
	return resp, b
}
