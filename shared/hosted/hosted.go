// Package hosted opens the services one process of a stack hosts: the databases of
// the services it runs (migrated, or checked to be at the schema version
// this binary needs), the services themselves and their fault injectors. Both variants' stacks, the all-in-one run and the tests build
// their processes from a Services, so the services are wired the same way
// everywhere.
package hosted

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/notifications"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/participant"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/sagametrics"
	"github.com/ordersaga/ordersaga/shared/shipping"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Role is a service a process can host.
type Role string

// The roles. Orders is the order service: the REST API and the order
// store. Notifications is the customer-notification service: it carries
// out no step, it observes how orders end (see shared/notifications).
const (
	RoleOrders        Role = "orders"
	RoleInventory     Role = "inventory"
	RolePayment       Role = "payment"
	RoleShipping      Role = "shipping"
	RoleNotifications Role = "notifications"
)

// AllRoles returns every role of the default saga: the order service,
// each step's service in saga order, then the notification service.
func AllRoles() []Role { return RolesOf(saga.Default()) }

// Config says which services a process hosts and where their databases are.
type Config struct {
	// Roles are the roles hosted; empty means all.
	Roles []Role
	// Databases maps each hosted role to its database address (see
	// sqldb.Open). Every hosted role needs one.
	Databases map[Role]string
	// Migrate brings each hosted role's database to the schema this binary
	// needs when it opens, by applying the missing migrations: for the
	// all-in-one run and the tests, which own their databases. False (the
	// default, for production processes) only checks that every database
	// is at the latest version of each of its migration sets and refuses
	// to open one that is older or dirty with a *sqldb.SchemaVersionError:
	// `ordersaga migrate` owns the schema there. The stacks apply the same
	// rule to the sets they add (see EnsureSchema).
	Migrate bool
	// Countries the shipping service serves beyond its defaults.
	Countries []string
	// FaultSeed seeds the fault injectors.
	FaultSeed uint64
	// Saga is the saga the hosted services' services run (saga.Default() when nil).
	Saga *saga.Saga
	// Participants are services the caller built for steps of Saga beyond
	// the built-in inventory, payment and shipping services (a new step's
	// service, on its own database, migrated): they are hosted as the
	// roles of their steps, and does not close their databases.
	Participants participant.Set
	// Policy is the failure model the saga runs under (its zero fields the
	// defaults: see saga.Policy).
	Policy saga.Policy
}

// Services is what one process hosts. Services of roles not hosted are nil.
type Services struct {
	// Saga is the saga the services run, and Policy its failure model.
	Saga   *saga.Saga
	Policy saga.Policy
	// Participants are the hosted services that carry out saga steps,
	// by step.
	Participants participant.Set
	Orders       *orders.Store
	// Notifications is the notification service's store, when hosted.
	Notifications *notifications.Store
	Inventory     *inventory.Service
	Payment       *payment.Service
	Shipping      *shipping.Service
	// DBs holds the open database of each hosted role.
	DBs map[Role]*sqldb.DB
	// Faults holds the fault injector of each hosted service
	// ("inventory", "payment", "shipping").
	Faults faults.Set
	// roles are the hosted roles, the order service first, then the steps
	// in saga order.
	roles []Role
	// borrowed are the databases of Config.Participants, closed by the
	// caller.
	borrowed map[Role]bool
	// migrate is Config.Migrate: EnsureSchema migrates, else it checks.
	migrate bool
}

// Open opens the databases of the hosted roles, migrates them or checks
// their schema version (Config.Migrate), and builds their services; now is
// the clock (time.Now when nil).
func Open(ctx context.Context, cfg Config, now func() time.Time) (_ *Services, err error) {
	if now == nil {
		now = time.Now
	}
	g := cfg.Saga
	if g == nil {
		g = saga.Default()
	}
	roles, err := hostedRoles(g, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening node: %w", err)
	}
	n := &Services{Saga: g, Policy: cfg.Policy.WithDefaults(), Participants: participant.Set{}, DBs: make(map[Role]*sqldb.DB, len(roles)),
		Faults: faults.Set{}, roles: roles, borrowed: map[Role]bool{}}
	defer func() {
		if err != nil {
			_ = n.Close()
		}
	}()
	n.migrate = cfg.Migrate
	for _, r := range roles {
		if p, ok := cfg.Participants[domain.StepName(r)]; ok {
			n.DBs[r] = p.DB()
			n.borrowed[r] = true
			n.Participants[p.Step()] = p
			continue
		}
		if n.DBs[r] != nil {
			continue
		}
		m, _ := Migrations(r)
		if m.FS == nil {
			return nil, fmt.Errorf("opening node: the %s service declares no migrations", r)
		}
		db, err := sqldb.Open(ctx, cfg.Databases[r])
		if err != nil {
			return nil, fmt.Errorf("opening %s database: %w", r, err)
		}
		n.DBs[r] = db
		if err := n.EnsureSchema(ctx, r, m); err != nil {
			return nil, err
		}
	}
	if db := n.DBs[RoleOrders]; db != nil {
		n.Orders = orders.New(db)
	}
	services := builtinServices()
	for i, r := range AllRoles() {
		db, svc := n.DBs[r], services[r]
		if db == nil || n.borrowed[r] || svc.build == nil {
			continue
		}
		// Each injector draws from its own stream of the seed, so one
		// service's calls do not shift another's choices.
		in := faults.New(string(r), cfg.FaultSeed+uint64(i))
		if r != RoleNotifications { // no step: nothing to inject faults into
			n.Faults[string(r)] = in
		}
		if p := svc.build(n, db, in, cfg, now); p != nil {
			n.Participants[p.Step()] = p
		}
	}
	return n, nil
}

// builtin is a built-in service: its database's migrations and how to
// build it on that database (the order service has no build, and the
// notification service's builds no participant: they carry out no step).
type builtin struct {
	migrations func() sqldb.Migrations
	build      func(n *Services, db *sqldb.DB, f *faults.Injector, cfg Config, now func() time.Time) participant.Participant
}

// builtinServices returns the services of the built-in roles: the order
// service and the service of each step of the default saga. A new step's
// service is one more entry.
func builtinServices() map[Role]builtin {
	return map[Role]builtin{
		RoleOrders: {migrations: orders.Migrations},
		RoleInventory: {inventory.Migrations, func(n *Services, db *sqldb.DB, f *faults.Injector, _ Config, now func() time.Time) participant.Participant {
			n.Inventory = inventory.New(db, f, now)
			return n.Inventory
		}},
		RolePayment: {payment.Migrations, func(n *Services, db *sqldb.DB, f *faults.Injector, _ Config, now func() time.Time) participant.Participant {
			n.Payment = payment.New(db, f, now)
			return n.Payment
		}},
		RoleShipping: {shipping.Migrations, func(n *Services, db *sqldb.DB, f *faults.Injector, cfg Config, now func() time.Time) participant.Participant {
			n.Shipping = shipping.New(db, shipping.Config{Countries: cfg.Countries}, f, now)
			return n.Shipping
		}},
		RoleNotifications: {notifications.Migrations, func(n *Services, db *sqldb.DB, _ *faults.Injector, _ Config, now func() time.Time) participant.Participant {
			n.Notifications = notifications.NewStore(db, now)
			return nil
		}},
	}
}

// hostedRoles checks the configuration and returns the roles to host: the
// order service first, then the saga's steps in order; Config.Roles when
// set, every role of the saga otherwise.
func hostedRoles(g *saga.Saga, cfg Config) ([]Role, error) {
	all := RolesOf(g)
	roles := cfg.Roles
	if len(roles) == 0 {
		roles = all
	}
	for _, r := range roles {
		if !slices.Contains(all, r) {
			return nil, fmt.Errorf("role %q is neither the order service nor a step of the saga", r)
		}
		if _, ok := cfg.Participants[domain.StepName(r)]; ok {
			continue
		}
		if _, ok := Migrations(r); !ok {
			return nil, fmt.Errorf("step %s has no built-in service: give its participant in Config.Participants", r)
		}
		if cfg.Databases[r] == "" {
			return nil, fmt.Errorf("no database for role %s", r)
		}
	}
	slices.SortStableFunc(roles, func(a, b Role) int { return slices.Index(all, a) - slices.Index(all, b) })
	return slices.Compact(roles), nil
}

// RolesOf returns the roles of a saga's deployment: the order service,
// the service of each step in saga order, then the notification service.
func RolesOf(g *saga.Saga) []Role {
	roles := []Role{RoleOrders}
	for _, name := range g.Names() {
		roles = append(roles, Role(name))
	}
	return append(roles, RoleNotifications)
}

// StepRoles returns the roles of rs that carry out a step of a saga: all
// but the order and notification services.
func StepRoles(rs []Role) []Role {
	var out []Role
	for _, r := range rs {
		if r != RoleOrders && r != RoleNotifications {
			out = append(out, r)
		}
	}
	return out
}

// Roles returns the roles hosted: the order service first (when
// hosted), then the steps in saga order.
func (n *Services) Roles() []Role { return slices.Clone(n.roles) }

// Migrations returns the migrations of a built-in role's database, for
// tools that apply or revert them without opening hosted services; false for an
// unknown role.
func Migrations(r Role) (sqldb.Migrations, bool) {
	svc, ok := builtinServices()[r]
	if !ok {
		return sqldb.Migrations{}, false
	}
	return svc.migrations(), true
}

// EnsureSchema migrates the database of hosted role r with ms, in order,
// when the services were opened with Config.Migrate; otherwise it checks
// that the database is at the latest version of each set and returns
// every one that is not (each a *sqldb.SchemaVersionError). Open does it
// for the services' own tables; a stack does it for the sets it adds (an
// outbox, say).
func (n *Services) EnsureSchema(ctx context.Context, r Role, ms ...sqldb.Migrations) error {
	db := n.DBs[r]
	if db == nil {
		return fmt.Errorf("the %s role is not hosted", r)
	}
	var errList []error
	for _, m := range ms {
		if n.migrate {
			if err := db.Migrate(ctx, m); err != nil {
				return fmt.Errorf("migrating %s database: %w", r, err)
			}
			continue
		}
		if err := db.CheckVersion(ctx, m); err != nil {
			errList = append(errList, fmt.Errorf("%s database: %w", r, err))
		}
	}
	return errors.Join(errList...)
}

// Hosts reports whether role is hosted.
func (n *Services) Hosts(r Role) bool { return n.DBs[r] != nil }

// Instrument makes the hosted services' order store and services record the saga
// metrics m (see package sagametrics): the order store its final statuses
// and compensations, the services the runs of their steps. Call it before
// the services are used.
func (n *Services) Instrument(m *sagametrics.Metrics) {
	if n.Orders != nil {
		var obs orders.Observer // nil, not a nil *Metrics, when m is nil
		if m != nil {
			obs = m
		}
		n.Orders.SetObserver(obs)
	}
	if n.Inventory != nil {
		n.Inventory.SetStepMetrics(m.Steps())
	}
	if n.Payment != nil {
		n.Payment.SetStepMetrics(m.Steps())
	}
	if n.Shipping != nil {
		n.Shipping.SetStepMetrics(m.Steps())
	}
}

// Ping checks that every database of the hosted services answers.
func (n *Services) Ping(ctx context.Context) error {
	var errList []error
	for _, r := range n.roles {
		if db := n.DBs[r]; db != nil {
			if err := db.PingContext(ctx); err != nil {
				errList = append(errList, fmt.Errorf("%s database %s: %w", r, db.Name(), err))
			}
		}
	}
	return errors.Join(errList...)
}

// Close closes the hosted services' databases.
func (n *Services) Close() error {
	var errList []error
	for _, r := range n.roles {
		if db := n.DBs[r]; db != nil && !n.borrowed[r] {
			if err := db.Close(); err != nil {
				errList = append(errList, fmt.Errorf("closing %s database: %w", r, err))
			}
		}
	}
	return errors.Join(errList...)
}

// SQLiteDatabases returns the addresses of one SQLite file per role in dir
// (dir/orders.db, dir/inventory.db, …).
func SQLiteDatabases(dir string) map[Role]string {
	dbs := make(map[Role]string, len(AllRoles()))
	for _, r := range AllRoles() {
		dbs[r] = "sqlite:" + filepath.Join(dir, string(r)+".db")
	}
	return dbs
}

// prefixPattern is what a database name prefix may be: a lower-case SQL
// identifier, so the names need no quoting.
var prefixPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

// PostgresDatabases creates, when missing, one PostgreSQL database per role
// named prefix_role on the server at baseURL and returns their addresses.
// Several processes may call it at once for the same prefix.
func PostgresDatabases(ctx context.Context, baseURL, prefix string) (map[Role]string, error) {
	if !prefixPattern.MatchString(prefix) {
		return nil, fmt.Errorf("database prefix %q is not a lower-case identifier", prefix)
	}
	base, err := url.Parse(baseURL)
	if err != nil || (base.Scheme != "postgres" && base.Scheme != "postgresql") {
		return nil, fmt.Errorf("PostgreSQL base address is not a postgres:// URL")
	}
	admin, err := sqldb.Open(ctx, baseURL)
	if err != nil {
		return nil, fmt.Errorf("connecting to create databases: %w", err)
	}
	defer admin.Close()
	dbs := make(map[Role]string, len(AllRoles()))
	for _, r := range AllRoles() {
		name := prefix + "_" + string(r)
		if err := createDatabase(ctx, admin, name); err != nil {
			return nil, err
		}
		u := *base
		u.Path = "/" + name
		u.RawPath = ""
		dbs[r] = u.String()
	}
	return dbs, nil
}

// createDatabase creates the named database unless it exists. A concurrent
// creation of the same database by another process is not an error.
func createDatabase(ctx context.Context, admin *sqldb.DB, name string) error {
	var exists bool
	err := admin.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists)
	if err != nil {
		return fmt.Errorf("looking up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		var pgErr *pgconn.PgError
		// duplicate_database, or unique_violation on pg_database when two
		// creations race past the lookup.
		if errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") {
			return nil
		}
		return fmt.Errorf("creating database %s: %w", name, err)
	}
	return nil
}
