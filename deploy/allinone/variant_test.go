package allinone_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/allinone"
	"github.com/ordersaga/ordersaga/shared/hosted"
)

// fakeVariant records how the stack drives a variant.
type fakeVariant struct {
	env      allinone.Env
	runErr   error // what Run returns once started
	mu       sync.Mutex
	events   []string
	runStart chan struct{}
}

func (v *fakeVariant) record(e string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.events = append(v.events, e)
}

func (v *fakeVariant) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Variant", v.env.Name)
		if r.URL.Path == "/healthz" {
			return // 200
		}
		w.WriteHeader(http.StatusTeapot)
	})
}

func (v *fakeVariant) Run(ctx context.Context) error {
	close(v.runStart)
	if v.runErr != nil {
		return v.runErr
	}
	<-ctx.Done()
	// The hosted services are still open while the variant stops.
	if err := v.env.Hosted.Ping(context.Background()); err != nil {
		v.record("node closed before Run returned")
	}
	v.record("run returned")
	return nil
}

func (v *fakeVariant) Close() error {
	v.record("closed")
	return nil
}

// fastConfig runs the stack without embedded infrastructure: the external
// addresses are only handed to the variants.
func fastConfig(dir string) allinone.Config {
	cfg := testConfig(dir)
	cfg.TemporalAddress = "127.0.0.1:1"
	cfg.KafkaBrokers = []string{"127.0.0.1:2"}
	return cfg
}

func TestStack_PluggedVariant_GetsEnvServesItsHandlerAndStopsBeforeItsNode(t *testing.T) {
	fake := &fakeVariant{runStart: make(chan struct{})}
	s, err := allinone.Start(testContext(t), fastConfig(t.TempDir()), allinone.Options{
		Logger: logger(t),
		Orchestrated: func(_ context.Context, env allinone.Env) (allinone.Variant, error) {
			fake.env = env
			return fake, nil
		},
	})
	if err != nil {
		t.Fatalf("starting: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })

	env := fake.env
	if env.Name != allinone.Orchestrated || env.Hosted == nil || env.Hosted.Inventory == nil || env.Hosted.Notifications == nil ||
		env.Registry == nil || env.Logger == nil || env.Now == nil {
		t.Fatalf("incomplete env: %+v", env)
	}
	if env.TemporalAddress != "127.0.0.1:1" || env.TemporalNamespace != "default" || len(env.KafkaBrokers) != 1 || env.KafkaBrokers[0] != "127.0.0.1:2" {
		t.Errorf("env infrastructure: temporal %q/%q, kafka %v", env.TemporalAddress, env.TemporalNamespace, env.KafkaBrokers)
	}
	if env.Faults == nil || env.Faults["payment"] == nil {
		t.Errorf("env faults %v with fault injection on", env.Faults)
	}
	if len(env.HostedConfig.Databases) != len(hosted.AllRoles()) {
		t.Errorf("env node config %+v", env.HostedConfig)
	}
	// The demo data is there before the variant is built.
	if _, err := env.Hosted.Inventory.Product(testContext(t), "mug"); err != nil {
		t.Errorf("demo product before the variant was built: %v", err)
	}
	// The stack serves the variant's handler; the other variant is APIOnly.
	resp, err := http.Get(s.APIURL(allinone.Orchestrated) + "/anything")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || resp.Header.Get("X-Variant") != allinone.Orchestrated {
		t.Errorf("orchestrated API answered %d %q, not the variant's handler", resp.StatusCode, resp.Header.Get("X-Variant"))
	}
	if code := call(t, "", http.MethodGet, s.APIURL(allinone.Choreographed)+"/healthz", "", nil); code != http.StatusOK {
		t.Errorf("choreographed (APIOnly) /healthz: %d", code)
	}
	cr := s.Credentials()
	if code := call(t, cr.Customer, http.MethodGet, s.APIURL(allinone.Choreographed)+"/v1/customers/"+cr.CustomerID+"/notifications", "", nil); code != http.StatusOK {
		t.Errorf("choreographed (APIOnly) GET the demo customer's notifications: %d, want 200", code)
	}
	if banner := s.Banner(); !regexpMatch(`orchestrated API\s+http://\S+\n`, banner) {
		t.Errorf("the plugged variant is still described as a placeholder:\n%s", banner)
	}

	select {
	case <-fake.runStart:
	case <-time.After(10 * time.Second):
		t.Fatal("the variant's Run was not started")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("closing: %v", err)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if got := fake.events; len(got) != 2 || got[0] != "run returned" || got[1] != "closed" {
		t.Errorf("stop sequence %q, want Run to return, then Close", got)
	}
}

func TestStackRun_VariantFails_StopsTheStackWithItsError(t *testing.T) {
	boom := errors.New("worker lost its connection")
	fake := &fakeVariant{runStart: make(chan struct{}), runErr: boom}
	s, err := allinone.Start(testContext(t), fastConfig(t.TempDir()), allinone.Options{
		Logger: logger(t),
		Choreographed: func(_ context.Context, env allinone.Env) (allinone.Variant, error) {
			fake.env = env
			return fake, nil
		},
	})
	if err != nil {
		t.Fatalf("starting: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Errorf("Run returned %v, want the variant's failure", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after the variant failed")
	}
}

func TestStart_BuilderFails_StopsWhatStartedAndReportsIt(t *testing.T) {
	cfg := fastConfig(t.TempDir())
	_, err := allinone.Start(testContext(t), cfg, allinone.Options{
		Logger: logger(t),
		Choreographed: func(context.Context, allinone.Env) (allinone.Variant, error) {
			return nil, errors.New("no brokers")
		},
	})
	if err == nil || !regexpMatch(`choreographed.*no brokers`, err.Error()) {
		t.Fatalf("Start = %v, want the builder's error", err)
	}
	// The orchestrated API that had started is stopped: its port is free
	// again, so a new stack on the same data dir starts.
	s, err := allinone.Start(testContext(t), cfg, allinone.Options{Logger: logger(t)})
	if err != nil {
		t.Fatalf("starting again on the same data dir: %v", err)
	}
	_ = s.Close()
}
