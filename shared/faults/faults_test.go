package faults_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/faults"
)

func TestInject_FailsAtTheConfiguredRateWithUnavailable(t *testing.T) {
	in := faults.New("payment", 42)
	if err := in.Set(faults.Setting{ErrorRate: 0.3}); err != nil {
		t.Fatal(err)
	}
	failed := 0
	const n = 2000
	for range n {
		err := in.Inject(context.Background(), "charge")
		if err != nil {
			if !errs.Is(err, errs.Unavailable) || !errors.Is(err, faults.ErrInjected) {
				t.Fatalf("injected error %v is not unavailable/ErrInjected", err)
			}
			failed++
		}
	}
	if rate := float64(failed) / n; rate < 0.25 || rate > 0.35 {
		t.Fatalf("failure rate %.3f, want about 0.3", rate)
	}
}

func TestInject_NilAndZeroInjectNothing(t *testing.T) {
	var nilInj *faults.Injector
	if err := nilInj.Inject(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	if err := faults.New("x", 1).Inject(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
}

func TestInject_AddsLatencyAndStopsWithTheContext(t *testing.T) {
	in := faults.New("shipping", 1)
	if err := in.Set(faults.Setting{Latency: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := in.Inject(context.Background(), "ship"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("latency %v, want at least 20ms", d)
	}
	_ = in.Set(faults.Setting{Latency: faults.MaxLatency})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := in.Inject(ctx, "ship"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestSet_RejectsOutOfRangeAndKeepsTheOldSetting(t *testing.T) {
	in := faults.New("inventory", 1)
	good := faults.Setting{ErrorRate: 0.5, Latency: time.Millisecond}
	_ = in.Set(good)
	for _, bad := range []faults.Setting{{ErrorRate: -0.1}, {ErrorRate: 1.1}, {Latency: -1}, {Latency: faults.MaxLatency + 1}} {
		if err := in.Set(bad); !errs.Is(err, errs.Invalid) {
			t.Errorf("Set(%+v) err = %v, want invalid", bad, err)
		}
	}
	if in.Get() != good {
		t.Fatalf("setting = %+v, want %+v", in.Get(), good)
	}
}
