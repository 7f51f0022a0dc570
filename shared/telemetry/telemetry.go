// Package telemetry sets up OpenTelemetry tracing for a process: a tracer
// provider chosen by configuration (no tracing, spans written to a stream,
// or spans sent to an OTLP collector over gRPC), the attribute keys every
// span about an order carries, and a slog handler that adds the trace and
// span ids of a record's context to each log line.
//
// Nothing here is global: the provider is handed to what needs it (the
// REST API, the Temporal interceptor, the consumers and relays), never set
// as the OpenTelemetry global, so tests run several providers side by side.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// The exporters a Config may name.
const (
	// ExporterNone records nothing: a no-op tracer provider. The default.
	ExporterNone = "none"
	// ExporterStdout writes each finished span as JSON to Config.Writer
	// (standard output by default).
	ExporterStdout = "stdout"
	// ExporterOTLP sends spans to an OpenTelemetry collector with OTLP
	// over gRPC.
	ExporterOTLP = "otlp"
)

// Exporters returns the exporter names a Config takes.
func Exporters() []string { return []string{ExporterNone, ExporterStdout, ExporterOTLP} }

// Attribute keys of the spans about an order, so that a trace viewer finds
// every span of one order and tells which service did what.
const (
	// AttrOrderID is the order a span is about.
	AttrOrderID = attribute.Key("order_id")
	// AttrService is the service of the saga whose work a span is:
	// orders, inventory, payment or shipping.
	AttrService = attribute.Key("service")
)

// OrderID returns the order_id attribute.
func OrderID(id string) attribute.KeyValue { return AttrOrderID.String(id) }

// Service returns the service attribute.
func Service(name string) attribute.KeyValue { return AttrService.String(name) }

// Config chooses the tracer provider. The zero value traces nothing.
type Config struct {
	// Exporter is ExporterNone (or ""), ExporterStdout or ExporterOTLP.
	Exporter string
	// Endpoint is the OTLP collector: a URL (http://host:4317 for
	// plaintext, https://host:4317 for TLS) or host:port (plaintext).
	// Empty leaves it to the standard environment variables
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and OTEL_EXPORTER_OTLP_ENDPOINT,
	// and then to the SDK's default, https://localhost:4317.
	Endpoint string
	// ServiceName is the service.name resource attribute of every span
	// (the process's name in a trace viewer). Empty leaves it to the
	// standard OTEL_SERVICE_NAME, and then to the SDK's default.
	ServiceName string
	// SampleRatio is the share of new traces recorded, from 0 to 1; 0
	// means 1 (every trace). A span whose parent came with a request or
	// a message follows its parent's decision.
	SampleRatio float64
	// Writer receives the spans of ExporterStdout (os.Stdout when nil).
	Writer io.Writer
}

// Validate reports a setting that cannot work.
func (c Config) Validate() error {
	var errList []error
	switch c.Exporter {
	case "", ExporterNone, ExporterStdout, ExporterOTLP:
	default:
		errList = append(errList, fmt.Errorf("unknown trace exporter %q (want %s)", c.Exporter, strings.Join(Exporters(), ", ")))
	}
	if c.Endpoint != "" {
		if err := checkEndpoint(c.Endpoint); err != nil {
			errList = append(errList, err)
		}
	}
	if c.SampleRatio < 0 || c.SampleRatio > 1 {
		errList = append(errList, fmt.Errorf("trace sample ratio %v is not from 0 to 1", c.SampleRatio))
	}
	return errors.Join(errList...)
}

// checkEndpoint accepts http(s)://host:port URLs and host:port.
func checkEndpoint(endpoint string) error {
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("OTLP endpoint %q is not http://host:port, https://host:port or host:port", sqldb.Redact(endpoint))
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(endpoint); err != nil {
		return fmt.Errorf("OTLP endpoint %q is not http://host:port, https://host:port or host:port", sqldb.Redact(endpoint))
	}
	return nil
}

// Provider is a tracer provider with the means to stop it.
type Provider struct {
	trace.TracerProvider
	sdk *sdktrace.TracerProvider // nil for ExporterNone
}

// New returns the tracer provider cfg describes: a no-op one for
// ExporterNone, else an SDK provider that batches finished spans to the
// exporter. Call Shutdown when the process stops, so the last spans are
// sent. An OTLP collector is dialled lazily: New does not fail when it is
// down.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var exp sdktrace.SpanExporter
	switch cfg.Exporter {
	case "", ExporterNone:
		return &Provider{TracerProvider: noop.NewTracerProvider()}, nil
	case ExporterStdout:
		w := cfg.Writer
		if w == nil {
			w = os.Stdout
		}
		e, err := stdouttrace.New(stdouttrace.WithWriter(w))
		if err != nil {
			return nil, fmt.Errorf("creating the stdout trace exporter: %w", err)
		}
		exp = e
	case ExporterOTLP:
		var opts []otlptracegrpc.Option
		switch {
		case strings.Contains(cfg.Endpoint, "://"):
			opts = append(opts, otlptracegrpc.WithEndpointURL(cfg.Endpoint))
		case cfg.Endpoint != "":
			opts = append(opts, otlptracegrpc.WithEndpoint(cfg.Endpoint), otlptracegrpc.WithInsecure())
		}
		e, err := otlptracegrpc.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("creating the OTLP trace exporter: %w", err)
		}
		exp = e
	}
	res, err := newResource(cfg.ServiceName)
	if err != nil {
		return nil, err
	}
	ratio := cfg.SampleRatio
	if ratio == 0 {
		ratio = 1
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	)
	return &Provider{TracerProvider: tp, sdk: tp}, nil
}

// newResource describes the process: the SDK's default resource (which
// reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES) with the service
// name, when given, on top.
func newResource(serviceName string) (*resource.Resource, error) {
	if serviceName == "" {
		return resource.Default(), nil
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(serviceName)))
	if err != nil {
		return nil, fmt.Errorf("describing the traced process: %w", err)
	}
	return res, nil
}

// Recording reports whether the provider records spans (false for
// ExporterNone).
func (p *Provider) Recording() bool { return p.sdk != nil }

// Shutdown sends the spans not sent yet and stops the provider; ctx bounds
// how long it may take. It does nothing for ExporterNone.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p.sdk == nil {
		return nil
	}
	if err := p.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("stopping the tracer provider: %w", err)
	}
	return nil
}

// Or returns tp, or a no-op tracer provider when tp is nil: what a
// component does with a TracerProvider left unset.
func Or(tp trace.TracerProvider) trace.TracerProvider {
	if tp == nil {
		return noop.NewTracerProvider()
	}
	return tp
}
