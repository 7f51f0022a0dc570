package proctest_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/proctest"
	"github.com/ordersaga/ordersaga/shared/auth"
)

// The test binary doubles as the process under test: with
// PROCTEST_HELPER set it serves HTTP on PROCTEST_ADDR instead of testing.
func TestMain(m *testing.M) {
	if mode := os.Getenv("PROCTEST_HELPER"); mode != "" {
		os.Exit(helper(mode, os.Getenv("PROCTEST_ADDR")))
	}
	os.Exit(m.Run())
}

// helper is the process under test. Mode "serve" answers /readyz and
// /env and exits 0 on SIGTERM; "fail-on-term" exits 3 on SIGTERM;
// "exit" prints a line and exits 4 at once.
func helper(mode, addr string) int {
	if mode == "exit" {
		fmt.Println("giving up at once")
		return 4
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/env", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, strings.Join(os.Environ(), "\n")) })
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	fmt.Println("serving on", addr)
	<-ctx.Done()
	_ = srv.Close()
	if mode == "fail-on-term" {
		return 3
	}
	fmt.Println("stopped")
	return 0
}

func spec(t *testing.T, mode string, env ...string) proctest.Spec {
	addr := proctest.FreeAddr(t)
	return proctest.Spec{
		Name:         "helper " + mode,
		Binary:       os.Args[0],
		Env:          append([]string{"PROCTEST_HELPER=" + mode, "PROCTEST_ADDR=" + addr}, env...),
		Addr:         addr,
		ReadyTimeout: 20 * time.Second,
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestStart_WaitsUntilReady_StopEndsItWithStatusZero(t *testing.T) {
	p := proctest.Start(t, spec(t, "serve"))
	if got := get(t, p.URL+"/readyz"); got != "ok" {
		t.Fatalf("GET /readyz after Start: %q", got)
	}
	if p.Exited() {
		t.Fatal("process exited after Start")
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !p.Exited() || !strings.Contains(p.Output(), "stopped") {
		t.Errorf("process did not run its shutdown: exited %v, output %q", p.Exited(), p.Output())
	}
	if err := p.Wait(); err != nil {
		t.Errorf("Wait after a clean stop: %v", err)
	}
}

func TestStop_NonZeroExit_ReportsTheStatus(t *testing.T) {
	p := proctest.Start(t, spec(t, "fail-on-term"))
	err := p.Stop()
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("Stop = %v, want exit status 3", err)
	}
}

func TestKill_EndsAtOnce_RestartServesAgain(t *testing.T) {
	p := proctest.Start(t, spec(t, "serve"))
	p.Kill()
	if err := p.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("Wait after Kill = %v, want killed", err)
	}
	if strings.Contains(p.Output(), "stopped") {
		t.Error("a killed process ran its shutdown")
	}
	again := p.Restart(t)
	if again.Pid() == p.Pid() || again.URL != p.URL {
		t.Errorf("restart: pid %d (was %d), URL %s (was %s)", again.Pid(), p.Pid(), again.URL, p.URL)
	}
	if got := get(t, again.URL+"/readyz"); got != "ok" {
		t.Errorf("restarted process answers %q", got)
	}
}

func TestStartAll_StartsEveryProcess(t *testing.T) {
	procs := proctest.StartAll(t, spec(t, "serve"), spec(t, "serve"), spec(t, "serve"))
	pids := map[int]bool{}
	for _, p := range procs {
		if got := get(t, p.URL+"/readyz"); got != "ok" {
			t.Errorf("%s answers %q", p.URL, got)
		}
		pids[p.Pid()] = true
	}
	if len(pids) != 3 {
		t.Errorf("%d distinct processes, want 3", len(pids))
	}
}

func TestStart_Environment_HasTheSpecsVariablesButNotTheTestsOrdersagaOnes(t *testing.T) {
	t.Setenv("ORDERSAGA_LEAKED", "1")
	t.Setenv("PROCTEST_INHERITED", "1")
	p := proctest.Start(t, spec(t, "serve", "ORDERSAGA_GIVEN=1"))
	env := "\n" + get(t, p.URL+"/env") + "\n"
	for name, want := range map[string]bool{"ORDERSAGA_GIVEN": true, "PROCTEST_INHERITED": true, "ORDERSAGA_LEAKED": false} {
		if got := strings.Contains(env, "\n"+name+"=1\n"); got != want {
			t.Errorf("%s in the process's environment: %v, want %v", name, got, want)
		}
	}
}

func TestStart_Environment_CarriesTheSecretUnlessTheSpecGivesAnother(t *testing.T) {
	t.Setenv(proctest.SecretEnv, "leaked-from-the-test")
	p := proctest.Start(t, spec(t, "serve"))
	env := "\n" + get(t, p.URL+"/env") + "\n"
	if !strings.Contains(env, "\n"+proctest.SecretEnv+"="+proctest.Secret+"\n") || strings.Contains(env, "leaked-from-the-test") {
		t.Errorf("the process's environment does not carry %s=Secret alone:\n%s", proctest.SecretEnv, env)
	}
	own := proctest.Start(t, spec(t, "serve", proctest.SecretEnv+"=another-secret-of-the-test-itself"))
	env = "\n" + get(t, own.URL+"/env") + "\n"
	if !strings.Contains(env, "\n"+proctest.SecretEnv+"=another-secret-of-the-test-itself\n") {
		t.Errorf("the spec's own secret did not win:\n%s", env)
	}
}

func TestTokenAndClient_CarryAPrincipalSignedWithTheSecret(t *testing.T) {
	keys, err := auth.NewKeys([]byte(proctest.Secret))
	if err != nil {
		t.Fatal(err)
	}
	p, err := keys.Verify(proctest.Token(t, auth.RoleCustomer, "ada"), time.Now())
	if err != nil || p != (auth.Principal{Role: auth.RoleCustomer, Subject: "ada"}) {
		t.Errorf("Token carries %+v (%v), want customer ada", p, err)
	}
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got <- auth.BearerToken(r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	resp, err := proctest.Operator(t).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if p, err := keys.Verify(<-got, time.Now()); err != nil || !p.Operator() {
		t.Errorf("Operator's client sent %+v (%v), want an operator", p, err)
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and ends
// the goroutine, as t.Fatalf would.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestStart_ProcessEndsBeforeReady_FailsWithItsOutput(t *testing.T) {
	r := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		proctest.Start(r, spec(t, "exit"))
	}()
	<-done
	if !strings.Contains(r.msg, "ended before it was ready") || !strings.Contains(r.msg, "exit status 4") ||
		!strings.Contains(r.msg, "giving up at once") {
		t.Errorf("Start failed with %q", r.msg)
	}
}

func TestFreeAddr_IsALoopbackAddressToListenOn(t *testing.T) {
	addr := proctest.FreeAddr(t)
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("FreeAddr = %q", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 {
		t.Fatalf("FreeAddr port %q", port)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening on %s: %v", addr, err)
	}
	ln.Close()
}

func TestRun_CommandExitingNonZero_FailsWithItsOutput(t *testing.T) {
	r := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		proctest.Run(r, os.Args[0], []string{"PROCTEST_HELPER=exit"})
	}()
	<-done
	if !strings.Contains(r.msg, "exit status 4") || !strings.Contains(r.msg, "giving up at once") {
		t.Errorf("Run failed with %q", r.msg)
	}
}
