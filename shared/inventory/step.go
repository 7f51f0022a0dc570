package inventory

import (
	"context"
	"fmt"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// The inventory service takes part in the saga as the inventory step
// (participant.Participant): its action reserves and prices the order, its
// compensation releases the held units, its completion commits them.

// Step implements participant.Participant.
func (s *Service) Step() domain.StepName { return domain.StepInventory }

// DB implements participant.Participant.
func (s *Service) DB() *sqldb.DB { return s.db }

// Faults implements participant.Participant.
func (s *Service) Faults() *faults.Injector { return s.faults }

// ActTx reserves every item of the order or none and prices it (ReserveTx).
func (s *Service) ActTx(ctx context.Context, tx *sqldb.Tx, in saga.Input) (saga.Outcome, error) {
	r, err := s.ReserveTx(ctx, tx, in.OrderID, in.Items)
	if err != nil {
		return saga.Outcome{}, fmt.Errorf("reserving inventory for order %s: %w", in.OrderID, err)
	}
	return saga.Outcome{Prices: r.Items, TotalCents: r.TotalCents}, r.Err()
}

// UndoTx returns the order's held units to stock (ReleaseTx).
func (s *Service) UndoTx(ctx context.Context, tx *sqldb.Tx, orderID string) (saga.Undo, error) {
	r, err := s.ReleaseTx(ctx, tx, orderID)
	if err != nil {
		return "", fmt.Errorf("releasing inventory of order %s: %w", orderID, err)
	}
	return saga.UndoOf(r.Tombstone, r.Status == Rejected), nil
}

// CompleteTx removes the completed order's held units for good (CommitTx).
func (s *Service) CompleteTx(ctx context.Context, tx *sqldb.Tx, orderID string) error {
	if _, err := s.CommitTx(ctx, tx, orderID); err != nil {
		return fmt.Errorf("committing inventory of order %s: %w", orderID, err)
	}
	return nil
}
