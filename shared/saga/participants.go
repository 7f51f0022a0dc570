package saga

import (
	"context"
	"fmt"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/shipping"
)

// Input is what a step's action needs to know of the order.
type Input struct {
	OrderID    string
	CustomerID string
	Items      []domain.Item
	ShipTo     domain.Address
	TotalCents domain.Cents // known once the inventory step priced the order
}

// Outcome is what a step's action found out.
type Outcome struct {
	Prices         []domain.PricedItem // from inventory
	TotalCents     domain.Cents        // from inventory
	TrackingNumber string              // from shipping
}

// Participants runs the saga's actions against the services that own them.
// A process that hosts only some services leaves the others nil and runs
// only their steps.
type Participants struct {
	Inventory *inventory.Service
	Payment   *payment.Service
	Shipping  *shipping.Service
}

// Do runs a step's action (or the completion) for the order. A business
// refusal returns an error wrapping the domain sentinel (domain.ErrOutOfStock,
// domain.ErrPaymentDeclined, domain.ErrShippingUnavailable); an action that
// arrives after its compensation returns one wrapping domain.ErrCompensated;
// any other error is a fault, to retry.
func (p Participants) Do(ctx context.Context, a Action, in Input) (Outcome, error) {
	switch a {
	case ReserveInventory:
		if p.Inventory == nil {
			break
		}
		r, err := p.Inventory.Reserve(ctx, in.OrderID, in.Items)
		if err != nil {
			return Outcome{}, fmt.Errorf("reserving inventory for order %s: %w", in.OrderID, err)
		}
		return Outcome{Prices: r.Items, TotalCents: r.TotalCents}, r.Err()
	case CommitInventory:
		if p.Inventory == nil {
			break
		}
		if _, err := p.Inventory.Commit(ctx, in.OrderID); err != nil {
			return Outcome{}, fmt.Errorf("committing inventory of order %s: %w", in.OrderID, err)
		}
		return Outcome{}, nil
	case ChargePayment:
		if p.Payment == nil {
			break
		}
		pm, err := p.Payment.Charge(ctx, in.OrderID, in.CustomerID, in.TotalCents)
		if err != nil {
			return Outcome{}, fmt.Errorf("charging order %s: %w", in.OrderID, err)
		}
		return Outcome{}, pm.Err()
	case CreateShipment:
		if p.Shipping == nil {
			break
		}
		sh, err := p.Shipping.Ship(ctx, in.OrderID, in.ShipTo)
		if err != nil {
			return Outcome{}, fmt.Errorf("shipping order %s: %w", in.OrderID, err)
		}
		return Outcome{TrackingNumber: sh.TrackingNumber}, sh.Err()
	default:
		return Outcome{}, fmt.Errorf("unknown saga action %q", a)
	}
	return Outcome{}, fmt.Errorf("saga action %s: its service is not hosted here", a)
}

// Undo runs a compensation for the order. It is safe to repeat and safe to
// run before (or without) the action it undoes; an error is a fault, to retry.
func (p Participants) Undo(ctx context.Context, a Action, orderID string) error {
	var err error
	switch {
	case a == ReleaseInventory && p.Inventory != nil:
		_, err = p.Inventory.Release(ctx, orderID)
	case a == RefundPayment && p.Payment != nil:
		_, err = p.Payment.Refund(ctx, orderID)
	case a == CancelShipment && p.Shipping != nil:
		_, err = p.Shipping.Cancel(ctx, orderID)
	case a == ReleaseInventory, a == RefundPayment, a == CancelShipment:
		return fmt.Errorf("saga compensation %s: its service is not hosted here", a)
	default:
		return fmt.Errorf("unknown saga compensation %q", a)
	}
	if err != nil {
		return fmt.Errorf("%s for order %s: %w", a, orderID, err)
	}
	return nil
}
