package allinone

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

// Variant is one saga variant as the stack runs it: the REST API it serves
// and the work it does in the background (workers, consumers, relays). A
// variant's package need not import this one: any type with these methods
// is a Variant, and a Builder adapts the variant's own constructor.
type Variant interface {
	// Handler serves the variant's REST API.
	Handler() http.Handler
	// Run does the variant's background work until ctx ends, then returns
	// nil; an error means the variant cannot go on.
	Run(ctx context.Context) error
	// Close releases what the variant holds, after Run has returned. The
	// stack closes the hosted services itself.
	Close() error
}

// Env is what the stack hands a variant: its hosted services (services and migrated
// databases, seeded), the shared infrastructure's addresses, and the parts
// of its REST API the stack chose.
type Env struct {
	// Name is the variant's name (Orchestrated or Choreographed).
	Name string
	// Hosted is every role of the variant; the stack closes it after the
	// variant.
	Hosted *hosted.Services
	// HostedConfig is what Hosted was opened with, for a variant that opens a
	// hosted services of its own on the same databases.
	HostedConfig hosted.Config
	// TemporalAddress and TemporalNamespace locate the Temporal frontend.
	TemporalAddress   string
	TemporalNamespace string
	// KafkaBrokers are the bootstrap brokers.
	KafkaBrokers []string
	// Faults are the hosted services' fault injectors when fault injection is on,
	// nil otherwise (then /v1/admin/faults answers 404).
	Faults faults.Set
	// Ready are the readiness checks of the infrastructure the variant
	// uses (its databases, Temporal or the broker).
	Ready []httpapi.Check
	// Registry collects the variant's metrics, served at /metrics.
	Registry *prometheus.Registry
	// Logger is the stack's logger; a variant tags its own lines with its
	// name.
	Logger *slog.Logger
	// Now is the clock.
	Now func() time.Time
	// TracerProvider receives the variant's spans; nil when tracing is
	// off (Config.OtelExporter none).
	TracerProvider trace.TracerProvider
	// Auth verifies the API's bearer tokens: the run's keys.
	Auth *auth.Keys
	// Limits bounds the API's requests (the stack's server applies its
	// timeouts).
	Limits httpapi.Limits
}

// APIDeps returns the REST API's dependencies served straight from the
// hosted services, without an intake: a variant adds its Intake.
func (e Env) APIDeps() httpapi.Deps {
	d := httpapi.Deps{
		Variant:  e.Name,
		Catalog:  e.Hosted.Inventory,
		Accounts: e.Hosted.Payment,
		Orders:   e.Hosted.Orders,
		Faults:   e.Faults,
		Ready:    e.Ready,
		Registry: e.Registry,
		Logger:   e.Logger.With("variant", e.Name),
		Now:      e.Now,
		Auth:     e.Auth,
		Limits:   e.Limits,

		TracerProvider: e.TracerProvider,
	}
	if e.Hosted.Notifications != nil { // an interface holding a nil pointer would not read as absent
		d.Notifications = e.Hosted.Notifications
	}
	return d
}

// Builder builds a variant once the infrastructure runs. ctx bounds the
// building only.
type Builder func(ctx context.Context, env Env) (Variant, error)

// APIOnly builds a variant that serves the REST API from the hosted services alone:
// health, readiness, metrics, catalog, customers, notifications and fault settings. Its
// order endpoints answer 503: it stands in for a variant that is not
// plugged in.
func APIOnly(_ context.Context, env Env) (Variant, error) {
	return apiOnly{handler: httpapi.New(env.APIDeps())}, nil
}

// apiOnly is the variant APIOnly builds.
type apiOnly struct{ handler http.Handler }

func (v apiOnly) Handler() http.Handler { return v.handler }

func (apiOnly) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

func (apiOnly) Close() error { return nil }
