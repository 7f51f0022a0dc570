package process_test

import (
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/deploy/internal/process"
)

func TestLoadConfig_UpstreamURLs_FromFlagsAndEnvironment_ForTheOrdersProcess(t *testing.T) {
	cfg, err := load(process.Choreographed, map[string]string{
		"ORDERSAGA_DATA_DIR":    "/data",
		"ORDERSAGA_PAYMENT_URL": "http://choreographed-payment:8080",
	}, "orders", "-inventory-url", "http://127.0.0.1:8182/", "-shipping-url", "https://shipping.internal",
		"-notifications-url", "http://choreographed-notifications:8080")
	if err != nil {
		t.Fatal(err)
	}
	up := cfg.Upstreams()
	want := map[string]string{
		"inventory":     "http://127.0.0.1:8182",
		"payment":       "http://choreographed-payment:8080",
		"shipping":      "https://shipping.internal",
		"notifications": "http://choreographed-notifications:8080",
	}
	if len(up.Services) != len(want) {
		t.Fatalf("upstreams %v, want %v", up.Services, want)
	}
	for s, u := range want {
		if got := up.Services[s]; got == nil || got.String() != u {
			t.Errorf("%s forwards to %v, want %s", s, got, u)
		}
	}
	if cfg, err := load(process.Orchestrated, map[string]string{"ORDERSAGA_DATA_DIR": "/data"}, "orders"); err != nil || len(cfg.Upstreams().Services) != 0 {
		t.Errorf("without URLs: upstreams %v, err %v", cfg.Upstreams().Services, err)
	}
}

func TestLoadConfig_UpstreamURLs_ThatCannotWork_AreRefused(t *testing.T) {
	tests := []struct {
		name  string
		roles string
		args  []string
		want  string
	}{
		{"not the orders process", "inventory", []string{"-payment-url", "http://p:8080"}, "-payment-url is for a process hosting orders"},
		{"a role hosted here", "orders,inventory", []string{"-inventory-url", "http://i:8080"}, "which this process hosts itself"},
		{"the notification service hosted here", "orders,notifications", []string{"-notifications-url", "http://n:8080"}, "which this process hosts itself"},
		{"notifications not the orders process", "notifications", []string{"-notifications-url", "http://n:8080"}, "-notifications-url is for a process hosting orders"},
		{"no scheme", "orders", []string{"-inventory-url", "inventory:8080"}, "is not http://host:port"},
		{"another scheme", "orders", []string{"-shipping-url", "ftp://s"}, "is not http://host:port"},
		{"a path", "orders", []string{"-payment-url", "http://p:8080/v1"}, "give http://host:port alone"},
		{"a query", "orders", []string{"-payment-url", "http://p:8080?x=1"}, "give http://host:port alone"},
		{"credentials", "orders", []string{"-payment-url", "http://u:secret@p:8080"}, "give http://host:port alone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{tc.roles, "-data-dir", "/data"}, tc.args...)
			_, err := load(process.Orchestrated, nil, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("the error shows a password: %v", err)
			}
		})
	}
}
