package readiness_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/readiness"
)

func TestTCP_OpenAndClosedPorts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := readiness.TCP(context.Background(), addr); err != nil {
		t.Errorf("open port: %v", err)
	}
	ln.Close()
	if err := readiness.TCP(context.Background(), addr); err == nil {
		t.Error("closed port answered")
	}
}

func TestWaitHealthy_WaitsForA200AndGivesUpAfterTheTimeout(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	if err := readiness.WaitHealthy(context.Background(), srv.URL, 5*time.Second); err != nil {
		t.Errorf("WaitHealthy: %v", err)
	}
	if calls.Load() < 3 {
		t.Errorf("%d requests, want at least 3", calls.Load())
	}
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	defer down.Close()
	if err := readiness.WaitHealthy(context.Background(), down.URL, 100*time.Millisecond); err == nil {
		t.Error("a server answering 500 was taken for healthy")
	}
}

func TestKafka_NoBrokerAnswers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := readiness.Kafka(ctx, nil); err == nil {
		t.Error("no brokers: no error")
	}
	if err := readiness.Kafka(ctx, []string{"127.0.0.1:1"}); err == nil {
		t.Error("a closed port answered as a broker")
	}
}
