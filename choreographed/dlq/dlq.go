// Package dlq reads and replays the dead-letter topic: the messages a
// consumer gave up on (undecodable, of a newer schema, refused by a service,
// or still failing after bounded retries), each with headers saying why and
// where it came from (see package events for the header names).
//
// Replaying a dead letter publishes its original key, value and headers to
// its original topic again. Every consumer group of that topic sees it once
// more; the groups that had handled it skip it as a duplicate (package
// inbox), so a replay is safe to repeat.
package dlq

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/events"
)

// Letter is one message of the dead-letter topic.
type Letter struct {
	// Partition and Offset locate the letter in the dead-letter topic;
	// Time is when it was written there.
	Partition int
	Offset    int64
	Time      time.Time

	// The original message.
	Key     []byte
	Value   []byte
	Headers []kafka.Header // without the dead-letter headers

	// Why and where from.
	Reason            string
	OriginalTopic     string
	OriginalPartition int
	OriginalOffset    int64
	Group             string // the consumer group that gave up
	FailedAt          time.Time
	Attempts          int

	// The event, when the value decodes as one (else zero).
	EventType events.Type
	EventID   string
	OrderID   string
}

// Ref names the letter as "<partition>/<offset>" in the dead-letter topic.
func (l Letter) Ref() string { return fmt.Sprintf("%d/%d", l.Partition, l.Offset) }

// ParseRef reads a reference made by Ref.
func ParseRef(ref string) (partition int, offset int64, err error) {
	p, o, ok := strings.Cut(ref, "/")
	if ok {
		partition, err = strconv.Atoi(p)
		if err == nil {
			offset, err = strconv.ParseInt(o, 10, 64)
		}
	}
	if !ok || err != nil || partition < 0 || offset < 0 {
		return 0, 0, fmt.Errorf("dead letter reference %q is not <partition>/<offset>", ref)
	}
	return partition, offset, nil
}

// Client reads and replays one deployment's dead-letter topic.
type Client struct {
	Brokers []string
	Topic   string // the dead-letter topic, events.Topics.DeadLetter()
}

// List returns every letter in the dead-letter topic, by partition and
// offset.
func (c Client) List(ctx context.Context) ([]Letter, error) {
	client := &kafka.Client{Addr: kafka.TCP(c.Brokers...), Timeout: 30 * time.Second}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{c.Topic}})
	if err != nil {
		return nil, fmt.Errorf("listing dead letters: metadata of %s: %w", c.Topic, err)
	}
	if len(meta.Topics) != 1 || meta.Topics[0].Error != nil {
		return nil, fmt.Errorf("listing dead letters: topic %s: %v", c.Topic, topicError(meta.Topics))
	}
	var reqs []kafka.OffsetRequest
	for _, p := range meta.Topics[0].Partitions {
		reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
	}
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{c.Topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("listing dead letters: offsets of %s: %w", c.Topic, err)
	}
	var letters []Letter
	for _, po := range offs.Topics[c.Topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("listing dead letters: offsets of %s/%d: %w", c.Topic, po.Partition, po.Error)
		}
		if po.LastOffset <= po.FirstOffset {
			continue
		}
		ls, err := c.readPartition(ctx, po.Partition, po.FirstOffset, po.LastOffset)
		if err != nil {
			return nil, err
		}
		letters = append(letters, ls...)
	}
	return letters, nil
}

// readPartition reads the letters of one partition from first up to, not
// including, end.
func (c Client) readPartition(ctx context.Context, partition int, first, end int64) (_ []Letter, err error) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: c.Brokers, Topic: c.Topic, Partition: partition,
		MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond,
	})
	defer func() {
		if cerr := r.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("listing dead letters: %w", cerr)
		}
	}()
	if err := r.SetOffset(first); err != nil {
		return nil, fmt.Errorf("listing dead letters: seeking %s/%d: %w", c.Topic, partition, err)
	}
	var letters []Letter
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing dead letters: reading %s/%d: %w", c.Topic, partition, err)
		}
		letters = append(letters, letterOf(m))
		if m.Offset >= end-1 {
			return letters, nil
		}
	}
}

// letterOf reads a dead letter's headers.
func letterOf(m kafka.Message) Letter {
	l := Letter{Partition: m.Partition, Offset: m.Offset, Time: m.Time, Key: m.Key, Value: m.Value}
	for _, h := range m.Headers {
		v := string(h.Value)
		switch h.Key {
		case events.HeaderDLQReason:
			l.Reason = v
		case events.HeaderDLQOriginalTopic:
			l.OriginalTopic = v
		case events.HeaderDLQOriginalPartition:
			l.OriginalPartition, _ = strconv.Atoi(v)
		case events.HeaderDLQOriginalOffset:
			l.OriginalOffset, _ = strconv.ParseInt(v, 10, 64)
		case events.HeaderDLQConsumerGroup:
			l.Group = v
		case events.HeaderDLQFailedAt:
			l.FailedAt, _ = time.Parse(time.RFC3339Nano, v)
		case events.HeaderDLQAttempts:
			l.Attempts, _ = strconv.Atoi(v)
		case events.HeaderDLQReplayedFrom:
		default:
			l.Headers = append(l.Headers, h)
		}
	}
	if e, err := events.Decode(m.Value); err == nil {
		l.EventType, l.EventID, l.OrderID = e.Type, e.EventID, e.OrderID
	}
	return l
}

// Publisher publishes messages and returns once the broker acknowledged all
// of them.
type Publisher interface {
	Publish(ctx context.Context, msgs ...kafka.Message) error
}

// Replay publishes the letters' original messages to their original topics,
// marked with HeaderDLQReplayedFrom.
func Replay(ctx context.Context, pub Publisher, letters ...Letter) error {
	msgs := make([]kafka.Message, 0, len(letters))
	for _, l := range letters {
		if l.OriginalTopic == "" {
			return fmt.Errorf("replaying dead letter %s: it names no original topic", l.Ref())
		}
		h := append([]kafka.Header(nil), l.Headers...)
		h = events.SetHeader(h, events.HeaderDLQReplayedFrom, l.Ref())
		msgs = append(msgs, kafka.Message{Topic: l.OriginalTopic, Key: l.Key, Value: l.Value, Headers: h})
	}
	if len(msgs) == 0 {
		return nil
	}
	if err := pub.Publish(ctx, msgs...); err != nil {
		return fmt.Errorf("replaying %d dead letters: %w", len(msgs), err)
	}
	return nil
}

// Select returns the letters named by refs (see Ref), in the order given.
// It fails when a reference names no letter.
func Select(letters []Letter, refs ...string) ([]Letter, error) {
	byRef := make(map[string]Letter, len(letters))
	for _, l := range letters {
		byRef[l.Ref()] = l
	}
	out := make([]Letter, 0, len(refs))
	var missing []string
	for _, r := range refs {
		p, o, err := ParseRef(r)
		if err != nil {
			return nil, err
		}
		l, ok := byRef[fmt.Sprintf("%d/%d", p, o)]
		if !ok {
			missing = append(missing, r)
			continue
		}
		out = append(out, l)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no dead letter at %s", strings.Join(missing, ", "))
	}
	return out, nil
}

func topicError(ts []kafka.Topic) error {
	if len(ts) == 0 {
		return errors.New("not found")
	}
	return ts[0].Error
}
