package payment

import (
	"context"
	"fmt"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// The payment service takes part in the saga as the payment step
// (participant.Participant): its action charges the order's total, its
// compensation refunds it; it has no completion.

// Step implements participant.Participant.
func (s *Service) Step() domain.StepName { return domain.StepPayment }

// DB implements participant.Participant.
func (s *Service) DB() *sqldb.DB { return s.db }

// Faults implements participant.Participant.
func (s *Service) Faults() *faults.Injector { return s.faults }

// ActTx takes the order's total from the customer's credit (ChargeTx).
func (s *Service) ActTx(ctx context.Context, tx *sqldb.Tx, in saga.Input) (saga.Outcome, error) {
	p, err := s.ChargeTx(ctx, tx, in.OrderID, in.CustomerID, in.TotalCents)
	if err != nil {
		return saga.Outcome{}, fmt.Errorf("charging order %s: %w", in.OrderID, err)
	}
	return saga.Outcome{}, p.Err()
}

// UndoTx gives the order's charge back (RefundTx).
func (s *Service) UndoTx(ctx context.Context, tx *sqldb.Tx, orderID string) (saga.Undo, error) {
	p, err := s.RefundTx(ctx, tx, orderID)
	if err != nil {
		return "", fmt.Errorf("refunding order %s: %w", orderID, err)
	}
	return saga.UndoOf(p.Tombstone, p.Status == Declined), nil
}

// CompleteTx does nothing: a charge needs no completion.
func (s *Service) CompleteTx(context.Context, *sqldb.Tx, string) error { return nil }
