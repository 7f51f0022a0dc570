package broker_test

import (
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/broker"
)

func TestReaderConfig_SessionTimeout_DefaultOrGiven_HeartbeatAndRebalanceFixed(t *testing.T) {
	for _, tc := range []struct {
		given, want time.Duration
	}{
		{0, broker.DefaultSessionTimeout},
		{6 * time.Second, 6 * time.Second},
	} {
		rc := broker.ReaderConfig([]string{"127.0.0.1:9092"}, "g", []string{"t"}, tc.given, nil)
		if rc.SessionTimeout != tc.want || rc.HeartbeatInterval != broker.HeartbeatInterval || rc.RebalanceTimeout != broker.RebalanceTimeout {
			t.Errorf("session timeout %v: got session %v, heartbeat %v, rebalance %v; want %v, %v, %v", tc.given,
				rc.SessionTimeout, rc.HeartbeatInterval, rc.RebalanceTimeout, tc.want, broker.HeartbeatInterval, broker.RebalanceTimeout)
		}
		if err := rc.Validate(); err != nil {
			t.Errorf("session timeout %v: %v", tc.given, err)
		}
	}
	if broker.MinSessionTimeout < 3*broker.HeartbeatInterval {
		t.Errorf("the shortest session timeout %v allows fewer than three heartbeats of %v", broker.MinSessionTimeout, broker.HeartbeatInterval)
	}
}
