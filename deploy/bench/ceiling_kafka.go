package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/choreographed/broker"
)

// The shape of the Kafka ceiling's pipeline: a client writes a message to
// the first topic, stages forward it topic to topic, and a sink reads the
// last topic and completes the message: pipelineHops writes and reads, as
// an order's events go orders → inventory → payment → shipping → orders.
const (
	pipelineHops = 4
	maxForward   = 100 // messages a stage forwards and commits at once
	// probeAttempt bounds one message of the probe.
	probeAttempt = 10 * time.Second
)

// pipeline is the Kafka ceiling: a writer into the first topic, the
// stages, and the clients waiting for their messages at the sink.
type pipeline struct {
	brokers []string
	topics  []string
	in      *kafka.Writer
	stages  []*stage
	timeout time.Duration
	log     *slog.Logger
	stop    context.CancelFunc // ends the stages
	// transport carries the writers' requests.
	transport *kafka.Transport

	mu      sync.Mutex
	waiters map[string]chan struct{}
}

// stage is one consumer group of the pipeline: it forwards what it reads
// to the next topic, or, as the sink, hands it to its client.
type stage struct {
	r       *kafka.Reader
	w       *kafka.Writer                 // nil for the sink
	deliver func(m kafka.Message)         // the sink's
	warn    func(msg string, args ...any) // logs a failure
	done    chan struct{}                 // closed when run returned
}

// runKafkaCeiling measures the no-op pipeline at each concurrency.
func runKafkaCeiling(ctx context.Context, opts Options, prog *progress, seq *atomic.Uint64) CeilingResult {
	res := CeilingResult{
		Framework: FrameworkKafka,
		Description: fmt.Sprintf("no-op pipeline of %d hops: a client writes to topic 1, consumer groups forward 1→2, 2→3, 3→4 "+
			"(fetch what is queued up to %d, write, then commit), a last group reads topic 4 and completes the message; "+
			"RequireAll acks, BatchTimeout %v, offsets committed every %v, %d partitions, on %v (the choreographed variant's settings)",
			pipelineHops, maxForward, broker.WriterBatchTimeout, broker.CommitInterval, opts.Kafka.Partitions, opts.Kafka.Brokers),
	}
	prog.note("kafka ceiling: starting a %d-hop pipeline on %v (consumer groups take seconds to settle)", pipelineHops, opts.Kafka.Brokers)
	pctx, cancel := context.WithTimeout(ctx, opts.ProbeTimeout)
	defer cancel()
	p, err := startPipeline(pctx, opts)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer p.close()
	if r := p.probe(pctx, seq); r.Outcome != Succeeded {
		res.Error = fmt.Sprintf("the first message did not arrive: %s %s", r.Outcome, r.Detail)
		return res
	}
	for _, n := range opts.Concurrencies {
		pt := measure(ctx, opts, prog, fmt.Sprintf("%-14s closed c=%d", "kafka", n), n, func(ctx context.Context, rec *recorder) {
			runClosed(ctx, rec, n, p.send, seq)
		})
		pt.Mode, pt.Clients = ModeClosed, n
		res.Closed = append(res.Closed, pt)
		if ctx.Err() != nil {
			break
		}
	}
	return res
}

// startPipeline creates the pipeline's topics and starts its stages.
func startPipeline(ctx context.Context, opts Options) (_ *pipeline, err error) {
	k := opts.Kafka
	p := &pipeline{brokers: k.Brokers, timeout: opts.OrderTimeout, log: opts.logger().With("component", "kafka-ceiling"), waiters: map[string]chan struct{}{}}
	for i := range pipelineHops {
		p.topics = append(p.topics, fmt.Sprintf("%s.ceiling.hop%d", opts.RunID, i+1))
	}
	if err := createTopics(ctx, k.Brokers, p.topics, k.Partitions); err != nil {
		return nil, err
	}
	// A transport of the pipeline's own: the process's default one may
	// hold metadata from before the topics existed.
	p.transport = &kafka.Transport{MetadataTTL: time.Second}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	p.in = p.newWriter(p.topics[0])
	for i, t := range p.topics {
		s := &stage{
			r: kafka.NewReader(kafka.ReaderConfig{
				Brokers:           k.Brokers,
				GroupID:           fmt.Sprintf("%s.ceiling.stage%d", opts.RunID, i+1),
				Topic:             t,
				StartOffset:       kafka.FirstOffset,
				CommitInterval:    broker.CommitInterval, // as the choreographed variant's readers
				QueueCapacity:     1000,
				MinBytes:          1,
				MaxBytes:          10 << 20,
				MaxWait:           broker.ReaderMaxWait,
				HeartbeatInterval: time.Second,
				SessionTimeout:    10 * time.Second,
				RebalanceTimeout:  10 * time.Second,
				JoinGroupBackoff:  500 * time.Millisecond,
				ReadBackoffMin:    50 * time.Millisecond,
				ReadBackoffMax:    time.Second,
				MaxAttempts:       5,
				ErrorLogger:       kafka.LoggerFunc(func(msg string, args ...any) { p.log.Warn(fmt.Sprintf(msg, args...)) }),
			}),
			warn: p.log.Warn,
			done: make(chan struct{}),
		}
		if i+1 < len(p.topics) {
			s.w = p.newWriter(p.topics[i+1])
		} else {
			s.deliver = p.arrived
		}
		p.stages = append(p.stages, s)
	}
	p.start()
	return p, nil
}

// newWriter returns a writer to topic configured as the choreographed
// variant's: every replica acknowledges, and a batch waits at most
// broker.WriterBatchTimeout for more messages.
func (p *pipeline) newWriter(topic string) *kafka.Writer {
	log := p.log
	return &kafka.Writer{
		Addr:         kafka.TCP(p.brokers...),
		Transport:    p.transport,
		Topic:        topic,
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: broker.WriterBatchTimeout,
		BatchSize:    maxForward,
		MaxAttempts:  5,
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 10 * time.Second,
		ErrorLogger:  kafka.LoggerFunc(func(msg string, args ...any) { log.Warn(fmt.Sprintf(msg, args...)) }),
	}
}

// start runs every stage until close.
func (p *pipeline) start() {
	var ctx context.Context
	ctx, p.stop = context.WithCancel(context.Background())
	for _, s := range p.stages {
		go func() {
			defer close(s.done)
			s.run(ctx)
		}()
	}
}

// run fetches messages, and forwards (or delivers) and commits them in
// batches of what is queued, until ctx ends.
func (s *stage) run(ctx context.Context) {
	msgs := make(chan kafka.Message, maxForward)
	go func() {
		defer close(msgs)
		for {
			m, err := s.r.FetchMessage(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.warn("fetching from the pipeline", "error", err)
				}
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	batch := make([]kafka.Message, 0, maxForward)
	out := make([]kafka.Message, 0, maxForward)
	for m := range msgs {
		batch = append(batch[:0], m)
	more:
		for len(batch) < maxForward {
			select {
			case m, ok := <-msgs:
				if !ok {
					break more
				}
				batch = append(batch, m)
			default:
				break more
			}
		}
		if s.w != nil {
			out = out[:0]
			for _, m := range batch {
				out = append(out, kafka.Message{Key: m.Key, Value: m.Value})
			}
			if err := s.w.WriteMessages(ctx, out...); err != nil {
				if ctx.Err() != nil {
					return
				}
				s.warn("forwarding in the pipeline", "error", err)
				continue // not committed: the group redelivers them
			}
		} else {
			for _, m := range batch {
				s.deliver(m)
			}
		}
		if err := s.r.CommitMessages(ctx, batch...); err != nil && ctx.Err() == nil {
			s.warn("committing in the pipeline", "error", err)
		}
	}
}

// probe sends messages until one goes through the whole pipeline, while
// the consumer groups settle, or ctx ends.
func (p *pipeline) probe(ctx context.Context, seq *atomic.Uint64) Result {
	for {
		r := p.sendWithin(ctx, seq.Add(1), probeAttempt)
		if r.Outcome == Succeeded || ctx.Err() != nil {
			return r
		}
		p.log.Debug("the pipeline is not through yet", "outcome", r.Outcome, "detail", r.Detail)
		select {
		case <-ctx.Done():
			return r
		case <-time.After(probeAttempt / 10):
		}
	}
}

// send writes message seq into the pipeline and waits until the sink has
// it.
func (p *pipeline) send(ctx context.Context, seq uint64) Result {
	return p.sendWithin(ctx, seq, p.timeout)
}

// sendWithin is send with its own timeout.
func (p *pipeline) sendWithin(ctx context.Context, seq uint64, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	key := strconv.FormatUint(seq, 10)
	arrived := make(chan struct{})
	p.mu.Lock()
	p.waiters[key] = arrived
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.waiters, key)
		p.mu.Unlock()
	}()
	if err := p.in.WriteMessages(ctx, kafka.Message{Key: []byte(key), Value: []byte(key)}); err != nil {
		if ctx.Err() != nil {
			return Result{Outcome: ErrTimeout, Detail: fmt.Sprintf("not written within %v", timeout)}
		}
		return Result{Outcome: ErrServer, Detail: truncate("writing: " + err.Error())}
	}
	select {
	case <-arrived:
		return Result{Outcome: Succeeded}
	case <-ctx.Done():
		return Result{Outcome: ErrTimeout, Detail: fmt.Sprintf("not through the pipeline within %v", timeout)}
	}
}

// arrived completes the message m for its client.
func (p *pipeline) arrived(m kafka.Message) {
	p.mu.Lock()
	ch, ok := p.waiters[string(m.Key)]
	delete(p.waiters, string(m.Key))
	p.mu.Unlock()
	if ok {
		close(ch)
	}
}

// close stops the stages, closes the readers (leaving the groups) and
// writers, and deletes the topics.
func (p *pipeline) close() {
	var errList []error
	if p.stop != nil {
		p.stop()
		for _, s := range p.stages {
			<-s.done
		}
	}
	for _, s := range p.stages {
		if err := s.r.Close(); err != nil {
			errList = append(errList, err)
		}
		if s.w != nil {
			if err := s.w.Close(); err != nil {
				errList = append(errList, err)
			}
		}
	}
	if p.in != nil {
		if err := p.in.Close(); err != nil {
			errList = append(errList, err)
		}
	}
	if p.transport != nil {
		p.transport.CloseIdleConnections()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := deleteTopics(ctx, p.brokers, p.topics); err != nil {
		errList = append(errList, err)
	}
	if err := errors.Join(errList...); err != nil {
		p.log.Warn("closing the pipeline", "error", err)
	}
}

// controller connects to the cluster's controller, which creates and
// deletes topics.
func controller(ctx context.Context, brokers []string) (*kafka.Conn, error) {
	var d kafka.Dialer
	conn, err := d.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return nil, fmt.Errorf("connecting to kafka at %s: %w", brokers[0], err)
	}
	defer conn.Close()
	b, err := conn.Controller()
	if err != nil {
		return nil, fmt.Errorf("finding the kafka controller: %w", err)
	}
	addr := net.JoinHostPort(b.Host, strconv.Itoa(b.Port))
	cc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to the kafka controller at %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = cc.SetDeadline(dl)
	}
	return cc, nil
}

func createTopics(ctx context.Context, brokers, topics []string, partitions int) error {
	conn, err := controller(ctx, brokers)
	if err != nil {
		return err
	}
	defer conn.Close()
	configs := make([]kafka.TopicConfig, len(topics))
	for i, t := range topics {
		configs[i] = kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: 1}
	}
	if err := conn.CreateTopics(configs...); err != nil {
		return fmt.Errorf("creating the pipeline's topics: %w", err)
	}
	return nil
}

func deleteTopics(ctx context.Context, brokers, topics []string) error {
	conn, err := controller(ctx, brokers)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.DeleteTopics(topics...); err != nil {
		return fmt.Errorf("deleting the pipeline's topics: %w", err)
	}
	return nil
}
