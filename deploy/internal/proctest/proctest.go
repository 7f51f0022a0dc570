// Package proctest runs commands as operating-system processes for tests:
// it builds a main package once, starts processes of it with their own
// arguments and environment, waits until each answers GET /readyz, and
// stops them with SIGTERM or kills them with SIGKILL, keeping what they
// printed for the test's log. Every process gets the signing secret Secret,
// so a test calls the API with a token of Token or a client of Client.
package proctest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/freeport"
	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/auth/authtest"
)

// Secret is the signing secret of the API's bearer tokens that every
// process Start, StartAll and Run start gets as ORDERSAGA_AUTH_SECRET,
// unless its environment sets another: the secret of authtest.Keys.
const Secret = authtest.Secret

// SecretEnv is the variable carrying Secret.
const SecretEnv = "ORDERSAGA_AUTH_SECRET"

// Keys returns the keys of Secret: what a test gives the scenario suite
// (scenario.Target.Keys) to mint its own tokens.
func Keys(tb testing.TB) *auth.Keys {
	tb.Helper()
	return authtest.Keys(tb)
}

// Token returns a bearer token signed with Secret for the principal of
// role and subject (a customer's id, or an operator's name), valid for
// authtest.TTL: longer than any test.
func Token(tb testing.TB, role auth.Role, subject string) string {
	tb.Helper()
	return authtest.Token(tb, Keys(tb), auth.Principal{Role: role, Subject: subject})
}

// Client returns an HTTP client that sends a token of Token for role and
// subject with every request (auth.Transport over a clone of
// http.DefaultTransport); it has no timeout of its own.
func Client(tb testing.TB, role auth.Role, subject string) *http.Client {
	tb.Helper()
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 64
	tb.Cleanup(base.CloseIdleConnections)
	return &http.Client{Transport: &auth.Transport{Token: Token(tb, role, subject), Base: base}}
}

// Operator returns a Client of an operator.
func Operator(tb testing.TB) *http.Client {
	tb.Helper()
	return Client(tb, auth.RoleOperator, "proctest-operator")
}

// Defaults of Spec.
const (
	DefaultReadyTimeout = 60 * time.Second
	DefaultStopTimeout  = 30 * time.Second
)

// Build compiles the main package pkg (an import path) into dir and
// returns the binary's path. The binary is stripped of its symbol table
// and debug information, which halves the link time; stack traces keep
// their function names and lines.
func Build(ctx context.Context, pkg, dir string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building %s: %w", pkg, err)
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, goTool, "build", "-ldflags=-s -w", "-o", out, pkg)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building %s: %w\n%s", pkg, err, output.String())
	}
	return out, nil
}

// Binary builds a main package on first use, once per test binary, into a
// temporary folder that Remove deletes. A test binary keeps one in a
// variable and calls Remove from TestMain.
type Binary struct {
	// Package is the main package's import path.
	Package string

	once sync.Once
	dir  string
	path string
	err  error
}

// Path returns the binary's path, building it on the first call; it fails
// tb when the build fails.
func (b *Binary) Path(tb testing.TB) string {
	tb.Helper()
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "proctest-"); b.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		b.path, b.err = Build(ctx, b.Package, b.dir)
	})
	if b.err != nil {
		tb.Fatalf("%v", b.err)
	}
	return b.path
}

// Remove deletes the built binary.
func (b *Binary) Remove() {
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}

// FreeAddr returns 127.0.0.1:<a free port>, for a process's HTTP server.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	port, err := freeport.Get("127.0.0.1")
	if err != nil {
		tb.Fatalf("%v", err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// Spec says how to start a process.
type Spec struct {
	// Name names the process in messages ("choreographed payment").
	Name string
	// Binary is the program; Args its arguments.
	Binary string
	Args   []string
	// Env (KEY=value) is added to the test's environment, from which every
	// ORDERSAGA_ variable is removed first, so the process sees only the
	// settings the test gives it, and SecretEnv=Secret (which Env may
	// override).
	Env []string
	// Addr is the host:port the process serves HTTP on (the test passes it
	// in Args or Env too). The process is ready once GET /readyz there
	// answers 200.
	Addr string
	// ReadyTimeout bounds the wait for readiness (DefaultReadyTimeout).
	ReadyTimeout time.Duration
}

// Proc is a running (or ended) process.
type Proc struct {
	// URL is the base URL of the process's HTTP server.
	URL string

	spec    Spec
	cmd     *exec.Cmd
	out     *Buffer
	done    chan struct{} // closed when the process ended
	waitErr error         // how it ended; read after done
}

// Start starts the process and waits until it is ready; it fails tb when
// the process ends or is not ready in time. The process is killed when the
// test ends, if it still runs; what it printed is logged when the test
// failed.
func Start(tb testing.TB, spec Spec) *Proc {
	tb.Helper()
	p := launch(tb, spec)
	p.WaitReady(tb)
	return p
}

// StartAll starts the processes at once and waits until every one is
// ready.
func StartAll(tb testing.TB, specs ...Spec) []*Proc {
	tb.Helper()
	procs := make([]*Proc, len(specs))
	for i, s := range specs {
		procs[i] = launch(tb, s)
	}
	for _, p := range procs {
		p.WaitReady(tb)
	}
	return procs
}

// Restart starts a new process as p was started, once p has ended (after
// Kill or Stop), and waits until it is ready.
func (p *Proc) Restart(tb testing.TB) *Proc {
	tb.Helper()
	if !p.Exited() {
		tb.Fatalf("%s: restarting a process that still runs", p.spec.Name)
	}
	return Start(tb, p.spec)
}

// Run runs a command to its end, such as `ordersaga migrate` before the
// processes start, with the environment a process of Start gets (the
// test's without its ORDERSAGA_ variables, plus Secret and env); it fails tb when the
// command does not exit 0 within DefaultStopTimeout, and returns what it
// printed.
func Run(tb testing.TB, binary string, env []string, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultStopTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %s: %v; output:\n%s", filepath.Base(binary), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// launch starts the process without waiting for it to be ready.
func launch(tb testing.TB, spec Spec) *Proc {
	tb.Helper()
	if spec.Name == "" {
		spec.Name = filepath.Base(spec.Binary) + " " + strings.Join(spec.Args, " ")
	}
	if spec.ReadyTimeout <= 0 {
		spec.ReadyTimeout = DefaultReadyTimeout
	}
	cmd := exec.Command(spec.Binary, spec.Args...)
	cmd.Env = append(environ(), spec.Env...)
	out := &Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	// Output still flowing from a descendant must not hold Wait forever.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting %s: %v", spec.Name, err)
	}
	p := &Proc{URL: "http://" + spec.Addr, spec: spec, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		if !p.Exited() {
			p.Kill()
		}
		if tb.Failed() {
			tb.Logf("output of %s (pid %d):\n%s", spec.Name, cmd.Process.Pid, p.Output())
		}
	})
	return p
}

// environ returns the test's environment without its ORDERSAGA_
// variables, plus SecretEnv=Secret. A variable given again later in a
// command's environment wins (os/exec keeps the last).
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ORDERSAGA_") {
			env = append(env, kv)
		}
	}
	return append(env, SecretEnv+"="+Secret)
}

// WaitReady waits until GET /readyz answers 200; it fails tb when the
// process ends first or is not ready within the spec's ReadyTimeout.
func (p *Proc) WaitReady(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(p.spec.ReadyTimeout)
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for {
		resp, err := client.Get(p.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-p.done:
			tb.Fatalf("%s ended before it was ready (%v); output:\n%s", p.spec.Name, p.waitErr, p.Output())
		case <-time.After(25 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s not ready after %v (GET /readyz: %s); output:\n%s", p.spec.Name, p.spec.ReadyTimeout, last, p.Output())
		}
	}
}

// Stop sends SIGTERM and waits for the process to end, up to
// DefaultStopTimeout (then it kills it). It returns nil when the process
// exited with status 0, else an error with how it ended.
func (p *Proc) Stop() error {
	if p.Exited() {
		return p.result()
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: sending SIGTERM: %w", p.spec.Name, err)
	}
	select {
	case <-p.done:
		return p.result()
	case <-time.After(DefaultStopTimeout):
		p.Kill()
		return fmt.Errorf("%s: still running %v after SIGTERM; killed", p.spec.Name, DefaultStopTimeout)
	}
}

// Kill kills the process with SIGKILL, as a crash would end it, and waits
// until it has ended.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Wait waits until the process ends and returns nil when it exited with
// status 0, else an error with how it ended.
func (p *Proc) Wait() error {
	<-p.done
	return p.result()
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Pid returns the process's ID.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Output returns what the process printed so far, stdout and stderr
// interleaved.
func (p *Proc) Output() string { return p.out.String() }

func (p *Proc) result() error {
	if p.waitErr != nil {
		return fmt.Errorf("%s: %w", p.spec.Name, p.waitErr)
	}
	return nil
}

// Buffer collects output (a process's, a logger's); it is safe for a
// writer and readers at once.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
