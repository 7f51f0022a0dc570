package cli

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck_ExitCodes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.Write([]byte(`{"status":"ok"}`))
			return
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"title":"Not ready","status":503,"detail":"failed checks: database"}`))
	}))
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		code     int
		inStderr string
	}{
		{"200", nil, []string{"-url", srv.URL + "/readyz"}, 0, ""},
		{"200 at the process address", map[string]string{"ORDERSAGA_HTTP_ADDR": strings.TrimPrefix(srv.URL, "http://")}, nil, 0, ""},
		{"503", nil, []string{"-url", srv.URL + "/down", "-timeout", "2s"}, 1, "503 Service Unavailable: failed checks: database"},
		{"unreachable", nil, []string{"-url", "http://" + closedAddr + "/readyz"}, 1, closedAddr},
		{"nothing at the process address", map[string]string{"ORDERSAGA_HTTP_ADDR": closedAddr}, nil, 1, "http://" + closedAddr + "/readyz"},
		{"bad flag", nil, []string{"-uri", srv.URL}, 2, "-uri"},
		{"bad URL", nil, []string{"-url", "127.0.0.1:8080"}, 2, "not an http://"},
		{"bad timeout", nil, []string{"-timeout", "-1s"}, 2, "not positive"},
		{"bad process address", map[string]string{"ORDERSAGA_HTTP_ADDR": "8080"}, nil, 2, "ORDERSAGA_HTTP_ADDR"},
		{"help", nil, []string{"-h"}, 0, "-timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, stdout, stderr := testEnv(tc.env)
			if got := Execute(context.Background(), env, append([]string{"healthcheck"}, tc.args...)); got != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", got, tc.code, stderr)
			}
			if !strings.Contains(stderr.String(), tc.inStderr) {
				t.Errorf("stderr %q lacks %q", stderr, tc.inStderr)
			}
			if tc.code == 1 && strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("a failed check printed more than one line:\n%s", stderr)
			}
			if tc.code == 0 && tc.name != "help" && (stdout.String() != "" || stderr.String() != "") {
				t.Errorf("a passed check printed something: stdout %q, stderr %q", stdout, stderr)
			}
		})
	}
}

func TestHelp_ListsHealthcheck(t *testing.T) {
	env, stdout, _ := testEnv(nil)
	if code := Execute(context.Background(), env, []string{"help"}); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if !strings.Contains(stdout.String(), "healthcheck") {
		t.Errorf("help does not list healthcheck:\n%s", stdout)
	}
}
