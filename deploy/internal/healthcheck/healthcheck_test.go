package healthcheck_test

import (
	"context"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/deploy/internal/healthcheck"
	"github.com/ordersaga/ordersaga/deploy/internal/process"
)

func envOf(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func load(t *testing.T, env map[string]string, args ...string) (healthcheck.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return healthcheck.LoadConfig(fs, args, envOf(env))
}

func TestAddrEnv_IsTheProcessHTTPAddressVariable(t *testing.T) {
	if want := envflag.EnvName(process.EnvPrefix, "http-addr"); healthcheck.AddrEnv != want {
		t.Errorf("AddrEnv %q, but the processes read %q", healthcheck.AddrEnv, want)
	}
}

func TestLoadConfig_DefaultURL_FollowsTheProcessAddress(t *testing.T) {
	tests := []struct {
		addr string // "" for unset
		want string
	}{
		{"", "http://127.0.0.1:8080/readyz"},
		{":8080", "http://127.0.0.1:8080/readyz"},
		{"0.0.0.0:9090", "http://127.0.0.1:9090/readyz"},
		{"[::]:8081", "http://[::1]:8081/readyz"},
		{"10.1.2.3:8182", "http://10.1.2.3:8182/readyz"},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			env := map[string]string{}
			if tc.addr != "" {
				env[healthcheck.AddrEnv] = tc.addr
			}
			cfg, err := load(t, env)
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			if cfg.URL != tc.want || cfg.Timeout != healthcheck.DefaultTimeout {
				t.Errorf("got %+v, want URL %s and timeout %v", cfg, tc.want, healthcheck.DefaultTimeout)
			}
		})
	}
}

func TestLoadConfig_FlagsWinAndBadValuesAreErrors(t *testing.T) {
	cfg, err := load(t, map[string]string{healthcheck.AddrEnv: "nonsense"}, "-url", "http://127.0.0.1:1/healthz", "-timeout", "500ms")
	if err != nil {
		t.Fatalf("an explicit -url must not need a valid %s: %v", healthcheck.AddrEnv, err)
	}
	if cfg.URL != "http://127.0.0.1:1/healthz" || cfg.Timeout != 500*time.Millisecond {
		t.Errorf("got %+v", cfg)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"address without port", map[string]string{healthcheck.AddrEnv: "nonsense"}, nil, healthcheck.AddrEnv},
		{"address with port 0", map[string]string{healthcheck.AddrEnv: ":0"}, nil, "no fixed port"},
		{"not a URL", nil, []string{"-url", "127.0.0.1:8080/readyz"}, "not an http:// or https:// URL"},
		{"zero timeout", nil, []string{"-timeout", "0s"}, "not positive"},
		{"bad timeout", nil, []string{"-timeout", "soon"}, "soon"},
		{"unknown flag", nil, []string{"-path", "/healthz"}, "path"},
		{"extra argument", nil, []string{"http://127.0.0.1:8080/readyz"}, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.env, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestCheck_AnswersAndFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			w.Write([]byte(`{"status":"ok"}`))
		case "/down":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"title":"Not ready","status":503,"detail":"failed checks: temporal"}`))
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "http://" + closed.Addr().String() + "/readyz"
	closed.Close()

	if err := healthcheck.Check(context.Background(), healthcheck.Config{URL: srv.URL + "/readyz", Timeout: 2 * time.Second}); err != nil {
		t.Errorf("200: %v", err)
	}
	for _, tc := range []struct {
		url     string
		timeout time.Duration
		want    []string
	}{
		{srv.URL + "/down", 2 * time.Second, []string{"503 Service Unavailable", "failed checks: temporal"}},
		{srv.URL + "/missing", 2 * time.Second, []string{"404", "page not found"}},
		{srv.URL + "/slow", 100 * time.Millisecond, []string{"no answer within 100ms"}},
		{unreachable, 2 * time.Second, []string{unreachable, "refused"}},
	} {
		err := healthcheck.Check(context.Background(), healthcheck.Config{URL: tc.url, Timeout: tc.timeout})
		if err == nil {
			t.Errorf("GET %s: no error", tc.url)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("GET %s: error %q lacks %q", tc.url, err, w)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("GET %s: error is not one line: %q", tc.url, err)
		}
	}
}

func TestCheck_HidesAPasswordOfTheURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	u := strings.Replace(srv.URL, "http://", "http://probe:s3cret@", 1) + "/readyz"
	err := healthcheck.Check(context.Background(), healthcheck.Config{URL: u, Timeout: 2 * time.Second})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "500") {
		t.Errorf("error %v: want a 500 without the password", err)
	}
}
