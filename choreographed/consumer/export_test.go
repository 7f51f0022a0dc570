package consumer

import "github.com/prometheus/client_golang/prometheus"

// MessagesCounter exposes the message counter to the tests.
func MessagesCounter(m *Metrics) *prometheus.CounterVec { return m.messages }

// DeadLettersCounter exposes the dead-letter counter to the tests.
func DeadLettersCounter(m *Metrics) *prometheus.CounterVec { return m.deadLetters }
