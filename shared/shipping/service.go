package shipping

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/sagametrics"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// operation names a saga operation for fault injection.
type operation string

// The saga operations of the shipping service.
const (
	opShip   operation = "ship"
	opCancel operation = "cancel"
)

// Tracking numbers are trackingPrefix followed by trackingLength characters
// of the base32 alphabet (A-Z, 2-7) drawn from crypto/rand: 60 random bits.
const (
	trackingPrefix = "OS"
	trackingLength = 12
	// maxTrackingDraws bounds how often ShipTx draws a new number when the
	// one it drew belongs to another order already.
	maxTrackingDraws = 5
)

// newTrackingNumber draws a fresh tracking number.
func newTrackingNumber() string { return trackingPrefix + rand.Text()[:trackingLength] }

// Ship creates the order's shipment with a tracking number, in its own
// transaction. See ShipTx.
func (s *Service) Ship(ctx context.Context, orderID string, to domain.Address) (Shipment, error) {
	return sqldb.InOwnTx(ctx, s.db, s.faults, string(opShip), "order "+orderID, func(tx *sqldb.Tx) (Shipment, error) {
		return s.ShipTx(ctx, tx, orderID, to)
	})
}

// ShipTx is Ship inside the caller's transaction. A refusal is not an error:
// it is recorded (status Rejected) and returned. The returned error is only
// for faults. A repeated call returns the recorded outcome and changes
// nothing.
//
// The first call for an order id decides: a later call returns that recorded
// outcome even when it asks for another address. A bad order id is an
// errs.Invalid error.
func (s *Service) ShipTx(ctx context.Context, tx *sqldb.Tx, orderID string, to domain.Address) (Shipment, error) {
	return sagametrics.TimeAction(s.steps, tx, domain.StepShipping, func() (Shipment, error) {
		return s.shipTx(ctx, tx, orderID, to)
	})
}

func (s *Service) shipTx(ctx context.Context, tx *sqldb.Tx, orderID string, to domain.Address) (Shipment, error) {
	if err := s.faults.Inject(ctx, string(opShip)); err != nil {
		return Shipment{}, err
	}
	if !domain.ValidID(orderID) {
		return Shipment{}, domain.InvalidID("order_id")
	}
	sh := Shipment{OrderID: orderID, Country: to.Country, Status: Rejected, UpdatedAt: sqldb.Timestamp(s.now())}
	if s.Serves(to.Country) {
		sh.Status = Created
	}
	for range maxTrackingDraws {
		if sh.Status == Created {
			sh.TrackingNumber = newTrackingNumber()
		}
		inserted, err := insertShipment(ctx, tx, sh)
		if err != nil {
			return Shipment{}, fmt.Errorf("shipping order %s: %w", orderID, err)
		}
		if inserted {
			return sh, nil
		}
		// The order has a record already (an earlier or concurrent Ship, or
		// a Cancel's tombstone), which is the outcome; or the tracking
		// number drawn belongs to another order, and a new one is drawn.
		existing, err := loadShipment(ctx, tx, orderID)
		if err == nil {
			return existing, nil
		}
		if !errs.Is(err, errs.NotFound) {
			return Shipment{}, fmt.Errorf("shipping order %s: %w", orderID, err)
		}
	}
	return Shipment{}, fmt.Errorf("shipping order %s: %d tracking numbers drawn were all taken", orderID, maxTrackingDraws)
}

// Cancel cancels the order's shipment, in its own transaction. See CancelTx.
func (s *Service) Cancel(ctx context.Context, orderID string) (Shipment, error) {
	return sqldb.InOwnTx(ctx, s.db, s.faults, string(opCancel), "order "+orderID, func(tx *sqldb.Tx) (Shipment, error) {
		return s.CancelTx(ctx, tx, orderID)
	})
}

// CancelTx is Cancel inside the caller's transaction. Cancelling an order
// with no shipment leaves a tombstone (status Cancelled) so that a late Ship
// is a no-op; cancelling twice, or a rejected order, changes nothing.
//
// A cancelled shipment keeps its tracking number. A bad order id is an
// errs.Invalid error.
func (s *Service) CancelTx(ctx context.Context, tx *sqldb.Tx, orderID string) (Shipment, error) {
	return sagametrics.TimeCompensation(s.steps, tx, domain.StepShipping, Shipment.undid, func() (Shipment, error) {
		return s.cancelTx(ctx, tx, orderID)
	})
}

func (s *Service) cancelTx(ctx context.Context, tx *sqldb.Tx, orderID string) (Shipment, error) {
	if err := s.faults.Inject(ctx, string(opCancel)); err != nil {
		return Shipment{}, err
	}
	if !domain.ValidID(orderID) {
		return Shipment{}, domain.InvalidID("order_id")
	}
	now := sqldb.Timestamp(s.now())
	tomb := cancelTombstone(orderID, now)
	inserted, err := insertShipment(ctx, tx, tomb)
	if err != nil {
		return Shipment{}, fmt.Errorf("cancelling the shipment of order %s: %w", orderID, err)
	}
	if inserted {
		return tomb, nil
	}
	sh, _, err := transition(ctx, tx, orderID, now, Shipment.cancel)
	if err != nil {
		return Shipment{}, fmt.Errorf("cancelling the shipment of order %s: %w", orderID, err)
	}
	return sh, nil // cancelled now, cancelled before, or rejected: nothing to undo
}

// Shipment returns the order's shipment. Errors: errs.NotFound.
func (s *Service) Shipment(ctx context.Context, orderID string) (Shipment, error) {
	sh, err := loadShipment(ctx, s.db, orderID)
	if err != nil {
		return Shipment{}, fmt.Errorf("reading the shipment of order %s: %w", orderID, err)
	}
	return sh, nil
}
