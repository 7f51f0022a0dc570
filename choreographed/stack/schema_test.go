package stack_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/internal/kafkatest"
	"github.com/ordersaga/ordersaga/choreographed/stack"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// TestMigrations_EveryRole_ItsTablesThenOutboxInboxAndTheOrdersTimeline
// pins the sets of migrations each role's database needs in this variant
// (the notification service's has no outbox).
func TestMigrations_EveryRole_ItsTablesThenOutboxInboxAndTheOrdersTimeline(t *testing.T) {
	for _, r := range hosted.AllRoles() {
		var got []string
		for _, m := range stack.Migrations(r, sqldb.SQLite) {
			got = append(got, m.Service)
		}
		want := string(r) + ",outbox,inbox"
		switch r {
		case hosted.RoleOrders:
			want += ",order_timeline"
		case hosted.RoleNotifications: // emits no event: no outbox
			want = string(r) + ",inbox"
		}
		if strings.Join(got, ",") != want {
			t.Errorf("Migrations(%s) = %v, want %s", r, got, want)
		}
	}
}

// TestNew_WithoutMigrate_RefusesAnOlderSchemaAndStartsOnceEverySetIsApplied:
// a stack whose hosted configuration does not migrate refuses databases
// that lack the outbox, the inbox or the timeline, naming each, and starts
// on databases that have every set of Migrations.
func TestNew_WithoutMigrate_RefusesAnOlderSchemaAndStartsOnceEverySetIsApplied(t *testing.T) {
	for _, d := range sqltest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			dbs := map[hosted.Role]string{}
			for _, r := range hosted.AllRoles() {
				dbs[r] = sqltest.DSN(t, d)
			}
			cfg := stack.Config{Hosted: hosted.Config{Databases: dbs}, Brokers: brokers, TopicPrefix: "schema" + kafkatest.Unique(), Logger: logger}
			refused := func(wants ...string) {
				t.Helper()
				s, err := stack.New(ctx, cfg)
				if err == nil {
					s.Close()
					t.Fatal("the stack started on databases not migrated")
				}
				if _, ok := errors.AsType[*sqldb.SchemaVersionError](err); !ok {
					t.Errorf("error %v, want a *sqldb.SchemaVersionError", err)
				}
				for _, want := range wants {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
			}
			refused("is at schema version 0 of orders, this binary needs")

			// The services' own tables only, as the migrate command applied
			// them before it applied the variant's.
			each := func(apply func(db *sqldb.DB, r hosted.Role) error) {
				t.Helper()
				for r, dsn := range dbs {
					db, err := sqldb.Open(ctx, dsn)
					if err != nil {
						t.Fatal(err)
					}
					err = apply(db, r)
					db.Close()
					if err != nil {
						t.Fatalf("%s database: %v", r, err)
					}
				}
			}
			each(func(db *sqldb.DB, r hosted.Role) error {
				m, _ := hosted.Migrations(r)
				return db.Migrate(ctx, m)
			})
			refused("payment database: database", "of outbox, this binary needs 1", "of inbox, this binary needs 1", "of order_timeline, this binary needs 1")

			each(func(db *sqldb.DB, r hosted.Role) error {
				for _, m := range stack.Migrations(r, db.Dialect()) {
					if err := db.Migrate(ctx, m); err != nil {
						return err
					}
				}
				return nil
			})
			s, err := stack.New(ctx, cfg)
			if err != nil {
				t.Fatalf("the stack on migrated databases: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}
