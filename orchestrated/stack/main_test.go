package stack_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ordersaga/ordersaga/orchestrated/stack"
)

// temporalHostPort is the frontend of the one Temporal server the tests of
// this package share; each test gets a namespace of its own on it.
var temporalHostPort string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	srv := temporaltest.NewServer(temporaltest.WithBaseServerOptions(
		temporal.WithDynamicConfigClient(singleNodeTuning()),
		// The server's own metrics cost CPU the tests share with it.
		temporal.WithCustomMetricsHandler(metrics.NoopMetricsHandler),
	))
	defer func() {
		// Stopping logs through a test that no longer exists when it fails;
		// nothing is left to clean up then.
		defer func() { _ = recover() }()
		srv.Stop()
	}()
	temporalHostPort = srv.GetFrontendHostPort()
	return m.Run()
}

// singleNodeTuning is the dynamic config of a one-shard, one-node server:
// history queues polled far more often than 20 reads/s, one partition per
// task queue, shorter long polls, search attributes visible at once.
func singleNodeTuning() dynamicconfig.StaticClient {
	const pollRPS = 10000
	return dynamicconfig.StaticClient{
		dynamicconfig.TransferProcessorMaxPollRPS.Key():             pollRPS,
		dynamicconfig.TimerProcessorMaxPollRPS.Key():                pollRPS,
		dynamicconfig.VisibilityProcessorMaxPollRPS.Key():           pollRPS,
		dynamicconfig.OutboundProcessorMaxPollRPS.Key():             pollRPS,
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():      1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key():     1,
		dynamicconfig.HistoryLongPollExpirationInterval.Key():       5 * time.Second,
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		dynamicconfig.FrontendPersistenceMaxQPS.Key():               10000,
		dynamicconfig.HistoryPersistenceMaxQPS.Key():                45000,
	}
}

// newNamespace registers a namespace for one test, with the saga's search
// attributes, so tests never see each other's workflows or task queues.
func newNamespace(tb testing.TB) string {
	tb.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "test-" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := client.NewNamespaceClient(client.Options{HostPort: temporalHostPort})
	if err != nil {
		tb.Fatalf("namespace client: %v", err)
	}
	defer nc.Close()
	err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        name,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	})
	if err != nil {
		tb.Fatalf("registering namespace %s: %v", name, err)
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: temporalHostPort, Namespace: name})
	if err != nil {
		tb.Fatalf("client of namespace %s: %v", name, err)
	}
	defer c.Close()
	// The namespace is usable once the frontend knows it.
	waitFor(tb, 10*time.Second, fmt.Sprintf("namespace %s to be usable", name), func() bool {
		return stack.EnsureSearchAttributes(ctx, c, name) == nil
	})
	return name
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
