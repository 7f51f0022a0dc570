package rebuild_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordersaga/ordersaga/choreographed/broker"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/choreographed/inbox"
	"github.com/ordersaga/ordersaga/choreographed/internal/kafkatest"
	"github.com/ordersaga/ordersaga/choreographed/rebuild"
	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/notifications"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

var brokers []string

func TestMain(m *testing.M) {
	b, err := kafkatest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	brokers = b.Addrs()
	code := m.Run()
	b.Close()
	os.Exit(code)
}

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// topicsWithOnePartition returns the topics of a new prefix, created with
// one partition each, so the tests know where each event is.
func topicsWithOnePartition(t *testing.T) events.Topics {
	t.Helper()
	topics := events.Topics{Prefix: "rebuild" + kafkatest.Unique()}
	if err := broker.EnsureTopics(context.Background(), brokers, topics.All(), broker.TopicSpec{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	return topics
}

// publish publishes the events, in order, and raw messages after them.
func publish(t *testing.T, topics events.Topics, es []*events.Envelope, raw ...kafka.Message) {
	t.Helper()
	w := broker.NewWriter(brokers, nil)
	defer w.Close()
	var msgs []kafka.Message
	for _, e := range es {
		m, err := e.Message(context.Background(), topics)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if err := w.Publish(context.Background(), append(msgs, raw...)...); err != nil {
		t.Fatal(err)
	}
}

// event returns a new event of the order service about order id.
func event(t *testing.T, p events.Payload, id string, at time.Time) *events.Envelope {
	t.Helper()
	e, err := events.New(p, id, nil, at)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// notificationStore returns a notification database of engine d, migrated
// as the choreographed stack migrates it.
func notificationStore(t *testing.T, d sqldb.Dialect) *notifications.Store {
	t.Helper()
	return notifications.NewStore(sqltest.Open(t, d, notifications.Migrations(), inbox.Migrations()), nil)
}

// stale writes a notification and a remembered customer the events do
// not imply, as a projection gone wrong holds.
func stale(t *testing.T, s *notifications.Store, orderID string) {
	t.Helper()
	n, err := notifications.New(notifications.Ending{OrderID: orderID, CustomerID: "someone", Status: domain.StatusCompleted, EndedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	err = s.DB().InTx(context.Background(), func(tx *sqldb.Tx) error {
		if err := s.RememberCustomerTx(context.Background(), tx, orderID, "someone"); err != nil {
			return err
		}
		_, err := s.RecordTx(context.Background(), tx, n)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// notes returns the store's notifications as "order customer status
// reason tracking total ended_at".
func notes(t *testing.T, s *notifications.Store) []string {
	t.Helper()
	all, err := s.All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range all {
		out = append(out, fmt.Sprintf("%s %s %s %q %q %d %s", n.OrderID, n.CustomerID, n.Status, n.Reason, n.TrackingNumber, n.TotalCents, n.EndedAt.Format(time.RFC3339Nano)))
	}
	return out
}

func TestRun_Notifications_ReplacesTheProjectionWithWhatTheEventsImply(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			topics := topicsWithOnePartition(t)
			completed := event(t, events.OrderCompletedData{TrackingNumber: "TRK-1", TotalCents: 900}, "o1", t0.Add(3*time.Second))
			es := []*events.Envelope{
				event(t, events.OrderPlacedData{CustomerID: "c1"}, "o1", t0),
				event(t, events.OrderPlacedData{CustomerID: "c2"}, "o2", t0.Add(time.Second)),
				event(t, events.OrderPlacedData{CustomerID: "c1"}, "o3", t0.Add(time.Second)),
				event(t, events.OrderPlacedData{CustomerID: "c2"}, "o4", t0.Add(time.Second)),
				event(t, events.OrderCancelRequestedData{}, "o3", t0.Add(2*time.Second)),
				completed,
				event(t, events.OrderFailedData{Reason: domain.ReasonOutOfStock}, "o2", t0.Add(4*time.Second)),
				event(t, events.OrderCancelledData{}, "o3", t0.Add(5*time.Second)),
				completed, // published twice
			}
			poison := kafka.Message{Topic: topics.Of(events.Orders), Key: []byte("o9"), Value: []byte("not an event")}
			publish(t, topics, es, poison)
			s := notificationStore(t, d)
			stale(t, s, "ghost")

			cfg := rebuild.Config{Brokers: brokers, Topics: topics}
			rep, err := rebuild.Run(context.Background(), cfg, rebuild.Notifications(s))
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				`o1 c1 completed "" "TRK-1" 900 2026-03-04T05:06:10Z`,
				`o2 c2 failed "out_of_stock" "" 0 2026-03-04T05:06:11Z`,
				`o3 c1 cancelled "cancelled" "" 0 2026-03-04T05:06:12Z`,
			}
			if got := notes(t, s); !slices.Equal(got, want) {
				t.Errorf("notifications:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if rep.Read != 10 || rep.Applied != 8 || rep.Ignored != 2 || rep.Partitions != 1 || rep.Partial() ||
				rep.Rows["notifications"] != 3 || rep.Rows["order_customers"] != 4 || !slices.Equal(rep.Topics, []string{topics.Of(events.Orders)}) {
				t.Errorf("report %+v", rep)
			}
			// The customer of the order not yet ended is remembered for
			// when it ends.
			err = s.DB().InTx(context.Background(), func(tx *sqldb.Tx) error {
				c, err := s.CustomerOfTx(context.Background(), tx, "o4")
				if c != "c2" {
					t.Errorf("customer of o4 %q (%v), want c2", c, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}

			// Again: the same rows.
			if _, err := rebuild.Run(context.Background(), cfg, rebuild.Notifications(s)); err != nil {
				t.Fatal(err)
			}
			if got := notes(t, s); !slices.Equal(got, want) {
				t.Errorf("after a second rebuild:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestRun_AnOrderEndedWithoutItsOrderPlaced_ChangesNothingUnlessPartialAllowed(t *testing.T) {
	topics := topicsWithOnePartition(t)
	publish(t, topics, []*events.Envelope{
		event(t, events.OrderPlacedData{CustomerID: "c1"}, "o1", t0),
		event(t, events.OrderCompletedData{TrackingNumber: "TRK-1", TotalCents: 900}, "o1", t0.Add(time.Second)),
		event(t, events.OrderFailedData{Reason: domain.ReasonPaymentDeclined}, "orphan", t0.Add(time.Second)),
	})
	s := notificationStore(t, sqldb.SQLite)
	stale(t, s, "kept")
	cfg := rebuild.Config{Brokers: brokers, Topics: topics}
	rep, err := rebuild.Run(context.Background(), cfg, rebuild.Notifications(s))
	if !errors.Is(err, rebuild.ErrPartial) || len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0], "orphan") {
		t.Fatalf("rebuild: %v, skipped %v; want ErrPartial naming the orphan", err, rep.Skipped)
	}
	if got := notes(t, s); len(got) != 1 || !strings.HasPrefix(got[0], "kept ") {
		t.Fatalf("a refused rebuild changed the notifications: %v", got)
	}

	cfg.AllowPartial = true
	rep, err = rebuild.Run(context.Background(), cfg, rebuild.Notifications(s))
	if err != nil || len(rep.Skipped) != 1 || !rep.Partial() {
		t.Fatalf("rebuild allowing partial: %v, report %+v", err, rep)
	}
	if got := notes(t, s); len(got) != 1 || !strings.HasPrefix(got[0], "o1 c1 completed") {
		t.Fatalf("notifications %v, want o1's alone", got)
	}
}

func TestRun_RetentionDeletedTheOldestEvents_ChangesNothingUnlessPartialAllowed(t *testing.T) {
	topics := topicsWithOnePartition(t)
	publish(t, topics, []*events.Envelope{
		event(t, events.OrderPlacedData{CustomerID: "c1"}, "o1", t0),
		event(t, events.OrderPlacedData{CustomerID: "c2"}, "o2", t0),
		event(t, events.OrderCompletedData{TrackingNumber: "TRK-1", TotalCents: 900}, "o1", t0.Add(time.Second)),
		event(t, events.OrderCompletedData{TrackingNumber: "TRK-2", TotalCents: 800}, "o2", t0.Add(time.Second)),
	})
	deleteRecordsBefore(t, topics.Of(events.Orders), 0, 1) // o1's OrderPlaced
	s := notificationStore(t, sqldb.SQLite)
	stale(t, s, "kept")
	cfg := rebuild.Config{Brokers: brokers, Topics: topics}
	rep, err := rebuild.Run(context.Background(), cfg, rebuild.Notifications(s))
	wantTruncated := topics.Of(events.Orders) + "/0 from offset 1"
	if !errors.Is(err, rebuild.ErrPartial) || !slices.Equal(rep.Truncated, []string{wantTruncated}) || rep.Read != 0 {
		t.Fatalf("rebuild: %v, report %+v; want ErrPartial before reading, naming %s", err, rep, wantTruncated)
	}
	if got := notes(t, s); len(got) != 1 || !strings.HasPrefix(got[0], "kept ") {
		t.Fatalf("a refused rebuild changed the notifications: %v", got)
	}

	cfg.AllowPartial = true
	rep, err = rebuild.Run(context.Background(), cfg, rebuild.Notifications(s))
	if err != nil || rep.Read != 3 || len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0], "o1") {
		t.Fatalf("rebuild allowing partial: %v, report %+v; want o1 skipped", err, rep)
	}
	if got := notes(t, s); len(got) != 1 || !strings.HasPrefix(got[0], "o2 c2 completed") {
		t.Fatalf("notifications %v, want o2's alone", got)
	}
}

// deleteRecordsBefore deletes the records of a partition before offset,
// as retention does.
func deleteRecordsBefore(t *testing.T, topic string, partition int32, offset int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrDeleteRecordsRequest()
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Partition, rp.Offset = partition, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 10_000
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if rp.ErrorCode != 0 || rp.LowWatermark != offset {
				t.Fatalf("deleting records of %s/%d: error %d, low watermark %d", topic, rp.Partition, rp.ErrorCode, rp.LowWatermark)
			}
		}
	}
}
