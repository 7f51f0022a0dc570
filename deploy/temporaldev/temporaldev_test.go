package temporaldev_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ordersaga/ordersaga/deploy/temporaldev"
)

func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

// start starts a server on free ports and stops it when the test ends.
func start(tb testing.TB, cfg temporaldev.Config) *temporaldev.Server {
	tb.Helper()
	if cfg.FrontendAddress == "" {
		cfg.FrontendAddress = "127.0.0.1:0"
	}
	if cfg.UIAddress == "" {
		cfg.UIAddress = "127.0.0.1:0"
	}
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{tb}, nil))
	s, err := temporaldev.Start(testContext(tb), cfg)
	if err != nil {
		tb.Fatalf("starting temporal: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// testWriter sends logs to the test's output.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func dial(tb testing.TB, s *temporaldev.Server) client.Client {
	tb.Helper()
	c, err := client.DialContext(testContext(tb), client.Options{HostPort: s.FrontendAddress(), Namespace: s.Namespace()})
	if err != nil {
		tb.Fatalf("dialing temporal: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

func checkSearchAttributes(tb testing.TB, c client.Client, namespace string) {
	tb.Helper()
	resp, err := c.OperatorService().ListSearchAttributes(testContext(tb), &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		tb.Fatalf("listing search attributes: %v", err)
	}
	for _, name := range []string{temporaldev.SearchAttributeCustomerID, temporaldev.SearchAttributeOrderStatus} {
		got, ok := resp.GetCustomAttributes()[name]
		if !ok {
			tb.Errorf("namespace %s lacks search attribute %s (has %v)", namespace, name, resp.GetCustomAttributes())
			continue
		}
		if got != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			tb.Errorf("search attribute %s has type %v, want Keyword", name, got)
		}
	}
}

func TestStart_InMemory_ServesNamespaceWithSearchAttributesAndUI(t *testing.T) {
	s := start(t, temporaldev.Config{})
	ctx := testContext(t)

	if host, port, err := net.SplitHostPort(s.FrontendAddress()); err != nil || host != "127.0.0.1" || port == "0" {
		t.Errorf("frontend address %q is not a concrete loopback address", s.FrontendAddress())
	}
	c := dial(t, s)
	desc, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: temporaldev.DefaultNamespace})
	if err != nil {
		t.Fatalf("describing namespace: %v", err)
	}
	if got := desc.GetNamespaceInfo().GetName(); got != temporaldev.DefaultNamespace {
		t.Errorf("namespace name %q, want %q", got, temporaldev.DefaultNamespace)
	}
	if desc.GetNamespaceInfo().GetState() != enumspb.NAMESPACE_STATE_REGISTERED {
		t.Errorf("namespace state %v, want registered", desc.GetNamespaceInfo().GetState())
	}
	checkSearchAttributes(t, c, temporaldev.DefaultNamespace)

	resp, err := http.Get("http://" + s.UIAddress() + "/")
	if err != nil {
		t.Fatalf("getting the UI: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("UI answered %d, want 200", resp.StatusCode)
	}
	if !strings.Contains(strings.ToLower(string(body)), "<html") {
		t.Errorf("UI page is not HTML: %.200s", body)
	}

	stopped := make(chan struct{})
	go func() { s.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("Stop did not return within 30 s")
	}
	if _, err := net.DialTimeout("tcp", s.FrontendAddress(), time.Second); err == nil {
		t.Errorf("frontend still accepts connections after Stop")
	}
	if _, err := net.DialTimeout("tcp", s.UIAddress(), time.Second); err == nil {
		t.Errorf("UI still accepts connections after Stop")
	}
}

func TestStart_FileBacked_RestartKeepsWorkflowsAndAddsNewSearchAttributes(t *testing.T) {
	file := filepath.Join(t.TempDir(), "temporal", "temporal.db")
	// The first run declares only one of the search attributes; the second
	// run, with the defaults, must add the other to the existing namespace.
	first := start(t, temporaldev.Config{DatabaseFile: file, NoUI: true, SearchAttributes: map[string]enumspb.IndexedValueType{
		temporaldev.SearchAttributeCustomerID: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}})
	ctx := testContext(t)
	c := dial(t, first)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    "order-o-1",
		TaskQueue:             "nobody-polls",
		TypedSearchAttributes: temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword(temporaldev.SearchAttributeCustomerID).ValueSet("ada")),
	}, "OrderWorkflow", "o-1")
	if err != nil {
		t.Fatalf("starting a workflow: %v", err)
	}
	if first.UIAddress() != "" {
		t.Errorf("UI address %q without a UI", first.UIAddress())
	}
	c.Close()
	first.Stop()

	second := start(t, temporaldev.Config{DatabaseFile: file, NoUI: true})
	c2 := dial(t, second)
	checkSearchAttributes(t, c2, temporaldev.DefaultNamespace)
	desc, err := c2.DescribeWorkflowExecution(ctx, "order-o-1", run.GetRunID())
	if err != nil {
		t.Fatalf("describing the workflow after restart: %v", err)
	}
	if got := desc.GetWorkflowExecutionInfo().GetType().GetName(); got != "OrderWorkflow" {
		t.Errorf("workflow type after restart %q, want OrderWorkflow", got)
	}
	if got := desc.GetWorkflowExecutionInfo().GetStatus(); got != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Errorf("workflow status after restart %v, want running", got)
	}
}

func TestStart_FrontendPortTaken_FailsWithoutServing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := temporaldev.Start(testContext(t), temporaldev.Config{FrontendAddress: ln.Addr().String(), NoUI: true})
	if err == nil {
		s.Stop()
		t.Fatal("starting on a taken port succeeded")
	}
	if !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("error %q does not name the address", err)
	}
}

func TestStart_FileBacked_VisibilityInItsOwnFile_ListsWorkflowsAcrossRestarts(t *testing.T) {
	file := filepath.Join(t.TempDir(), "temporal", "temporal.db")
	first := start(t, temporaldev.Config{DatabaseFile: file, NoUI: true})
	if _, err := os.Stat(temporaldev.VisibilityFile(file)); err != nil {
		t.Fatalf("the visibility file of a new database: %v", err)
	}
	ctx := testContext(t)
	c := dial(t, first)
	startTagged(t, c, "order-v-1", "ada")
	waitWorkflowListed(t, c, first.Namespace(), `CustomerId = "ada"`, "order-v-1")
	c.Close()
	first.Stop()

	second := start(t, temporaldev.Config{DatabaseFile: file, NoUI: true})
	c2 := dial(t, second)
	waitWorkflowListed(t, c2, second.Namespace(), `CustomerId = "ada"`, "order-v-1")
	if _, err := c2.DescribeWorkflowExecution(ctx, "order-v-1", ""); err != nil {
		t.Fatalf("describing the workflow after restart: %v", err)
	}
}

func TestStart_FileWithoutVisibilityFile_KeepsItsRecordsInTheMainFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "temporal.db")
	first := start(t, temporaldev.Config{DatabaseFile: file, NoUI: true})
	first.Stop()
	// A database made before visibility had a file of its own.
	if err := os.Remove(temporaldev.VisibilityFile(file)); err != nil {
		t.Fatal(err)
	}

	second := start(t, temporaldev.Config{DatabaseFile: file, NoUI: true})
	if _, err := os.Stat(temporaldev.VisibilityFile(file)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a visibility file appeared beside an older database: %v", err)
	}
	c := dial(t, second)
	startTagged(t, c, "order-l-1", "bo")
	waitWorkflowListed(t, c, second.Namespace(), `CustomerId = "bo"`, "order-l-1")
}

// startTagged starts a workflow nobody runs, tagged with a customer.
func startTagged(tb testing.TB, c client.Client, id, customer string) {
	tb.Helper()
	_, err := c.ExecuteWorkflow(testContext(tb), client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             "nobody-polls",
		TypedSearchAttributes: temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword(temporaldev.SearchAttributeCustomerID).ValueSet(customer)),
	}, "OrderWorkflow", id)
	if err != nil {
		tb.Fatalf("starting workflow %s: %v", id, err)
	}
}

// waitWorkflowListed waits until the query lists the workflow: visibility
// records are written shortly after the workflow changes.
func waitWorkflowListed(tb testing.TB, c client.Client, namespace, query, id string) {
	tb.Helper()
	ctx := testContext(tb)
	var listed []string
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, Query: query})
		if err != nil {
			tb.Fatalf("listing %q: %v", query, err)
		}
		listed = listed[:0]
		for _, e := range resp.GetExecutions() {
			listed = append(listed, e.GetExecution().GetWorkflowId())
		}
		if slices.Contains(listed, id) {
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("%q lists %v, never %s", query, listed, id)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
