// Package loyaltytest adds a fourth step to the saga the way a new feature
// would, without changing any production code: a loyalty service that
// awards a customer points once the order is paid (one point per full 100
// cents of its total), and revokes them when the saga compensates. Tests
// build the saga with it (Saga), host its service on a database of its
// own (Open, passed to hosted.Config.Participants), and run its scenarios
// (Scenarios) through the REST API of either variant.
//
// The service refuses with two reasons of its own: ReasonFrozen for a
// customer whose id contains "frozen", ReasonCapped for an order worth
// more than MaxPoints points. The order must end with the reason given.
package loyaltytest

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Step is the loyalty step's name, and so its service's.
const Step domain.StepName = "loyalty"

// The loyalty step's refusals.
const (
	ReasonFrozen domain.FailureReason = "loyalty_frozen"
	ReasonCapped domain.FailureReason = "loyalty_capped"
)

// MaxPoints is the most points one order may earn.
const MaxPoints = 1000

// Definition is the loyalty step as saga.Step describes it.
func Definition() saga.Step {
	return saga.Step{Name: Step, Action: "AwardPoints", Compensation: "RevokePoints",
		Refusals: []domain.FailureReason{ReasonFrozen, ReasonCapped}}
}

// Saga returns the default saga with the loyalty step after payment:
// inventory, payment, loyalty, shipping.
func Saga(tb testing.TB) *saga.Saga {
	tb.Helper()
	g, err := saga.Default().Insert(domain.StepPayment, Definition())
	if err != nil {
		tb.Fatalf("adding the loyalty step: %v", err)
	}
	return g
}

//go:embed migrations
var migrationFS embed.FS

// Service is the loyalty service. It implements participant.Participant.
type Service struct {
	db *sqldb.DB
}

// Open opens the loyalty service's database at dsn, migrated; the test
// closes it at its end.
func Open(tb testing.TB, dsn string) *Service {
	tb.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		tb.Fatalf("opening the loyalty database: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx, sqldb.Migrations{Service: "loyalty", FS: migrationFS, Dir: "migrations"}); err != nil {
		tb.Fatalf("migrating the loyalty database: %v", err)
	}
	return &Service{db: db}
}

// Award statuses.
const (
	awarded   = "awarded"
	refused   = "refused"
	revoked   = "revoked"
	tombstone = "tombstone" // revoked before any award: a late award is a no-op
)

// Step implements participant.Participant.
func (s *Service) Step() domain.StepName { return Step }

// DB implements participant.Participant.
func (s *Service) DB() *sqldb.DB { return s.db }

// Faults implements participant.Participant: the loyalty service injects
// none.
func (s *Service) Faults() *faults.Injector { return nil }

// ActTx awards the order's points, or refuses.
func (s *Service) ActTx(ctx context.Context, tx *sqldb.Tx, in saga.Input) (saga.Outcome, error) {
	points := int64(in.TotalCents / 100)
	status, reason := awarded, domain.FailureReason("")
	switch {
	case strings.Contains(in.CustomerID, "frozen"):
		status, reason = refused, ReasonFrozen
	case points > MaxPoints:
		status, reason = refused, ReasonCapped
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO loyalty_awards (order_id, customer_id, points, status, reason)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id) DO NOTHING`, in.OrderID, in.CustomerID, points, status, string(reason)); err != nil {
		return saga.Outcome{}, fmt.Errorf("awarding points for order %s: %w", in.OrderID, err)
	}
	// The first outcome recorded for the order stands.
	status, reason, err := s.outcome(ctx, tx, in.OrderID)
	if err != nil {
		return saga.Outcome{}, err
	}
	switch status {
	case refused:
		return saga.Outcome{}, domain.Refuse(reason, "loyalty refused order "+in.OrderID)
	case revoked, tombstone:
		return saga.Outcome{}, fmt.Errorf("awarding points for order %s: %w", in.OrderID, domain.ErrCompensated)
	}
	return saga.Outcome{}, nil
}

// UndoTx revokes the order's points, or leaves a tombstone.
func (s *Service) UndoTx(ctx context.Context, tx *sqldb.Tx, orderID string) (saga.Undo, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO loyalty_awards (order_id, customer_id, points, status, reason)
		VALUES ($1, '', 0, $2, '') ON CONFLICT (order_id) DO NOTHING`, orderID, tombstone); err != nil {
		return "", fmt.Errorf("revoking the points of order %s: %w", orderID, err)
	}
	status, _, err := s.outcome(ctx, tx, orderID)
	if err != nil {
		return "", err
	}
	switch status {
	case tombstone:
		return saga.Tombstone, nil
	case refused:
		return saga.WasRefused, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE loyalty_awards SET status = $1 WHERE order_id = $2`, revoked, orderID); err != nil {
		return "", fmt.Errorf("revoking the points of order %s: %w", orderID, err)
	}
	return saga.Undone, nil
}

// CompleteTx does nothing: awarded points need no completion.
func (s *Service) CompleteTx(context.Context, *sqldb.Tx, string) error { return nil }

func (s *Service) outcome(ctx context.Context, tx *sqldb.Tx, orderID string) (string, domain.FailureReason, error) {
	var status, reason string
	err := tx.QueryRowContext(ctx, `SELECT status, reason FROM loyalty_awards WHERE order_id = $1`, orderID).Scan(&status, &reason)
	if err != nil {
		return "", "", fmt.Errorf("reading the award of order %s: %w", orderID, err)
	}
	return status, domain.FailureReason(reason), nil
}

// Points returns the points a customer holds now.
func (s *Service) Points(ctx context.Context, customerID string) (int64, error) {
	var n sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT SUM(points) FROM loyalty_awards WHERE customer_id = $1 AND status = $2`,
		customerID, awarded).Scan(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("reading the points of %s: %w", customerID, err)
	}
	return n.Int64, nil
}
