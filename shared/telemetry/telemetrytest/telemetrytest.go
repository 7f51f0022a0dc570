// Package telemetrytest checks recorded spans in tests: that the spans of
// one order form one connected trace, rooted at the HTTP request that
// placed it, with every service's work in it.
package telemetrytest

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/shared/telemetry"
)

// Want is what the trace of an order must hold besides being connected.
type Want struct {
	// Root is the name of the root span, a server span ("POST /v1/orders").
	Root string
	// Services must each have done some of the work: a span with that
	// service attribute.
	Services []string
	// Spans are names of spans the trace must hold (for instance the last
	// one to end).
	Spans []string
}

// CheckOrderTrace checks the spans recorded about one order:
//   - every span carrying the order's order_id is in one trace;
//   - every span of that trace carries the order_id and a service;
//   - the trace has one root, a server span named want.Root, and every
//     other span's parent is a span of the trace (it is connected);
//   - the services and span names of want are there.
//
// It returns what is wrong, with the trace drawn as a tree, or nil.
func CheckOrderTrace(spans tracetest.SpanStubs, orderID string, want Want) error {
	traces := map[trace.TraceID]bool{}
	for _, s := range spans {
		if attr(s, telemetry.AttrOrderID) == orderID {
			traces[s.SpanContext.TraceID()] = true
		}
	}
	switch len(traces) {
	case 0:
		return fmt.Errorf("no span has order_id %s", orderID)
	case 1:
	default:
		return fmt.Errorf("the spans with order_id %s are in %d traces, want one", orderID, len(traces))
	}
	var tr tracetest.SpanStubs
	for _, s := range spans {
		if traces[s.SpanContext.TraceID()] {
			tr = append(tr, s)
		}
	}
	ids := map[trace.SpanID]bool{}
	for _, s := range tr {
		ids[s.SpanContext.SpanID()] = true
	}
	var errList []error
	var roots []string
	services := map[string]bool{}
	names := map[string]bool{}
	for _, s := range tr {
		names[s.Name] = true
		services[attr(s, telemetry.AttrService)] = true
		if got := attr(s, telemetry.AttrOrderID); got != orderID {
			errList = append(errList, fmt.Errorf("span %q has order_id %q", s.Name, got))
		}
		if attr(s, telemetry.AttrService) == "" {
			errList = append(errList, fmt.Errorf("span %q has no service", s.Name))
		}
		switch {
		case !s.Parent.IsValid():
			roots = append(roots, s.Name)
			if s.Name != want.Root || s.SpanKind != trace.SpanKindServer {
				errList = append(errList, fmt.Errorf("root span %q (%v), want the server span %q", s.Name, s.SpanKind, want.Root))
			}
		case !ids[s.Parent.SpanID()]:
			errList = append(errList, fmt.Errorf("span %q has a parent %s that is not in the trace", s.Name, s.Parent.SpanID()))
		}
	}
	if len(roots) != 1 {
		errList = append(errList, fmt.Errorf("%d root spans %q, want one", len(roots), roots))
	}
	for _, svc := range want.Services {
		if !services[svc] {
			errList = append(errList, fmt.Errorf("no span of service %s", svc))
		}
	}
	for _, n := range want.Spans {
		if !names[n] {
			errList = append(errList, fmt.Errorf("no span %q", n))
		}
	}
	if len(errList) > 0 {
		return fmt.Errorf("trace of order %s:\n%s\n%w", orderID, Tree(tr), errors.Join(errList...))
	}
	return nil
}

// Tree draws spans as the trees their parent links make, each span as
// "name [service]", children in start order under their parent; spans
// whose parent is missing are drawn as roots, marked.
func Tree(spans tracetest.SpanStubs) string {
	spans = slices.Clone(spans)
	slices.SortStableFunc(spans, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
	ids := map[trace.SpanID]bool{}
	children := map[trace.SpanID][]tracetest.SpanStub{}
	for _, s := range spans {
		ids[s.SpanContext.SpanID()] = true
	}
	var b strings.Builder
	var draw func(s tracetest.SpanStub, depth int, mark string)
	draw = func(s tracetest.SpanStub, depth int, mark string) {
		fmt.Fprintf(&b, "%s%s [%s]%s\n", strings.Repeat("  ", depth), s.Name, attr(s, telemetry.AttrService), mark)
		for _, c := range children[s.SpanContext.SpanID()] {
			draw(c, depth+1, "")
		}
	}
	var tops []tracetest.SpanStub
	for _, s := range spans {
		if s.Parent.IsValid() && ids[s.Parent.SpanID()] {
			children[s.Parent.SpanID()] = append(children[s.Parent.SpanID()], s)
		} else {
			tops = append(tops, s)
		}
	}
	for _, s := range tops {
		mark := ""
		if s.Parent.IsValid() {
			mark = " (parent " + s.Parent.SpanID().String() + " missing)"
		}
		draw(s, 0, mark)
	}
	return b.String()
}

// attr returns the value of a span's attribute as a string, or "".
func attr(s tracetest.SpanStub, key attribute.Key) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.String()
		}
	}
	return ""
}
