// Package rebuild rebuilds a projection (a table a consumer derives from
// events: the notifications, the order timeline) from the events the
// broker retains: it empties the projection and applies, with the code the
// live consumer runs, every retained event of the topics it derives from,
// read from the first offset of each partition up to its high-water mark
// by a plain kafka-go reader per partition (not the live consumer group,
// whose offsets it leaves alone), a few partitions at once.
//
// How a rebuild coexists with the live consumer, which keeps running:
//
//  1. It reads the events up to the high-water marks of the start, outside
//     any transaction (the long part), and keeps them in memory.
//  2. In one transaction of the projection's database it locks the
//     projection's tables against writers (PostgreSQL: LOCK TABLE … IN
//     EXCLUSIVE MODE, which waits for the live transactions writing them
//     and holds off new ones while readers go on; SQLite: the database's
//     write lock, which every transaction takes), empties them, reads the
//     high-water marks again, reads the events appended since step 1,
//     applies every event, and commits. Readers see the old projection
//     until the commit and the rebuilt one after it, never an empty one.
//
// Every event the live consumer had applied before the lock was appended
// before the second high-water marks, so the rebuild applies it again;
// every event past them is applied by the live consumer after the commit
// (its writes wait for the lock). An event on both sides (the live
// consumer lagging behind the marks) is applied twice, which the
// projections' idempotent writes (one row per order id or event id)
// absorb. The live group's inbox is left as it is: it only skips events
// the group handled already, whose effects the rebuild restored; resetting
// it would not change the result, and the order service's inbox also
// guards its orders and the events it emits, which a rebuild of the
// timeline must not replay.
//
// A rebuild never silently yields less than the events imply: when a
// partition no longer starts at offset 0 (retention deleted its oldest
// events) or an event cannot be applied (an order ended whose OrderPlaced
// is gone, an event this binary cannot read), it changes nothing and
// returns ErrPartial, unless Config.AllowPartial says to commit what it
// could.
package rebuild

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/ordersaga/ordersaga/choreographed/consumer"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// ErrPartial reports a rebuild that would have lost what the live
// projection holds: events are missing from the topics, or some could not
// be applied. Nothing was changed.
var ErrPartial = errors.New("the retained events do not rebuild the whole projection")

// Projection is a table (or a few) of a service's database that a consumer
// derives from events.
type Projection struct {
	// Name names the projection ("notifications", "timeline").
	Name string
	// DB is the database holding it.
	DB *sqldb.DB
	// Tables are the tables it writes, locked during the rebuild's
	// transaction and counted in the Report.
	Tables []string
	// Sources are the services whose topics it derives from.
	Sources []events.Service
	// Follows reports whether the projection applies events of a type.
	Follows func(events.Type) bool
	// Reset empties the projection inside tx.
	Reset func(ctx context.Context, tx *sqldb.Tx) error
	// Apply applies one event inside tx with the live consumer's code;
	// appendedAt is when the broker appended it. An error IsPermanent
	// marks an event that cannot be applied; another fails the rebuild.
	Apply func(ctx context.Context, tx *sqldb.Tx, e *events.Envelope, appendedAt time.Time) error
}

// Config says where the events are.
type Config struct {
	Brokers []string
	Topics  events.Topics
	// AllowPartial commits a rebuild that misses events (see ErrPartial).
	AllowPartial bool
	// ReadVersions are the newest schema versions read, as the live
	// consumers' (stack.Config.ReadVersions); empty reads every version
	// this binary knows. Each event is read through events.Reader before
	// it is applied, as the live consumers' ReadVersions middleware does.
	ReadVersions events.Versions
	// ReadTimeout bounds the wait for the next message of a partition that
	// has not reached its high-water mark (30 s when zero).
	ReadTimeout time.Duration
	Logger      *slog.Logger
}

// Report says what a rebuild read and wrote.
type Report struct {
	Projection string
	// Topics are the topics read; Partitions how many partitions in all.
	Topics     []string
	Partitions int
	// Read counts the messages read, Applied the events applied (each
	// event the projection follows, duplicates included), Ignored the
	// messages it does not follow or that are no event (the live consumer
	// dead-lettered those).
	Read, Applied, Ignored int
	// Truncated names the partitions whose oldest events are gone:
	// "topic/partition from offset N".
	Truncated []string
	// Skipped describes the events that could not be applied.
	Skipped []string
	// Rows counts the rows of each table once rebuilt.
	Rows map[string]int
	// ReadTook is the time reading the events outside the transaction
	// took; WriteTook the transaction's time, the last reads included.
	ReadTook, WriteTook time.Duration
}

// Partial reports whether the rebuild missed events.
func (r Report) Partial() bool { return len(r.Truncated) > 0 || len(r.Skipped) > 0 }

// Run rebuilds p from the events retained on its source topics (see the
// package documentation). It returns the report and, when the rebuild
// would miss events and cfg.AllowPartial is false, an error wrapping
// ErrPartial after changing nothing.
func Run(ctx context.Context, cfg Config, p Projection) (Report, error) {
	if len(cfg.Brokers) == 0 {
		return Report{}, errors.New("rebuild: no kafka brokers")
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	rep := Report{Projection: p.Name}
	for _, s := range p.Sources {
		rep.Topics = append(rep.Topics, cfg.Topics.Of(s))
	}
	r := &reader{brokers: cfg.Brokers, timeout: cfg.ReadTimeout, follows: p.Follows}

	start := time.Now()
	spans, err := r.offsets(ctx, rep.Topics, nil)
	if err != nil {
		return rep, err
	}
	rep.Partitions = len(spans)
	for _, s := range spans {
		if s.first > 0 {
			rep.Truncated = append(rep.Truncated, fmt.Sprintf("%s/%d from offset %d", s.topic, s.partition, s.first))
		}
	}
	if len(rep.Truncated) > 0 && !cfg.AllowPartial {
		return rep, fmt.Errorf("rebuilding %s: %w: retention deleted the oldest events of %s", p.Name, ErrPartial, strings.Join(rep.Truncated, ", "))
	}
	head, err := r.readAll(ctx, spans)
	if err != nil {
		return rep, err
	}
	rep.ReadTook = time.Since(start)
	cfg.Logger.Info("rebuild: events read", "projection", p.Name, "events", len(head), "messages", r.messages, "took", rep.ReadTook)

	start = time.Now()
	var final Report
	err = p.DB.InTx(ctx, func(tx *sqldb.Tx) error {
		final = rep // a retried transaction starts over
		tr := *r
		if err := lock(ctx, tx, p.Tables); err != nil {
			return err
		}
		if err := p.Reset(ctx, tx); err != nil {
			return fmt.Errorf("rebuilding %s: %w", p.Name, err)
		}
		// The events appended since the first reads, and any partition
		// added meanwhile.
		tail, err := tr.offsets(ctx, final.Topics, spans)
		if err != nil {
			return err
		}
		more, err := tr.readAll(ctx, tail)
		if err != nil {
			return err
		}
		all := append(slices.Clone(head), more...)
		final.Read, final.Ignored = tr.messages, tr.ignored
		reader := events.Reader{Newest: cfg.ReadVersions}
		for _, ev := range all {
			e, err := reader.Read(ev.event)
			if err == nil {
				err = p.Apply(ctx, tx, e, ev.at)
			}
			if err != nil {
				if !consumer.IsPermanent(err) {
					return fmt.Errorf("rebuilding %s: applying %s: %w", p.Name, ev.ref, err)
				}
				final.Skipped = append(final.Skipped, fmt.Sprintf("%s %s %s of order %s: %v", ev.ref, ev.event.Type, ev.event.EventID, ev.event.OrderID, err))
				continue
			}
			final.Applied++
		}
		if len(final.Skipped) > 0 && !cfg.AllowPartial {
			return fmt.Errorf("rebuilding %s: %w: %d events could not be applied; the first: %s", p.Name, ErrPartial, len(final.Skipped), final.Skipped[0])
		}
		return nil
	})
	final.WriteTook = time.Since(start)
	if err != nil {
		return final, err
	}
	if final.Rows, err = countRows(ctx, p.DB, p.Tables); err != nil {
		return final, fmt.Errorf("rebuilding %s: %w", p.Name, err)
	}
	return final, nil
}

// lock holds off the other writers of tables until tx ends. On SQLite the
// transaction holds the database's write lock already.
func lock(ctx context.Context, tx *sqldb.Tx, tables []string) error {
	if tx.Dialect() != sqldb.Postgres || len(tables) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `LOCK TABLE `+strings.Join(tables, ", ")+` IN EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("locking %s: %w", strings.Join(tables, ", "), err)
	}
	return nil
}

// countRows counts the rows of each table.
func countRows(ctx context.Context, db *sqldb.DB, tables []string) (map[string]int, error) {
	out := make(map[string]int, len(tables))
	for _, t := range tables {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("counting the rows of %s: %w", t, err)
		}
		out[t] = n
	}
	return out, nil
}

// span is the offsets of a partition to read: from first up to, not
// including, end.
type span struct {
	topic      string
	partition  int
	first, end int64
}

// retained is an event read from a topic.
type retained struct {
	event *events.Envelope
	at    time.Time // when the broker appended it
	ref   string    // topic/partition@offset
}

// reader reads the retained events of topics.
type reader struct {
	brokers []string
	timeout time.Duration
	follows func(events.Type) bool
	// messages and ignored count the messages read and those not
	// applied.
	messages, ignored int
}

// offsets returns the span of each partition of topics: from its first
// offset to its high-water mark; for a partition of after, from where
// that span ended.
func (r *reader) offsets(ctx context.Context, topics []string, after []span) ([]span, error) {
	client := &kafka.Client{Addr: kafka.TCP(r.brokers...), Timeout: 30 * time.Second}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("rebuild: metadata of %v: %w", topics, err)
	}
	reqs := map[string][]kafka.OffsetRequest{}
	for _, t := range meta.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("rebuild: topic %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			reqs[t.Name] = append(reqs[t.Name], kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
		}
	}
	for _, t := range topics {
		if len(reqs[t]) == 0 {
			return nil, fmt.Errorf("rebuild: topic %s has no partition (is the topic prefix right?)", t)
		}
	}
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: reqs})
	if err != nil {
		return nil, fmt.Errorf("rebuild: offsets of %v: %w", topics, err)
	}
	var out []span
	for _, t := range topics {
		pos := offs.Topics[t]
		slices.SortFunc(pos, func(a, b kafka.PartitionOffsets) int { return a.Partition - b.Partition })
		for _, po := range pos {
			if po.Error != nil {
				return nil, fmt.Errorf("rebuild: offsets of %s/%d: %w", t, po.Partition, po.Error)
			}
			s := span{topic: t, partition: po.Partition, first: po.FirstOffset, end: po.LastOffset}
			if i := slices.IndexFunc(after, func(a span) bool { return a.topic == t && a.partition == po.Partition }); i >= 0 {
				s.first = max(s.first, after[i].end)
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// parallelReads bounds the partitions read at once.
const parallelReads = 8

// readerMaxWait bounds a partition reader's fetch: closing a reader waits
// for its fetch in flight, which waits that long when the partition has
// nothing more.
const readerMaxWait = 100 * time.Millisecond

// readAll returns the events the projection follows of spans, partition
// after partition, each in offset order; it reads up to parallelReads
// partitions at once.
func (r *reader) readAll(ctx context.Context, spans []span) ([]retained, error) {
	parts := make([][]retained, len(spans))
	counts := make([][2]int, len(spans))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelReads)
	for i, s := range spans {
		g.Go(func() error {
			var err error
			parts[i], counts[i], err = r.read(gctx, s)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []retained
	for i := range spans {
		out = append(out, parts[i]...)
		r.messages += counts[i][0]
		r.ignored += counts[i][1]
	}
	return out, nil
}

// read returns the events of span s the projection follows, and how many
// messages it read and did not apply, with a reader of its own.
func (r *reader) read(ctx context.Context, s span) (out []retained, counts [2]int, err error) {
	if s.first >= s.end {
		return nil, counts, nil
	}
	kr := kafka.NewReader(kafka.ReaderConfig{
		Brokers: r.brokers, Topic: s.topic, Partition: s.partition,
		MinBytes: 1, MaxBytes: 10 << 20, MaxWait: readerMaxWait,
	})
	defer func() {
		if cerr := kr.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("rebuild: closing the reader of %s/%d: %w", s.topic, s.partition, cerr)
		}
	}()
	if err := kr.SetOffset(s.first); err != nil {
		return nil, counts, fmt.Errorf("rebuild: seeking %s/%d to %d: %w", s.topic, s.partition, s.first, err)
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, r.timeout)
		m, err := kr.ReadMessage(rctx)
		cancel()
		if err != nil {
			return nil, counts, fmt.Errorf("rebuild: reading %s/%d at offset %d of %d: %w", s.topic, s.partition, kr.Offset(), s.end, err)
		}
		if m.Offset >= s.end {
			return out, counts, nil // past the mark (the last offsets held no message)
		}
		counts[0]++
		e, derr := events.Decode(m.Value)
		if derr != nil || !r.follows(e.Type) {
			counts[1]++
		} else {
			out = append(out, retained{event: e, at: m.Time, ref: fmt.Sprintf("%s/%d@%d", m.Topic, m.Partition, m.Offset)})
		}
		if m.Offset >= s.end-1 {
			return out, counts, nil
		}
	}
}
