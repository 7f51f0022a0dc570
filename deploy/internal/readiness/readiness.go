// Package readiness holds the probes a process runs to tell whether what
// it depends on answers: a TCP listener, a Kafka broker, an HTTP health
// endpoint.
package readiness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/segmentio/kafka-go"
)

// TCP reports whether a TCP connection to addr opens.
func TCP(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dialing %s: %w", addr, err)
	}
	return c.Close()
}

// Kafka reports whether one of the brokers answers a metadata request.
func Kafka(ctx context.Context, brokers []string) error {
	var errList []error
	for _, b := range brokers {
		conn, err := (&kafka.Dialer{}).DialContext(ctx, "tcp", b)
		if err != nil {
			errList = append(errList, fmt.Errorf("kafka broker %s: %w", b, err))
			continue
		}
		if deadline, ok := ctx.Deadline(); ok {
			_ = conn.SetDeadline(deadline)
		}
		_, err = conn.Brokers()
		conn.Close()
		if err == nil {
			return nil
		}
		errList = append(errList, fmt.Errorf("kafka broker %s: %w", b, err))
	}
	if len(errList) == 0 {
		return errors.New("no kafka brokers")
	}
	return errors.Join(errList...)
}

// pollInterval is the pause between two requests of WaitHealthy.
const pollInterval = 20 * time.Millisecond

// WaitHealthy GETs url until it answers 200, ctx ends or timeout passes.
func WaitHealthy(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("health request: %w", err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer: %w", url, err)
		case <-time.After(pollInterval):
		}
	}
}
