package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Publisher publishes messages and returns once the broker acknowledged all
// of them. An error means some may have been published and some not.
type Publisher interface {
	Publish(ctx context.Context, msgs ...kafka.Message) error
}

// Relay defaults.
const (
	DefaultBatchSize    = 200
	DefaultPollInterval = 500 * time.Millisecond
)

// RelayConfig configures a Relay.
type RelayConfig struct {
	Service   string // names the relay in logs and metrics
	DB        *sqldb.DB
	Outbox    *Outbox // the outbox whose commits wake the relay
	Publisher Publisher
	// BatchSize bounds the messages published in one request
	// (DefaultBatchSize). Under load, what accumulated while a batch was in
	// flight goes out in the next one.
	BatchSize int
	// PollInterval is how often the relay looks for rows without being
	// woken (DefaultPollInterval): rows committed by another process, or
	// left by a crash.
	PollInterval time.Duration
	Logger       *slog.Logger
	// Metrics receives the relay's metrics, and its scrapes read the
	// backlog of DB's outbox; nil: no metrics.
	Metrics *Metrics
}

// Relay publishes one database's outbox.
//
// Several processes of one service share its database (a service scaled
// out), and so its outbox. On PostgreSQL only one of their relays
// publishes at a time: the one holding the outbox lock, a session-level
// advisory lock taken on a connection of its own (one of the pool's); the others stand by and
// try to take it every poll interval, so when the publishing process dies
// (its session ends and the lock with it) another takes over within a poll
// interval. A relay that loses its connection stops publishing until it
// holds the lock again; in the moment before it notices, a new holder may
// publish the same rows too, which the consumers' inboxes skip. On SQLite,
// a file one process uses, the relay always publishes.
//
// Deleting the rows of a batch the broker acknowledged runs while the relay
// reads and publishes the next batch, which skips those rows: the commit of
// the delete is off the path of the next events.
type Relay struct {
	cfg RelayConfig
	// acked holds the ids of rows published and acknowledged whose delete
	// has not committed yet; reads skip them. Only the goroutine running
	// Run or Flush uses it and deleting.
	acked map[int64]struct{}
	// deleting delivers the outcome of the delete in flight, nil when
	// none is.
	deleting chan deleteResult
}

// deleteResult is the outcome of deleting published rows.
type deleteResult struct {
	ids []int64
	err error
}

// NewRelay returns a relay.
func NewRelay(cfg RelayConfig) *Relay {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = cfg.Logger.With("component", "outbox-relay", "service", cfg.Service)
	cfg.Metrics.watch(cfg.Service, cfg.DB)
	return &Relay{cfg: cfg, acked: map[int64]struct{}{}}
}

// Run publishes until ctx ends: at once (rows left from before a restart),
// then whenever a commit wakes it or the poll interval passed. A failed
// publish is retried with backoff; it never loses a row. Run returns nil
// when ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	if r.cfg.DB.Dialect() != sqldb.Postgres {
		return r.publish(ctx, nil)
	}
	for {
		lock, err := r.lead(ctx)
		if err != nil {
			return nil // ctx ended
		}
		err = r.publish(ctx, lock)
		_ = lock.Close() // ends the session's lock, if the session is still there
		if ctx.Err() != nil {
			return err
		}
		r.cfg.Logger.Warn("lost the outbox lock's connection; standing by until it holds the lock again")
	}
}

// errLostLock says the connection holding the outbox lock failed.
var errLostLock = errors.New("the connection holding the outbox lock failed")

// outboxLockKey is the key of the advisory lock a relay holds while it
// publishes a PostgreSQL outbox (each service's outbox is in a database of
// its own).
const outboxLockKey int64 = 0x6f7574626f78 // "outbox"

// lead returns a connection holding the outbox lock, trying every poll
// interval until it gets it; an error only when ctx ends.
func (r *Relay) lead(ctx context.Context) (*sql.Conn, error) {
	standingBy := false
	for {
		conn, err := r.cfg.DB.Conn(ctx)
		if err == nil {
			var held bool
			if err = conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, outboxLockKey).Scan(&held); err == nil && held {
				if standingBy {
					r.cfg.Logger.Info("holds the outbox lock: publishing")
				}
				return conn, nil
			}
			_ = conn.Close()
		}
		if err != nil && ctx.Err() == nil {
			r.cfg.Logger.Warn("taking the outbox lock failed; retrying", "error", err)
		} else if !standingBy && ctx.Err() == nil {
			r.cfg.Logger.Info("another process's relay publishes this outbox; standing by")
			standingBy = true
		}
		if !sleep(ctx, r.cfg.PollInterval) {
			return nil, ctx.Err()
		}
	}
}

// publish publishes until ctx ends, or, when lock is not nil, until the
// connection holding the outbox lock fails (checked every poll interval
// and after every failed publish).
func (r *Relay) publish(ctx context.Context, lock *sql.Conn) error {
	alive := func() bool {
		if lock == nil {
			return true
		}
		pctx, cancel := context.WithTimeout(ctx, r.cfg.PollInterval+5*time.Second)
		defer cancel()
		return lock.PingContext(pctx) == nil || ctx.Err() != nil
	}
	poll := time.NewTicker(r.cfg.PollInterval)
	defer poll.Stop()
	defer func() {
		if err := r.awaitDelete(); err != nil { // those rows go out again after a restart
			r.cfg.Logger.Warn("deleting published outbox rows failed", "error", err)
		}
	}()
	backoff := time.Duration(0)
	for {
		_, err := r.flush(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			backoff = min(max(2*backoff, 50*time.Millisecond), 5*time.Second)
			r.cfg.Logger.Warn("publishing the outbox failed; retrying", "error", err, "retry_in", backoff)
			r.cfg.Metrics.failed(r.cfg.Service)
			if !sleep(ctx, backoff) {
				return nil
			}
			if !alive() {
				return errLostLock
			}
			continue
		}
		backoff = 0
		select {
		case <-ctx.Done():
			return nil
		case <-r.cfg.Outbox.wake:
		case <-poll.C:
			if !alive() {
				return errLostLock
			}
		}
	}
}

// Flush publishes every row waiting now, in batches, deletes them, and
// returns how many it published. Do not call it while Run runs.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	n, err := r.flush(ctx)
	if derr := r.awaitDelete(); err == nil {
		err = derr
	}
	return n, err
}

// flush publishes every row waiting now, in batches, and returns how many
// it published; the delete of the last batch may still be running.
func (r *Relay) flush(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := r.publishBatch(ctx)
		total += n
		if err != nil || n < r.cfg.BatchSize {
			return total, err
		}
	}
}

// publishBatch publishes the oldest rows not yet published, up to a batch,
// and starts deleting them once acknowledged.
func (r *Relay) publishBatch(ctx context.Context) (int, error) {
	rows, err := r.cfg.DB.QueryContext(ctx,
		"SELECT id, topic, msg_key, msg_value, headers, created_at FROM outbox ORDER BY id LIMIT $1",
		r.cfg.BatchSize+len(r.acked))
	if err != nil {
		return 0, fmt.Errorf("reading the outbox of %s: %w", r.cfg.Service, err)
	}
	var (
		ids     []int64
		msgs    []kafka.Message
		created []int64
	)
	for len(msgs) < r.cfg.BatchSize && rows.Next() {
		var (
			id      int64
			m       kafka.Message
			headers string
			at      int64
		)
		if err := rows.Scan(&id, &m.Topic, &m.Key, &m.Value, &headers, &at); err != nil {
			rows.Close()
			return 0, fmt.Errorf("reading the outbox of %s: %w", r.cfg.Service, err)
		}
		if _, done := r.acked[id]; done {
			continue // published; its delete has not committed yet
		}
		var hs []header
		if err := json.Unmarshal([]byte(headers), &hs); err != nil {
			rows.Close()
			return 0, fmt.Errorf("outbox row %d of %s: bad headers: %w", id, r.cfg.Service, err)
		}
		for _, h := range hs {
			m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: h.Value})
		}
		ids = append(ids, id)
		msgs = append(msgs, m)
		created = append(created, at)
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("reading the outbox of %s: %w", r.cfg.Service, err)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reading the outbox of %s: %w", r.cfg.Service, err)
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	if err := r.cfg.Publisher.Publish(ctx, msgs...); err != nil {
		return 0, fmt.Errorf("publishing %d outbox messages of %s: %w", len(msgs), r.cfg.Service, err)
	}
	r.cfg.Metrics.published(r.cfg.Service, created, messageBytes(msgs), time.Now())
	for _, id := range ids {
		r.acked[id] = struct{}{}
	}
	if err := r.awaitDelete(); err != nil {
		r.cfg.Logger.Warn("deleting published outbox rows failed; retrying with the next ones", "error", err)
	}
	r.startDelete(ctx)
	return len(msgs), nil
}

// startDelete starts deleting every acknowledged row. The delete is not
// bound to ctx: the messages are published, and forgetting that would only
// publish them again. Call it with no delete in flight.
func (r *Relay) startDelete(ctx context.Context) {
	ids := make([]int64, 0, len(r.acked))
	for id := range r.acked {
		ids = append(ids, id)
	}
	done := make(chan deleteResult, 1)
	r.deleting = done
	dctx := context.WithoutCancel(ctx)
	go func() {
		dctx, cancel := context.WithTimeout(dctx, 30*time.Second)
		defer cancel()
		done <- deleteResult{ids: ids, err: deleteRows(dctx, r.cfg.DB, ids)}
	}()
}

// awaitDelete waits for the delete in flight, if any, forgets the rows it
// deleted, and returns its error (those rows are deleted by the next one).
func (r *Relay) awaitDelete() error {
	if r.deleting == nil {
		return nil
	}
	res := <-r.deleting
	r.deleting = nil
	if res.err != nil {
		return fmt.Errorf("deleting %d published outbox rows of %s: %w", len(res.ids), r.cfg.Service, res.err)
	}
	for _, id := range res.ids {
		delete(r.acked, id)
	}
	return nil
}

// messageBytes returns the bytes of msgs' keys, values and headers (keys
// and values of the headers): what the messages carry, without the
// protocol's framing.
func messageBytes(msgs []kafka.Message) int {
	n := 0
	for _, m := range msgs {
		n += len(m.Key) + len(m.Value)
		for _, h := range m.Headers {
			n += len(h.Key) + len(h.Value)
		}
	}
	return n
}

// deleteChunk bounds the ids of one DELETE statement on SQLite, which
// takes each as a parameter.
const deleteChunk = 500

// deleteRows deletes the outbox rows with the given ids: one statement on
// PostgreSQL; on SQLite a transaction, which queues for the database's
// write lock with the others.
func deleteRows(ctx context.Context, db *sqldb.DB, ids []int64) error {
	if db.Dialect() == sqldb.Postgres {
		_, err := db.ExecCommit(ctx, "DELETE FROM outbox WHERE id = ANY($1)", ids)
		return err
	}
	return db.InTx(ctx, func(tx *sqldb.Tx) error {
		for len(ids) > 0 {
			chunk := ids[:min(len(ids), deleteChunk)]
			ids = ids[len(chunk):]
			var q strings.Builder
			args := make([]any, len(chunk))
			q.WriteString("DELETE FROM outbox WHERE id IN (")
			for i, id := range chunk {
				if i > 0 {
					q.WriteString(", ")
				}
				fmt.Fprintf(&q, "$%d", i+1)
				args[i] = id
			}
			q.WriteString(")")
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// sleep waits for d or until ctx ends, and reports whether ctx is still
// live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
