package allinone

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/apiflag"
	"github.com/ordersaga/ordersaga/deploy/internal/dblayout"
	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/deploy/internal/temporalflag"
	"github.com/ordersaga/ordersaga/deploy/kafkadev"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/telemetry"
)

// The two variants the stack runs, by name.
const (
	Orchestrated  = "orchestrated"
	Choreographed = "choreographed"
)

// Config is the all-in-one run's configuration. DefaultConfig gives the
// defaults; LoadConfig overlays the environment and the command line.
type Config struct {
	// DataDir holds every file of the run: the services' SQLite databases,
	// the Temporal database and the broker's log.
	DataDir string
	// OrchestratedAddr and ChoreographedAddr are where each variant's REST
	// API listens.
	OrchestratedAddr  string
	ChoreographedAddr string
	// TemporalAddress is an external Temporal frontend (host:port). Empty
	// runs the embedded server, its frontend on TemporalListen and its UI on
	// TemporalUIListen ("" for no UI).
	TemporalAddress   string
	TemporalListen    string
	TemporalUIListen  string
	TemporalNamespace string
	// TemporalStore are the embedded server's persistence settings: its
	// history shards and its PostgreSQL connection pools.
	TemporalStore temporaldev.StoreSettings
	// KafkaBrokers are external Kafka brokers (host:port). Empty runs the
	// embedded broker on KafkaListen with KafkaPartitions partitions per
	// topic.
	KafkaBrokers    []string
	KafkaListen     string
	KafkaPartitions int
	// PostgresURL, when set, puts the services' databases on that
	// PostgreSQL server (databases orchestrated_orders, …, created when
	// missing) instead of SQLite files in DataDir, and the embedded
	// Temporal server's persistence too (databases temporal and
	// temporal_visibility, created when missing).
	PostgresURL string
	// PostgresDBPrefix starts the names of those databases
	// (PostgresDBPrefix + "orchestrated_orders", …, PostgresDBPrefix +
	// "temporal"), so that several stacks can share one server.
	PostgresDBPrefix string
	// ShippingCountries are served on top of the shipping service's
	// defaults.
	ShippingCountries []string
	// StepDeadline is how long a step's action may keep failing before
	// the step fails with step_unavailable, in both variants
	// (saga.Policy.StepDeadline).
	StepDeadline time.Duration
	// Faults serves PUT/GET /v1/admin/faults on both APIs, to operators.
	Faults bool
	// AuthSecret signs and verifies the APIs' bearer tokens: a
	// comma-separated list, the first signing (see apiflag); AuthSecretFile
	// holds such a list instead. With neither, the run keeps a development
	// secret of its own in DataDir/DevSecretFile, made on first start.
	AuthSecret     string
	AuthSecretFile string
	// Limits bounds the APIs' requests and their timeouts.
	Limits httpapi.Limits
	// Seed sets up the demo products and customers that are missing.
	Seed bool
	// LogLevel is the lowest level logged.
	LogLevel slog.Level
	// ShutdownTimeout bounds a clean shutdown.
	ShutdownTimeout time.Duration

	// OtelExporter says where the OpenTelemetry spans of both variants go:
	// telemetry.ExporterNone (the default: not traced), ExporterStdout or
	// ExporterOTLP. Each variant is a service of its own in a trace
	// viewer: ordersaga-orchestrated and ordersaga-choreographed.
	OtelExporter string
	// OtelEndpoint is the OTLP collector (see telemetry.Config.Endpoint);
	// empty reads the standard OTEL_EXPORTER_OTLP_ENDPOINT.
	OtelEndpoint string
	// OtelSampleRatio is the share of new traces recorded, above 0 and at
	// most 1.
	OtelSampleRatio float64
}

// DefaultConfig returns the defaults: everything embedded, on the
// addresses of API.md, data in ./data.
func DefaultConfig() Config {
	return Config{
		DataDir:           "./data",
		OrchestratedAddr:  "127.0.0.1:8081",
		ChoreographedAddr: "127.0.0.1:8082",
		TemporalListen:    temporaldev.DefaultFrontendAddress,
		TemporalUIListen:  temporaldev.DefaultUIAddress,
		TemporalNamespace: temporaldev.DefaultNamespace,
		TemporalStore:     temporaldev.DefaultStoreSettings(),
		KafkaListen:       kafkadev.DefaultAddress,
		KafkaPartitions:   kafkadev.DefaultPartitions,
		Faults:            true,
		Seed:              true,
		LogLevel:          slog.LevelInfo,
		ShutdownTimeout:   20 * time.Second,
		StepDeadline:      saga.DefaultStepDeadline,
		OtelExporter:      telemetry.ExporterNone,
		OtelSampleRatio:   1,
		Limits:            httpapi.DefaultLimits(),
	}
}

// EnvPrefix starts the name of every environment variable of the
// configuration.
const EnvPrefix = envflag.Prefix

// vars lists every setting of c, bound to c's fields.
func (c *Config) vars() []envflag.Var {
	vars := []envflag.Var{
		{Name: "data-dir", Usage: "`folder` for the SQLite databases, the Temporal database and the broker's log", Value: envflag.String(&c.DataDir)},
		{Name: "orchestrated-addr", Usage: "listen `host:port` of the orchestrated stack's REST API", Value: envflag.String(&c.OrchestratedAddr)},
		{Name: "choreographed-addr", Usage: "listen `host:port` of the choreographed stack's REST API", Value: envflag.String(&c.ChoreographedAddr)},
		{Name: "temporal-address", Usage: "external Temporal frontend `host:port`; empty runs the embedded server", Value: envflag.String(&c.TemporalAddress)},
		{Name: "temporal-listen", Usage: "listen `host:port` of the embedded Temporal frontend (gRPC)", Value: envflag.String(&c.TemporalListen)},
		{Name: "temporal-ui-listen", Usage: "listen `host:port` of the embedded Temporal UI; empty for none", Value: envflag.String(&c.TemporalUIListen)},
		{Name: "temporal-namespace", Usage: "Temporal `namespace`", Value: envflag.String(&c.TemporalNamespace)},
		{Name: "kafka-brokers", Usage: "external Kafka `brokers`, comma-separated host:port; empty runs the embedded broker", Value: envflag.List(&c.KafkaBrokers)},
		{Name: "kafka-listen", Usage: "listen `host:port` of the embedded Kafka-protocol broker", Value: envflag.String(&c.KafkaListen)},
		{Name: "kafka-partitions", Usage: "`number` of partitions of each topic the embedded broker creates", Value: envflag.Int(&c.KafkaPartitions)},
		{Name: "postgres-url", Usage: "PostgreSQL server `URL` (postgres://…) for the services' databases and the embedded Temporal server's persistence; empty uses SQLite files in the data dir", Value: envflag.DSN(&c.PostgresURL)},
		{Name: "postgres-db-prefix", Usage: "`prefix` of the PostgreSQL database names (prefix + orchestrated_orders, …, prefix + temporal, prefix + temporal_visibility)", Value: envflag.String(&c.PostgresDBPrefix)},
		{Name: "shipping-countries", Usage: "`countries` served on top of the shipping defaults, comma-separated ISO codes", Value: envflag.List(&c.ShippingCountries)},
		{Name: "step-deadline", Usage: "`duration` a step's action may keep failing with faults before the step fails with step_unavailable and the saga compensates (the same in both variants)", Value: envflag.Duration(&c.StepDeadline)},
		{Name: "faults", Usage: "serve /v1/admin/faults (fault injection, to operators) on both APIs", Value: envflag.Bool(&c.Faults)},
		{Name: "seed", Usage: "set up the demo products and customers that are missing", Value: envflag.Bool(&c.Seed)},
		{Name: "log-level", Usage: "lowest log `level`: debug, info (the default), warn or error", Value: envflag.Level(&c.LogLevel)},
		{Name: "shutdown-timeout", Usage: "`duration` a clean shutdown may take", Value: envflag.Duration(&c.ShutdownTimeout)},
		{Name: "otel-exporter", Usage: "where the OpenTelemetry spans go: none (not traced), stdout or otlp", Value: envflag.String(&c.OtelExporter)},
		{Name: "otel-endpoint", Usage: "OTLP/gRPC collector `address` (http://host:4317, https://host:4317 or host:port); empty reads $OTEL_EXPORTER_OTLP_ENDPOINT", Value: envflag.String(&c.OtelEndpoint)},
		{Name: "otel-sample-ratio", Usage: "share of new traces recorded, above 0 and at most 1", Value: envflag.Float(&c.OtelSampleRatio)},
	}
	vars = append(vars, temporalflag.Vars(&c.TemporalStore)...)
	vars = append(vars, apiflag.SecretVars(&c.AuthSecret, &c.AuthSecretFile)...)
	for i := range vars {
		if vars[i].Name == apiflag.SecretFlag {
			vars[i].Usage += "; empty, and no -" + apiflag.SecretFileFlag + ": a development secret kept in <data dir>/" + DevSecretFile + ", made on first start"
		}
	}
	return append(vars, apiflag.LimitVars(&c.Limits)...)
}

// Bind sets c from the environment (through lookupEnv, e.g. os.LookupEnv)
// and registers every setting of c as a flag of fs, so that parsing a
// command line then overlays it. It reports every environment value that
// does not parse.
func (c *Config) Bind(fs *flag.FlagSet, lookupEnv envflag.LookupEnv) error {
	return envflag.Bind(fs, EnvPrefix, lookupEnv, c.vars()...)
}

// LoadConfig returns DefaultConfig overlaid with the environment (through
// lookupEnv, e.g. os.LookupEnv) and then with the flags in args, validated.
// fs receives the flags (so its usage lists them); its error handling
// decides what a bad flag does.
func LoadConfig(fs *flag.FlagSet, args []string, lookupEnv envflag.LookupEnv) (Config, error) {
	cfg := DefaultConfig()
	if err := cfg.Bind(fs, lookupEnv); err != nil {
		return Config{}, err
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errList []error
	bad := func(format string, args ...any) { errList = append(errList, fmt.Errorf(format, args...)) }
	checkAddr := func(name, addr string) {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad("%s %q is not host:port", name, addr)
		}
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data dir is empty")
	}
	checkAddr("orchestrated address", c.OrchestratedAddr)
	checkAddr("choreographed address", c.ChoreographedAddr)
	if c.OrchestratedAddr == c.ChoreographedAddr && !strings.HasSuffix(c.OrchestratedAddr, ":0") {
		bad("both APIs listen on %s", c.OrchestratedAddr)
	}
	if c.TemporalAddress != "" {
		checkAddr("temporal address", c.TemporalAddress)
	} else {
		checkAddr("temporal listen address", c.TemporalListen)
		if c.TemporalUIListen != "" {
			checkAddr("temporal UI listen address", c.TemporalUIListen)
		}
	}
	if c.TemporalNamespace == "" {
		bad("temporal namespace is empty")
	}
	errList = append(errList, temporalflag.Problems(c.TemporalStore)...)
	if len(c.KafkaBrokers) > 0 {
		for _, b := range c.KafkaBrokers {
			checkAddr("kafka broker", b)
		}
	} else {
		checkAddr("kafka listen address", c.KafkaListen)
	}
	if c.KafkaPartitions < 1 || c.KafkaPartitions > 1000 {
		bad("kafka partitions %d is not from 1 to 1000", c.KafkaPartitions)
	}
	if c.PostgresURL != "" {
		if u, err := url.Parse(c.PostgresURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			bad("postgres URL is not postgres://host/…")
		}
	}
	if c.PostgresDBPrefix != "" && !dblayout.ValidPrefix(c.PostgresDBPrefix) {
		bad("postgres database prefix %q is not lower-case letters, digits and underscores", c.PostgresDBPrefix)
	}
	for _, cc := range c.ShippingCountries {
		if len(cc) != 2 || strings.ToUpper(cc) != cc {
			bad("shipping country %q is not an upper-case ISO 3166-1 alpha-2 code", cc)
		}
	}
	if c.OtelSampleRatio == 0 {
		bad("otel sample ratio is 0: it must be above 0 (-otel-exporter none traces nothing)")
	}
	if err := c.Tracing(Orchestrated).Validate(); err != nil {
		errList = append(errList, err)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown timeout %v is not positive", c.ShutdownTimeout)
	}
	switch {
	case c.AuthSecret != "" && c.AuthSecretFile != "":
		bad("both -%s and -%s are set: give one", apiflag.SecretFlag, apiflag.SecretFileFlag)
	case c.AuthSecret != "":
		if _, err := apiflag.ParseSecret(c.AuthSecret); err != nil {
			errList = append(errList, err)
		}
	}
	errList = append(errList, apiflag.LimitProblems(c.Limits)...)
	return errors.Join(errList...)
}

// EmbeddedTemporal returns the configuration of the embedded Temporal
// server (without its logger): its state in DataDir/temporal/temporal.db,
// or with PostgresURL in the PostgreSQL databases PostgresDBPrefix +
// "temporal" and PostgresDBPrefix + "temporal_visibility".
func (c Config) EmbeddedTemporal() temporaldev.Config {
	tc := temporaldev.Config{
		FrontendAddress: c.TemporalListen,
		UIAddress:       c.TemporalUIListen,
		NoUI:            c.TemporalUIListen == "",
		Namespace:       c.TemporalNamespace,
		Store:           c.TemporalStore,
		// The server is chatty below warn.
		LogLevel: max(c.LogLevel, slog.LevelWarn),
	}
	if c.PostgresURL != "" {
		tc.PostgresURL = c.PostgresURL
		tc.PostgresDatabase = c.PostgresDBPrefix + temporaldev.DefaultPostgresDatabase
		tc.PostgresVisibilityDatabase = c.PostgresDBPrefix + temporaldev.DefaultPostgresVisibilityDatabase
	} else {
		tc.DatabaseFile = filepath.Join(c.DataDir, "temporal", "temporal.db")
	}
	return tc
}

// Tracing returns the tracing configuration of a variant: the service
// name ordersaga-<variant>.
func (c Config) Tracing(variant string) telemetry.Config {
	return telemetry.Config{
		Exporter:    c.OtelExporter,
		Endpoint:    c.OtelEndpoint,
		ServiceName: "ordersaga-" + variant,
		SampleRatio: c.OtelSampleRatio,
	}
}

// apiAddr returns the listen address of a variant's API.
func (c Config) apiAddr(variant string) string {
	if variant == Orchestrated {
		return c.OrchestratedAddr
	}
	return c.ChoreographedAddr
}
