package freeport_test

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/deploy/internal/freeport"
)

func TestGet_ReturnsAPortAServerCanListenOn(t *testing.T) {
	port, err := freeport.Get("127.0.0.1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if port <= 0 || port > 65535 {
		t.Fatalf("port %d out of range", port)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listening on the returned port: %v", err)
	}
	ln.Close()
}

func TestResolve_PortZeroBecomesAFreePort_OthersStay(t *testing.T) {
	got, err := freeport.Resolve("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if !strings.HasPrefix(got, "127.0.0.1:") || strings.HasSuffix(got, ":0") {
		t.Errorf("Resolve(127.0.0.1:0) = %q", got)
	}
	if got, err := freeport.Resolve("127.0.0.1:7233"); err != nil || got != "127.0.0.1:7233" {
		t.Errorf("Resolve(127.0.0.1:7233) = %q, %v", got, err)
	}
	if _, err := freeport.Resolve("7233"); err == nil {
		t.Errorf("Resolve accepted an address without a host")
	}
}

func TestCheck_TakenAddress_Fails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := freeport.Check(ln.Addr().String()); err == nil {
		t.Errorf("Check(%s) succeeded on a taken address", ln.Addr())
	}
	ln.Close()
	if err := freeport.Check(ln.Addr().String()); err != nil {
		t.Errorf("Check(%s) after release: %v", ln.Addr(), err)
	}
}
