// Package node opens what one process of a stack hosts: the databases of
// the services it runs (migrated), the services themselves and their fault
// injectors. Both variants' stacks, the all-in-one run and the tests build
// their processes from a Node, so the services are wired the same way
// everywhere.
package node

import (
	"context"
	"errors"
	"time"

	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/orders"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/shipping"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

var errUnimplemented = errors.New("unimplemented")

// Role is a service a process can host.
type Role string

// The roles. Orders is the order service: the REST API and the order store.
const (
	RoleOrders    Role = "orders"
	RoleInventory Role = "inventory"
	RolePayment   Role = "payment"
	RoleShipping  Role = "shipping"
)

// AllRoles returns every role, in a stable order.
func AllRoles() []Role { return []Role{RoleOrders, RoleInventory, RolePayment, RoleShipping} }

// Config says what a node hosts and where its databases are.
type Config struct {
	// Roles the node hosts; empty means all.
	Roles []Role
	// Databases maps each hosted role to its database address (see
	// sqldb.Open). Every hosted role needs one.
	Databases map[Role]string
	// Countries the shipping service serves beyond its defaults.
	Countries []string
	// FaultSeed seeds the fault injectors.
	FaultSeed uint64
}

// Node is what one process hosts. Services of roles not hosted are nil.
type Node struct {
	Orders    *orders.Store
	Inventory *inventory.Service
	Payment   *payment.Service
	Shipping  *shipping.Service
	// DBs holds the open database of each hosted role.
	DBs map[Role]*sqldb.DB
	// Faults holds the fault injector of each hosted service
	// ("inventory", "payment", "shipping").
	Faults faults.Set
}

// Open opens and migrates the databases of the hosted roles and builds
// their services; now is the clock.
func Open(ctx context.Context, cfg Config, now func() time.Time) (*Node, error) {
	return nil, errUnimplemented
}

// Hosts reports whether the node hosts role.
func (n *Node) Hosts(r Role) bool { return n.DBs[r] != nil }

// Participants returns the saga participants hosted by the node.
func (n *Node) Participants() saga.Participants {
	return saga.Participants{Inventory: n.Inventory, Payment: n.Payment, Shipping: n.Shipping}
}

// Ping checks that every database of the node answers.
func (n *Node) Ping(ctx context.Context) error { return errUnimplemented }

// Close closes the node's databases.
func (n *Node) Close() error { return errUnimplemented }

// SQLiteDatabases returns the addresses of one SQLite file per role in dir
// (dir/orders.db, dir/inventory.db, …).
func SQLiteDatabases(dir string) map[Role]string { return nil }

// PostgresDatabases creates, when missing, one PostgreSQL database per role
// named prefix_role on the server at baseURL and returns their addresses.
func PostgresDatabases(ctx context.Context, baseURL, prefix string) (map[Role]string, error) {
	return nil, errUnimplemented
}
