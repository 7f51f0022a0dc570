package consumer

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// MessagesCounter exposes the message counter to the tests.
func MessagesCounter(m *Metrics) *prometheus.CounterVec { return m.messages }

// DeadLettersCounter exposes the dead-letter counter to the tests.
func DeadLettersCounter(m *Metrics) *prometheus.CounterVec { return m.deadLetters }

// PastDeadline exposes the redeliverer's give-up test to the tests.
func (r *Redeliverer) PastDeadline(headers []kafka.Header) bool { return r.pastDeadline(headers) }
