// Package broker holds the kafka-go settings every part of the choreographed
// variant uses, chosen for correctness first and latency second:
//
//   - writers wait for every in-sync replica (RequiredAcks: RequireAll), are
//     synchronous (an error is returned, never dropped), send what one call
//     gave at once instead of waiting for a batch to fill (kafka-go waits 1 s
//     by default), and place a message by the murmur2 hash of its key (the
//     Java client's partitioner), so one order's events keep their order on
//     each topic;
//   - readers belong to a consumer group, notice partitions added later, and
//     never commit on their own: consumers fetch, handle, and hand the
//     offsets to the reader only once the work is durable (see package
//     consumer); the reader commits them to the broker in the background,
//     every CommitInterval and when it leaves the group, so a consumer does
//     not wait for the broker between two batches. A crash loses at most the
//     last interval's commits: those messages are delivered again, and the
//     inbox absorbs them.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"
)

// WriterBatchSize is the most messages a writer sends to one partition in
// one request. It is above what one relay round publishes, so a round never
// splits a partition's messages over two requests that could fail apart.
const WriterBatchSize = 1000

// WriterBatchTimeout is how long a writer waits for more messages before it
// sends a partition's batch. A relay publishes every message of its round
// in one call, which adds them to their partitions' batches before this
// elapses, so waiting longer would only delay each hop of a saga (kafka-go
// treats 0 as its 1 s default).
const WriterBatchTimeout = 50 * time.Microsecond

// CommitInterval is how often a reader commits the offsets its consumer
// handed it.
const CommitInterval = 100 * time.Millisecond

// ReaderMaxWait bounds a reader's fetch of a partition. A fetch returns as
// soon as a message is there; kafka-go asks the broker to wait up to
// ReaderMaxWait minus 1 s (its allowance for the round trip) and gives up on
// the connection at ReaderMaxWait (below 1 s it keeps a quarter as
// allowance). With 1.5 s the broker holds an idle fetch for 0.5 s and a
// slow answer has 1 s to arrive: on a busy machine a shorter allowance made
// fetches time out, and each timeout reconnects the partition's reader
// after a backoff, stalling its messages.
const ReaderMaxWait = 1500 * time.Millisecond

// The timing of a consumer group member. A member sends a heartbeat every
// HeartbeatInterval; the broker drops a member it has not heard from for
// the session timeout (a process that crashed, or froze) and rebalances the
// group, waiting up to RebalanceTimeout for the other members to join
// again; they then read the dropped member's partitions from its last
// committed offsets. So the session timeout is how long the events of a
// crashed process's partitions wait before another process of the same
// service takes them over (about 10 s with DefaultSessionTimeout;
// kafka-go's own default is 30 s, the Java client's 45 s). A process sets
// it with -kafka-session-timeout; Kafka brokers accept 6 s to 30 min unless
// configured otherwise (group.min.session.timeout.ms,
// group.max.session.timeout.ms).
const (
	HeartbeatInterval     = time.Second
	DefaultSessionTimeout = 10 * time.Second
	RebalanceTimeout      = 10 * time.Second
)

// MinSessionTimeout is the shortest session timeout a member may ask for:
// three heartbeats, so that one late heartbeat does not drop it.
const MinSessionTimeout = 3 * HeartbeatInterval

// Writer publishes messages synchronously. It is safe for concurrent use.
type Writer struct {
	w *kafka.Writer
}

// NewWriter returns a writer to the brokers at addrs.
func NewWriter(addrs []string, log *slog.Logger) *Writer {
	return &Writer{w: &kafka.Writer{
		Addr:            kafka.TCP(addrs...),
		Balancer:        &kafka.Murmur2Balancer{},
		RequiredAcks:    kafka.RequireAll,
		BatchTimeout:    WriterBatchTimeout,
		BatchSize:       WriterBatchSize,
		MaxAttempts:     5,
		WriteBackoffMin: 20 * time.Millisecond,
		WriteBackoffMax: time.Second,
		ReadTimeout:     10 * time.Second,
		WriteTimeout:    10 * time.Second,
		ErrorLogger:     errorLogger(log),
	}}
}

// Publish writes msgs and returns once the brokers acknowledged all of them,
// or an error (then some may have been written: publishing is at least
// once).
func (w *Writer) Publish(ctx context.Context, msgs ...kafka.Message) error {
	if err := w.w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("publishing %d messages: %w", len(msgs), err)
	}
	return nil
}

// Close flushes and closes the writer.
func (w *Writer) Close() error { return w.w.Close() }

// ReaderConfig returns the settings of a consumer group member reading
// topics: offsets committed in the background (CommitMessages records them,
// the reader commits them every CommitInterval and when it closes or the
// group rebalances), a new group starts at the oldest message, fetches
// return as soon as a message is there, and the group's timing is
// HeartbeatInterval, sessionTimeout (DefaultSessionTimeout when 0) and
// RebalanceTimeout.
func ReaderConfig(addrs []string, group string, topics []string, sessionTimeout time.Duration, log *slog.Logger) kafka.ReaderConfig {
	if sessionTimeout <= 0 {
		sessionTimeout = DefaultSessionTimeout
	}
	return kafka.ReaderConfig{
		Brokers:               addrs,
		GroupID:               group,
		GroupTopics:           topics,
		StartOffset:           kafka.FirstOffset,
		CommitInterval:        CommitInterval,
		QueueCapacity:         1000,
		MinBytes:              1,
		MaxBytes:              10 << 20,
		MaxWait:               ReaderMaxWait,
		HeartbeatInterval:     HeartbeatInterval,
		SessionTimeout:        sessionTimeout,
		RebalanceTimeout:      RebalanceTimeout,
		JoinGroupBackoff:      500 * time.Millisecond,
		WatchPartitionChanges: true,
		ReadBackoffMin:        50 * time.Millisecond,
		ReadBackoffMax:        time.Second,
		MaxAttempts:           5,
		ErrorLogger:           errorLogger(log),
	}
}

// TopicSpec says how to create missing topics.
type TopicSpec struct {
	Partitions        int // default 4
	ReplicationFactor int // default 1
}

// EnsureTopics creates those of topics that do not exist yet.
func EnsureTopics(ctx context.Context, addrs []string, topics []string, spec TopicSpec) error {
	if spec.Partitions <= 0 {
		spec.Partitions = 4
	}
	if spec.ReplicationFactor <= 0 {
		spec.ReplicationFactor = 1
	}
	client := &kafka.Client{Addr: kafka.TCP(addrs...), Timeout: 30 * time.Second}
	req := &kafka.CreateTopicsRequest{}
	for _, t := range topics {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: t, NumPartitions: spec.Partitions, ReplicationFactor: spec.ReplicationFactor})
	}
	resp, err := client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("creating topics %v: %w", topics, err)
	}
	var errList []error
	for topic, err := range resp.Errors {
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			errList = append(errList, fmt.Errorf("creating topic %s: %w", topic, err))
		}
	}
	return errors.Join(errList...)
}

// Ping checks that the brokers answer and know every one of topics.
func Ping(ctx context.Context, addrs []string, topics []string) error {
	client := &kafka.Client{Addr: kafka.TCP(addrs...), Timeout: 5 * time.Second}
	resp, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return fmt.Errorf("asking kafka at %v for metadata: %w", addrs, err)
	}
	var errList []error
	for _, t := range resp.Topics {
		if t.Error != nil {
			errList = append(errList, fmt.Errorf("kafka topic %s: %w", t.Name, t.Error))
		}
	}
	return errors.Join(errList...)
}

// errorLogger passes kafka-go's error messages to log at warning level.
func errorLogger(log *slog.Logger) kafka.Logger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return kafka.LoggerFunc(func(msg string, args ...any) {
		log.Warn(fmt.Sprintf(msg, args...), "component", "kafka-go")
	})
}
