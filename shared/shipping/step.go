package shipping

import (
	"context"
	"fmt"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// The shipping service takes part in the saga as the shipping step
// (participant.Participant): its action creates the shipment with a
// tracking number, its compensation cancels it; it has no completion.

// Step implements participant.Participant.
func (s *Service) Step() domain.StepName { return domain.StepShipping }

// DB implements participant.Participant.
func (s *Service) DB() *sqldb.DB { return s.db }

// Faults implements participant.Participant.
func (s *Service) Faults() *faults.Injector { return s.faults }

// ActTx creates the order's shipment (ShipTx).
func (s *Service) ActTx(ctx context.Context, tx *sqldb.Tx, in saga.Input) (saga.Outcome, error) {
	sh, err := s.ShipTx(ctx, tx, in.OrderID, in.ShipTo)
	if err != nil {
		return saga.Outcome{}, fmt.Errorf("shipping order %s: %w", in.OrderID, err)
	}
	return saga.Outcome{TrackingNumber: sh.TrackingNumber}, sh.Err()
}

// UndoTx cancels the order's shipment (CancelTx).
func (s *Service) UndoTx(ctx context.Context, tx *sqldb.Tx, orderID string) (saga.Undo, error) {
	sh, err := s.CancelTx(ctx, tx, orderID)
	if err != nil {
		return "", fmt.Errorf("cancelling the shipment of order %s: %w", orderID, err)
	}
	return saga.UndoOf(sh.Tombstone, sh.Status == Rejected), nil
}

// CompleteTx does nothing: a shipment needs no completion.
func (s *Service) CompleteTx(context.Context, *sqldb.Tx, string) error { return nil }
