package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// Errors of decoding. Both mean the message can never be handled as it is:
// consumers dead-letter it instead of retrying.
var (
	// ErrMalformed: the bytes are not an envelope, or its payload does not
	// fit its type.
	ErrMalformed = errors.New("malformed event")
	// ErrUnsupportedVersion: the event's schema version is newer than the
	// reader reads, and readers of its version cannot read it (see Reader).
	ErrUnsupportedVersion = errors.New("unsupported event schema version")
)

// Kafka header names. The envelope in the message value is the source of
// truth; the headers repeat what a tool (or a router) wants without decoding
// the value, and carry the W3C trace context.
const (
	HeaderContentType   = "content-type"
	HeaderEventType     = "event-type"
	HeaderEventID       = "event-id"
	HeaderSchemaVersion = "schema-version"
	// HeaderSchemaMinReader is the envelope's min_reader_version.
	HeaderSchemaMinReader = "schema-min-reader"
	HeaderTraceParent     = "traceparent"
	HeaderTraceState      = "tracestate"

	// Dead-letter headers, added when a consumer gives up on a message.
	HeaderDLQReason            = "dlq-reason"
	HeaderDLQOriginalTopic     = "dlq-original-topic"
	HeaderDLQOriginalPartition = "dlq-original-partition"
	HeaderDLQOriginalOffset    = "dlq-original-offset"
	HeaderDLQConsumerGroup     = "dlq-consumer-group"
	HeaderDLQFailedAt          = "dlq-failed-at"
	HeaderDLQAttempts          = "dlq-attempts"
	// HeaderDLQReplayedFrom marks a message replayed from the dead-letter
	// topic: "<partition>/<offset>" of the dead letter.
	HeaderDLQReplayedFrom = "dlq-replayed-from"

	// Redelivery headers, added when a consumer parks a message on a
	// redelivery topic after its quick retries failed.
	HeaderRetryAttempt       = "retry-attempt"         // redeliveries so far, this one included (1, 2, …)
	HeaderRetryDueAt         = "retry-due-at"          // RFC 3339: not to be handled before
	HeaderRetryFirstFailedAt = "retry-first-failed-at" // RFC 3339: when its first attempt failed
	HeaderRetryLastError     = "retry-last-error"
	HeaderRetryOriginalTopic = "retry-original-topic"
	HeaderRetryGroup         = "retry-group"
)

// ContentTypeJSON is the media type of every event value.
const ContentTypeJSON = "application/json"

// Envelope is one event on the wire: metadata plus a JSON payload whose shape
// depends on Type (see doc.go).
type Envelope struct {
	// EventID is unique per event (a UUIDv7); redeliveries keep it, so
	// consumers deduplicate on it.
	EventID string `json:"event_id"`
	Type    Type   `json:"type"`
	// SchemaVersion is the version of the payload's shape for Type.
	SchemaVersion int `json:"schema_version"`
	// MinReaderVersion is the oldest reader version of Type that can read
	// the event (see Type.MinReader): below SchemaVersion when the version
	// only adds to the one before. 0 (absent) means SchemaVersion.
	MinReaderVersion int `json:"min_reader_version,omitempty"`
	// OrderID is the order the event is about; it is also the Kafka key.
	OrderID    string    `json:"order_id"`
	Producer   Service   `json:"producer"`
	OccurredAt time.Time `json:"occurred_at"`
	// CausationID is the EventID of the event whose handling emitted this
	// one; empty for an event caused by a client request.
	CausationID string `json:"causation_id,omitempty"`
	// CorrelationID is the EventID of the event that started the chain this
	// one belongs to: OrderPlaced for the saga, OrderCancelRequested for the
	// cancel chain.
	CorrelationID string          `json:"correlation_id"`
	Data          json.RawMessage `json:"data"`

	// readAs is the version a Reader reads the payload as; 0 until one
	// did (As then reads it as this software's newest).
	readAs int
}

// minReader returns the oldest reader version that can read e.
func (e *Envelope) minReader() int {
	if e.MinReaderVersion > 0 {
		return e.MinReaderVersion
	}
	return e.SchemaVersion
}

// ReadVersion returns the version As and AsStep decode the payload as:
// the one a Reader chose (see Reader.Read), else the event's own version
// or, when newer than this software reads, this software's newest.
func (e *Envelope) ReadVersion() int {
	if e.readAs > 0 {
		return e.readAs
	}
	return min(e.SchemaVersion, e.Type.SchemaVersion())
}

// New builds the envelope of a new event about an order, at the newest
// version of its type. cause is the event being handled when this one is
// emitted, nil when a client request caused it; the new event inherits its
// correlation id.
func New(p Payload, orderID string, cause *Envelope, at time.Time) (*Envelope, error) {
	return NewVersion(p, 0, orderID, cause, at)
}

// NewVersion is New writing the payload as version v of its type (0: the
// newest), for a rollout in which some consumers do not read the newest
// yet (see Versions). The envelope says the oldest reader version that
// can read it (Type.MinReader).
func NewVersion(p Payload, v int, orderID string, cause *Envelope, at time.Time) (*Envelope, error) {
	t, producer := p.EventType(), p.EventProducer()
	if t == "" || producer == "" {
		return nil, fmt.Errorf("new event: payload %T names no type or producer", p)
	}
	newest := t.SchemaVersion()
	if v == 0 {
		v = newest
	}
	var body any = p
	if v != newest {
		d, ok := p.(downcaster)
		if !ok || v < FirstVersion || v > newest {
			return nil, fmt.Errorf("new event: %s has no version %d to write (versions %d to %d)", t, v, FirstVersion, newest)
		}
		body = d.writeAs(v)
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encoding %s payload: %w", t, err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("new %s event id: %w", t, err)
	}
	e := &Envelope{
		EventID:          id.String(),
		Type:             t,
		SchemaVersion:    v,
		MinReaderVersion: t.MinReader(v),
		OrderID:          orderID,
		Producer:         producer,
		OccurredAt:       at.UTC(),
		Data:             data,
	}
	if cause != nil {
		e.CausationID = cause.EventID
		e.CorrelationID = cause.CorrelationID
	}
	if e.CorrelationID == "" {
		e.CorrelationID = e.EventID
	}
	return e, nil
}

// Message returns the Kafka message that carries the event: on its
// producer's topic, keyed by order id (so one order's events stay in order
// on each topic), with the trace context of ctx in its headers (a child of
// the span in ctx, or a new trace).
func (e *Envelope) Message(ctx context.Context, topics Topics) (kafka.Message, error) {
	if e.Producer == "" {
		return kafka.Message{}, fmt.Errorf("publishing event %s: no producer", e.EventID)
	}
	topic := topics.Of(e.Producer)
	value, err := json.Marshal(e)
	if err != nil {
		return kafka.Message{}, fmt.Errorf("encoding event %s: %w", e.EventID, err)
	}
	headers := []kafka.Header{
		{Key: HeaderContentType, Value: []byte(ContentTypeJSON)},
		{Key: HeaderEventType, Value: []byte(e.Type)},
		{Key: HeaderEventID, Value: []byte(e.EventID)},
		{Key: HeaderSchemaVersion, Value: []byte(strconv.Itoa(e.SchemaVersion))},
		{Key: HeaderSchemaMinReader, Value: []byte(strconv.Itoa(e.minReader()))},
	}
	headers = InjectTrace(ctx, headers)
	return kafka.Message{Topic: topic, Key: []byte(e.OrderID), Value: value, Headers: headers}, nil
}

// Decode reads an envelope from a message value. Errors wrap ErrMalformed.
// The payload is not decoded; see As.
func Decode(value []byte) (*Envelope, error) {
	dec := json.NewDecoder(bytes.NewReader(value))
	var e Envelope
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the envelope", ErrMalformed)
	}
	switch {
	case e.EventID == "":
		return nil, fmt.Errorf("%w: no event_id", ErrMalformed)
	case e.Type == "":
		return nil, fmt.Errorf("%w: event %s has no type", ErrMalformed, e.EventID)
	case e.SchemaVersion < FirstVersion:
		return nil, fmt.Errorf("%w: event %s has schema_version %d", ErrMalformed, e.EventID, e.SchemaVersion)
	case e.MinReaderVersion < 0 || e.MinReaderVersion > e.SchemaVersion:
		return nil, fmt.Errorf("%w: event %s of schema_version %d has min_reader_version %d", ErrMalformed, e.EventID, e.SchemaVersion, e.MinReaderVersion)
	case !domain.ValidID(e.OrderID):
		return nil, fmt.Errorf("%w: event %s has a bad order_id %q", ErrMalformed, e.EventID, e.OrderID)
	case e.OccurredAt.IsZero():
		return nil, fmt.Errorf("%w: event %s has no occurred_at", ErrMalformed, e.EventID)
	case len(e.Data) == 0 || e.Data[0] != '{':
		return nil, fmt.Errorf("%w: event %s has no data object", ErrMalformed, e.EventID)
	}
	return &e, nil
}

// As decodes the payload of e as T, checking that e is of T's type and of a
// schema version the reader reads (see Reader; without one, the versions
// this software knows). A payload read as an older version than T's
// newest is upcast to it: T fills what it can and marks what is missing.
// Errors wrap ErrMalformed or ErrUnsupportedVersion.
func As[T Payload](e *Envelope) (T, error) {
	var p T
	if e.Type != p.EventType() {
		return p, fmt.Errorf("%w: event %s is a %s, not a %s", ErrMalformed, e.EventID, e.Type, p.EventType())
	}
	err := e.decode(&p)
	return p, err
}

// decode decodes the payload into p, checking the schema version, and
// upcasts it when read as an older version than the newest.
func (e *Envelope) decode(p any) error {
	if e.readAs == 0 {
		read, err := Reader{}.Read(e)
		if err != nil {
			return err
		}
		e = read
	}
	if err := json.Unmarshal(e.Data, p); err != nil {
		return fmt.Errorf("%w: %s payload of event %s: %v", ErrMalformed, e.Type, e.EventID, err)
	}
	if u, ok := p.(upcaster); ok && e.readAs < e.Type.SchemaVersion() {
		u.upcastFrom(e.readAs, e)
	}
	return nil
}

// Header returns the value of the named header, or "".
func Header(headers []kafka.Header, key string) string {
	for _, h := range headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// SetHeader returns headers with key set to value, replacing an existing
// header of that name.
func SetHeader(headers []kafka.Header, key, value string) []kafka.Header {
	for i, h := range headers {
		if h.Key == key {
			out := append([]kafka.Header(nil), headers...)
			out[i].Value = []byte(value)
			return out
		}
	}
	return append(headers, kafka.Header{Key: key, Value: []byte(value)})
}
