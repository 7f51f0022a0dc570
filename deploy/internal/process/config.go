// Package process runs any subset of one saga variant's services (the
// roles orders, inventory, payment, shipping and notifications) as an operating-system
// process of its own: its configuration, loaded from flags and the
// environment, and the variant's stack for those roles, with an HTTP server
// answering /healthz, /readyz and /metrics whatever the roles, so a
// container's health check works for every process.
package process

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	chbroker "github.com/ordersaga/ordersaga/choreographed/broker"
	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/deploy/internal/apiflag"
	"github.com/ordersaga/ordersaga/deploy/internal/dblayout"
	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/deploy/kafkadev"
	"github.com/ordersaga/ordersaga/deploy/temporaldev"
	orstack "github.com/ordersaga/ordersaga/orchestrated/stack"
	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/httpapi"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/telemetry"
)

// Variant is the saga variant a process belongs to.
type Variant string

// The variants.
const (
	Orchestrated  Variant = "orchestrated"
	Choreographed Variant = "choreographed"
)

// EnvPrefix starts the name of every environment variable of the
// configuration.
const EnvPrefix = envflag.Prefix

// RolesEnv names the roles a process hosts when its command line names
// none.
const RolesEnv = EnvPrefix + "ROLES"

// RolesAll names every role at once in a role list.
const RolesAll = "all"

// DefaultTopicPrefix is the default prefix of the choreographed variant's
// topic names, the one the all-in-one run uses.
const DefaultTopicPrefix = "ordersaga"

// Config is what one process runs and where it finds what it needs.
// DefaultConfig gives the defaults; LoadConfig overlays the environment and
// the command line.
type Config struct {
	// Variant is the saga variant whose services the process runs.
	Variant Variant
	// Roles are the services the process hosts.
	Roles []hosted.Role

	// RoleDatabases are database addresses given role by role
	// (postgres://… or sqlite:/path.db); they win over the layouts below.
	RoleDatabases map[hosted.Role]string
	// PostgresURL, when set, puts each hosted role without an address of
	// its own in the database <PostgresDBPrefix><variant>_<role> on that
	// server (created when missing), as the all-in-one run lays them out.
	PostgresURL      string
	PostgresDBPrefix string
	// DataDir, when set and PostgresURL is not, puts them in SQLite files
	// <DataDir>/<variant>/<role>.db instead.
	DataDir string

	// HTTPAddr is where the process serves HTTP: the whole REST API when it
	// hosts the orders role; otherwise health, readiness, metrics and the
	// endpoints of the services it hosts. Empty means DefaultHTTPAddr.
	HTTPAddr string
	// UpstreamURLs are, for a process hosting the orders role, the base
	// URLs (http://host:port) of the processes hosting the other roles, by
	// role: its REST API forwards their services' endpoints there, so the
	// whole API is served at HTTPAddr (see Upstreams).
	UpstreamURLs map[hosted.Role]string

	// TemporalAddress and TemporalNamespace locate Temporal (orchestrated).
	TemporalAddress   string
	TemporalNamespace string
	// ReconcileMinAge is how long a pending order waits before the orders
	// process's reconciler starts its saga when it has none (orchestrated;
	// see orchestrated/stack.Config.ReconcileMinAge).
	ReconcileMinAge time.Duration

	// KafkaBrokers are the bootstrap brokers (choreographed); TopicPrefix
	// starts the topic names and GroupPrefix the consumer group names
	// (TopicPrefix when empty).
	KafkaBrokers []string
	TopicPrefix  string
	GroupPrefix  string
	// EventVersions are the schema versions the process writes its events
	// in, each Type=version (choreographed; see events.ParseVersions and
	// WriteVersions); a type not named is written at its newest.
	EventVersions []string
	// KafkaSessionTimeout is how long the broker waits for a heartbeat of
	// one of the process's consumer group members before it hands that
	// member's partitions to the group's other members (choreographed; see
	// choreographed/broker): how long the events of a crashed process wait
	// for another process of the same service.
	KafkaSessionTimeout time.Duration

	// FaultInjection serves /v1/admin/faults over the hosted services, to
	// operators. Off unless asked.
	FaultInjection bool
	// Auth verifies the API's bearer tokens (-auth-secret). A process
	// refuses to start without it or AuthSecretFile.
	Auth *auth.Keys
	// AuthSecretFile, when Auth is nil, is the file New reads the secrets
	// from (-auth-secret-file: a mounted Kubernetes or Compose secret).
	AuthSecretFile string
	// Limits bounds the API's requests and their timeouts.
	Limits httpapi.Limits
	// OpsAddr, when set, serves /healthz, /readyz and /metrics on a
	// listener of their own too.
	OpsAddr string
	// ShippingCountries are served on top of the shipping service's
	// defaults.
	ShippingCountries []string
	// StepDeadline is how long a step's action may keep failing before
	// the step fails with step_unavailable (saga.Policy.StepDeadline).
	StepDeadline time.Duration
	// LogLevel is the lowest level logged.
	LogLevel slog.Level

	// OtelExporter says where the process's OpenTelemetry spans go:
	// telemetry.ExporterNone (the default: not traced), ExporterStdout or
	// ExporterOTLP.
	OtelExporter string
	// OtelEndpoint is the OTLP collector (see telemetry.Config.Endpoint);
	// empty reads the standard OTEL_EXPORTER_OTLP_ENDPOINT.
	OtelEndpoint string
	// OtelServiceName names the process in a trace viewer. LoadConfig
	// fills it from ServiceNameEnv when no flag or ORDERSAGA_ variable
	// sets it, else with DefaultServiceName.
	OtelServiceName string
	// OtelSampleRatio is the share of new traces recorded, above 0 and at
	// most 1.
	OtelSampleRatio float64
}

// DefaultConfig returns the defaults of a process of variant v: the
// infrastructure where the all-in-one run puts it, no databases (they must
// be given) and no roles (they must be named).
func DefaultConfig(v Variant) Config {
	return Config{
		Variant:             v,
		TemporalAddress:     temporaldev.DefaultFrontendAddress,
		TemporalNamespace:   temporaldev.DefaultNamespace,
		ReconcileMinAge:     orstack.DefaultReconcileMinAge,
		StepDeadline:        saga.DefaultStepDeadline,
		KafkaBrokers:        []string{kafkadev.DefaultAddress},
		KafkaSessionTimeout: chbroker.DefaultSessionTimeout,
		TopicPrefix:         DefaultTopicPrefix,
		LogLevel:            slog.LevelInfo,
		OtelExporter:        telemetry.ExporterNone,
		OtelSampleRatio:     1,
		Limits:              httpapi.DefaultLimits(),
	}
}

// DefaultServiceName returns the name a process of variant v hosting roles
// has in a trace viewer when none is configured: ordersaga-<variant> for
// every role, else ordersaga-<variant>-<role>[-<role>…].
func DefaultServiceName(v Variant, roles []hosted.Role) string {
	name := "ordersaga-" + string(v)
	if len(roles) == len(hosted.AllRoles()) {
		return name
	}
	for _, r := range roles {
		name += "-" + string(r)
	}
	return name
}

// Tracing returns the process's tracing configuration.
func (c Config) Tracing() telemetry.Config {
	return telemetry.Config{
		Exporter:    c.OtelExporter,
		Endpoint:    c.OtelEndpoint,
		ServiceName: c.OtelServiceName,
		SampleRatio: c.OtelSampleRatio,
	}
}

// DefaultHTTPAddr returns the default HTTP address of a process: the
// variant's API address of the all-in-one run (8081 orchestrated, 8082
// choreographed) when it hosts the orders role; otherwise a port of its
// first role (inventory 8181/8182, payment 8281/8282, shipping
// 8381/8382, notifications 8481/8482), so that the processes of a split
// run on one host do not collide.
func DefaultHTTPAddr(v Variant, roles []hosted.Role) string {
	port := 8081 // the orders role's, and a process's without roles
	for _, r := range hosted.AllRoles() {
		if slices.Contains(roles, r) {
			port = orchestratedPort(r)
			break
		}
	}
	if v == Choreographed {
		port++
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// orchestratedPort is the default HTTP port of an orchestrated process
// whose first role is r: the hundreds say the role; a choreographed
// process's port is one more.
func orchestratedPort(r hosted.Role) int {
	switch r {
	case hosted.RoleInventory:
		return 8181
	case hosted.RolePayment:
		return 8281
	case hosted.RoleShipping:
		return 8381
	case hosted.RoleNotifications:
		return 8481
	}
	return 8081
}

// ParseRoles reads a role list: roles separated by commas, or "all".
func ParseRoles(list string) ([]hosted.Role, error) {
	var roles []hosted.Role
	for item := range strings.SplitSeq(list, ",") {
		item = strings.ToLower(strings.TrimSpace(item))
		switch {
		case item == "":
			continue
		case item == RolesAll:
			roles = append(roles, hosted.AllRoles()...)
			continue
		}
		r := hosted.Role(item)
		if _, ok := hosted.Migrations(r); !ok {
			return nil, fmt.Errorf("unknown role %q (want %s or %s)", item, roleNames(), RolesAll)
		}
		roles = append(roles, r)
	}
	if len(roles) == 0 {
		return nil, fmt.Errorf("no roles named (want some of %s, or %s)", roleNames(), RolesAll)
	}
	// Keep each role once, in the stable order of hosted.AllRoles.
	var out []hosted.Role
	for _, r := range hosted.AllRoles() {
		if slices.Contains(roles, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

func roleNames() string {
	names := make([]string, 0, len(hosted.AllRoles()))
	for _, r := range hosted.AllRoles() {
		names = append(names, string(r))
	}
	return strings.Join(names, ", ")
}

// Hosts reports whether the process hosts role r.
func (c Config) Hosts(r hosted.Role) bool { return slices.Contains(c.Roles, r) }

// vars lists the settings of c as flags and environment variables; the
// roles' database addresses go to roleDSNs, the signing secrets to
// secret (parsed into Auth once the command line is).
func (c *Config) vars(roleDSNs map[hosted.Role]*string, secret *string) []envflag.Var {
	vars := []envflag.Var{
		{Name: "data-dir", Usage: "`folder` of SQLite databases <folder>/" + string(c.Variant) + "/<role>.db, as the run command lays them out", Value: envflag.String(&c.DataDir)},
		{Name: "postgres-url", Usage: "PostgreSQL server `URL` (postgres://…): databases <prefix>" + string(c.Variant) + "_<role>, created when missing; wins over -data-dir", Value: envflag.DSN(&c.PostgresURL)},
		{Name: "postgres-db-prefix", Usage: "`prefix` of the PostgreSQL database names", Value: envflag.String(&c.PostgresDBPrefix)},
	}
	for _, r := range hosted.AllRoles() {
		roleDSNs[r] = new(string)
		vars = append(vars, envflag.Var{
			Name:  string(r) + "-db",
			Usage: fmt.Sprintf("`address` of the %s database (postgres://… or sqlite:/path.db); wins over -data-dir and -postgres-url", r),
			Value: envflag.DSN(roleDSNs[r]),
		})
	}
	vars = append(vars, envflag.Var{Name: "http-addr", Usage: "listen `host:port` of the process's HTTP server (default 127.0.0.1:" + defaultPortsText(c.Variant) + ")", Value: envflag.String(&c.HTTPAddr)})
	vars = append(vars, envflag.Var{Name: "ops-addr", Usage: "listen `host:port` of a second HTTP server answering /healthz, /readyz and /metrics alone, " +
		"unauthenticated (for probes and scrapers); empty for none (the main server answers them too)", Value: envflag.String(&c.OpsAddr)})
	vars = append(vars, apiflag.SecretVars(secret, &c.AuthSecretFile)...)
	vars = append(vars, apiflag.LimitVars(&c.Limits)...)
	switch c.Variant {
	case Orchestrated:
		vars = append(vars,
			envflag.Var{Name: "temporal-address", Usage: "Temporal frontend `host:port`", Value: envflag.String(&c.TemporalAddress)},
			envflag.Var{Name: "temporal-namespace", Usage: "Temporal `namespace`", Value: envflag.String(&c.TemporalNamespace)},
			envflag.Var{Name: "reconcile-min-age", Usage: "`duration` a pending order waits before the orders process's reconciler starts its saga when it has none " +
				"(Temporal was unreachable when it was placed); the reconciler looks every " + orstack.DefaultReconcileInterval.String(), Value: envflag.Duration(&c.ReconcileMinAge)},
		)
	case Choreographed:
		vars = append(vars,
			envflag.Var{Name: "kafka-brokers", Usage: "Kafka bootstrap `brokers`, comma-separated host:port", Value: envflag.List(&c.KafkaBrokers)},
			envflag.Var{Name: "topic-prefix", Usage: "`prefix` of the topic names (<prefix>.<service>, <prefix>.deadletter)", Value: envflag.String(&c.TopicPrefix)},
			envflag.Var{Name: "group-prefix", Usage: "`prefix` of the consumer group names (<prefix>.<service>); the topic prefix when empty", Value: envflag.String(&c.GroupPrefix)},
			envflag.Var{Name: "event-versions", Usage: "schema `versions` the process writes its events in, comma-separated Type=version, for a rolling upgrade " +
				"(OrderCompleted=1 until every consumer reads v2); a type not named is written at its newest", Value: envflag.List(&c.EventVersions)},
			envflag.Var{Name: "kafka-session-timeout", Usage: "`duration` the broker waits for a heartbeat (sent every second) from one of the process's consumer group members " +
				"before it hands that member's partitions to the service's other processes: how long the events held by a crashed process wait " +
				"(at least " + chbroker.MinSessionTimeout.String() + "; a Kafka broker accepts 6s to 30m unless configured otherwise)", Value: envflag.Duration(&c.KafkaSessionTimeout)},
		)
	}
	return append(vars,
		envflag.Var{Name: "fault-injection", Usage: "serve /v1/admin/faults (fault injection, to operators) over the hosted services", Value: envflag.Bool(&c.FaultInjection)},
		envflag.Var{Name: "shipping-countries", Usage: "`countries` served on top of the shipping defaults, comma-separated ISO codes", Value: envflag.List(&c.ShippingCountries)},
		envflag.Var{Name: "step-deadline", Usage: "`duration` a step's action may keep failing with faults before the step fails with step_unavailable and the saga compensates (the same in both variants)", Value: envflag.Duration(&c.StepDeadline)},
		envflag.Var{Name: "log-level", Usage: "lowest log `level`: debug, info, warn or error", Value: envflag.Level(&c.LogLevel)},
		envflag.Var{Name: "otel-exporter", Usage: "where the OpenTelemetry spans go: none (not traced), stdout or otlp", Value: envflag.String(&c.OtelExporter)},
		envflag.Var{Name: "otel-endpoint", Usage: "OTLP/gRPC collector `address` (http://host:4317, https://host:4317 or host:port); empty reads $" + envOTLPEndpoint, Value: envflag.String(&c.OtelEndpoint)},
		envflag.Var{Name: "otel-service-name", Usage: "`name` of the process in a trace viewer; empty reads $" + ServiceNameEnv + ", else ordersaga-<variant>[-<role>…]", Value: envflag.String(&c.OtelServiceName)},
		envflag.Var{Name: "otel-sample-ratio", Usage: "share of new traces recorded, above 0 and at most 1", Value: envflag.Float(&c.OtelSampleRatio)},
	)
}

// defaultPortsText describes the default ports of a variant's processes.
func defaultPortsText(v Variant) string {
	var parts []string
	for _, r := range hosted.AllRoles() {
		_, port, _ := net.SplitHostPort(DefaultHTTPAddr(v, []hosted.Role{r}))
		parts = append(parts, port+" for "+string(r))
	}
	return strings.Join(parts, ", ") + ", by the first role hosted"
}

// Flags are the flags of a process of one variant, bound to a
// configuration; Config completes it once the command line is parsed.
type Flags struct {
	cfg       Config
	secret    string
	roleDSNs  map[hosted.Role]*string
	roleURLs  map[hosted.Role]*string
	lookupEnv envflag.LookupEnv
}

// Bind registers the flags of a process of variant v on fs, each set first
// from its environment variable through lookupEnv (e.g. os.LookupEnv) over
// DefaultConfig. It reports every environment value that does not parse.
func Bind(v Variant, fs *flag.FlagSet, lookupEnv envflag.LookupEnv) (*Flags, error) {
	if v != Orchestrated && v != Choreographed {
		return nil, fmt.Errorf("unknown variant %q", v)
	}
	f := &Flags{cfg: DefaultConfig(v), roleDSNs: map[hosted.Role]*string{}, roleURLs: map[hosted.Role]*string{}, lookupEnv: lookupEnv}
	return f, envflag.Bind(fs, EnvPrefix, lookupEnv, append(f.cfg.vars(f.roleDSNs, &f.secret), upstreamVars(f.roleURLs)...)...)
}

// Config returns the configuration the flags hold once parsed, with the
// roles named by roleArgs (comma-separated lists, or "all"; RolesEnv
// when there are none), validated.
func (f *Flags) Config(roleArgs []string) (Config, error) {
	cfg := f.cfg
	v := cfg.Variant
	roleList := strings.Join(roleArgs, ",")
	if len(roleArgs) == 0 {
		roleList, _ = f.lookupEnv(RolesEnv)
	}
	roles, err := ParseRoles(roleList)
	if err != nil {
		return Config{}, err
	}
	cfg.Roles = roles
	cfg.RoleDatabases = map[hosted.Role]string{}
	for r, dsn := range f.roleDSNs {
		if *dsn != "" {
			cfg.RoleDatabases[r] = *dsn
		}
	}
	cfg.UpstreamURLs = map[hosted.Role]string{}
	for r, u := range f.roleURLs {
		if *u != "" {
			cfg.UpstreamURLs[r] = *u
		}
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = DefaultHTTPAddr(v, roles)
	}
	if cfg.OtelServiceName == "" {
		cfg.OtelServiceName, _ = f.lookupEnv(ServiceNameEnv)
	}
	if cfg.OtelServiceName == "" {
		cfg.OtelServiceName = DefaultServiceName(v, roles)
	}
	if f.secret != "" {
		if cfg.Auth, err = apiflag.ParseSecret(f.secret); err != nil {
			return Config{}, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// LoadConfig returns the configuration of a process of variant v:
// DefaultConfig overlaid with the environment (through lookupEnv, e.g.
// os.LookupEnv) and then with args, validated. args are the roles (a
// comma-separated list, or "all"; RolesEnv when none are given) and
// flags, in any order. fs receives the flags, so its usage lists them; its
// error handling decides what a bad flag does.
func LoadConfig(v Variant, fs *flag.FlagSet, args []string, lookupEnv envflag.LookupEnv) (Config, error) {
	f, envErr := Bind(v, fs, lookupEnv)
	if f == nil {
		return Config{}, envErr
	}
	var positional []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		positional, args = append(positional, args[0]), args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if envErr != nil {
		return Config{}, envErr
	}
	return f.Config(append(positional, fs.Args()...))
}

// The standard OpenTelemetry variables the configuration honours: the
// collector's address (read by the exporter itself) and the service name.
const (
	envOTLPEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT"
	// ServiceNameEnv names the process in a trace viewer when no flag or
	// ORDERSAGA_ variable does.
	ServiceNameEnv = "OTEL_SERVICE_NAME"
)

// validName reports whether s may be a topic or consumer group prefix:
// Kafka's legal characters for a topic name.
func validName(s string) bool {
	return regexp.MustCompile(`^[A-Za-z0-9._-]{1,200}$`).MatchString(s)
}

// Validate reports every setting that cannot work. It never repeats a
// database address, which may hold a password.
func (c Config) Validate() error {
	var errList []error
	bad := func(format string, args ...any) { errList = append(errList, fmt.Errorf(format, args...)) }
	checkAddr := func(name, addr string) {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad("%s %q is not host:port", name, addr)
		}
	}
	if len(c.Roles) == 0 {
		bad("no roles to run")
	}
	for _, r := range c.Roles {
		dsn := c.RoleDatabases[r]
		switch {
		case dsn != "":
			if !isDSN(dsn) {
				bad("the %s database address (-%s-db) is neither postgres://… nor sqlite:…", r, r)
			}
		case c.PostgresURL == "" && strings.TrimSpace(c.DataDir) == "":
			bad("no database for the %s role: set -%s-db ($%s), -data-dir ($%s) or -postgres-url ($%s)", r, r,
				envflag.EnvName(EnvPrefix, string(r)+"-db"), envflag.EnvName(EnvPrefix, "data-dir"), envflag.EnvName(EnvPrefix, "postgres-url"))
		}
	}
	if c.PostgresURL != "" {
		if u, err := url.Parse(c.PostgresURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			bad("the postgres URL is not postgres://host/…")
		}
	}
	if c.PostgresDBPrefix != "" && !dblayout.ValidPrefix(c.PostgresDBPrefix) {
		bad("postgres database prefix %q is not lower-case letters, digits and underscores", c.PostgresDBPrefix)
	}
	checkAddr("HTTP address", c.HTTPAddr)
	if c.OpsAddr != "" {
		checkAddr("operations address", c.OpsAddr)
		if c.OpsAddr == c.HTTPAddr {
			bad("the operations address is the HTTP address %s: give it a port of its own", c.OpsAddr)
		}
	}
	switch {
	case c.Auth == nil && c.AuthSecretFile == "":
		errList = append(errList, apiflag.NoSecretError())
	case c.Auth != nil && c.AuthSecretFile != "":
		bad("both -%s and -%s are set: give one", apiflag.SecretFlag, apiflag.SecretFileFlag)
	}
	errList = append(errList, apiflag.LimitProblems(c.Limits)...)
	switch c.Variant {
	case Orchestrated:
		checkAddr("temporal address", c.TemporalAddress)
		if c.TemporalNamespace == "" {
			bad("temporal namespace is empty")
		}
		if c.StepDeadline <= 0 {
			bad("step deadline %v is not above 0", c.StepDeadline)
		}
		if c.ReconcileMinAge <= 0 {
			bad("reconcile minimum age %v is not above 0", c.ReconcileMinAge)
		}
	case Choreographed:
		if len(c.KafkaBrokers) == 0 {
			bad("no kafka brokers")
		}
		for _, b := range c.KafkaBrokers {
			checkAddr("kafka broker", b)
		}
		if !validName(c.TopicPrefix) {
			bad("topic prefix %q is not letters, digits, '.', '_' and '-'", c.TopicPrefix)
		}
		if c.GroupPrefix != "" && !validName(c.GroupPrefix) {
			bad("group prefix %q is not letters, digits, '.', '_' and '-'", c.GroupPrefix)
		}
		if _, err := c.WriteVersions(); err != nil {
			errList = append(errList, err)
		}
		if c.KafkaSessionTimeout < chbroker.MinSessionTimeout {
			bad("kafka session timeout %v is below %v (three heartbeats)", c.KafkaSessionTimeout, chbroker.MinSessionTimeout)
		}
	default:
		bad("unknown variant %q", c.Variant)
	}
	if c.OtelSampleRatio == 0 {
		bad("otel sample ratio is 0: it must be above 0 (-otel-exporter none traces nothing)")
	}
	if err := c.Tracing().Validate(); err != nil {
		errList = append(errList, err)
	}
	for _, cc := range c.ShippingCountries {
		if len(cc) != 2 || strings.ToUpper(cc) != cc {
			bad("shipping country %q is not an upper-case ISO 3166-1 alpha-2 code", cc)
		}
	}
	errList = append(errList, c.upstreamProblems()...)
	return errors.Join(errList...)
}

// WriteVersions returns the schema versions the process writes its events
// in (-event-versions), checked against the default saga's event types.
func (c Config) WriteVersions() (events.Versions, error) {
	vs, err := events.ParseVersions(c.EventVersions)
	if err == nil {
		err = vs.Check(events.NewTable(nil))
	}
	if err != nil {
		return nil, fmt.Errorf("-event-versions: %w", err)
	}
	return vs, nil
}

// isDSN reports whether s is a database address sqldb.Open takes.
func isDSN(s string) bool {
	for _, p := range []string{"postgres://", "postgresql://", "sqlite:"} {
		if strings.HasPrefix(s, p) && len(s) > len(p) {
			return true
		}
	}
	return false
}
