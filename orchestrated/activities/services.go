package activities

import (
	"context"
	"fmt"

	"github.com/ordersaga/ordersaga/orchestrated/workflow"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/shipping"
)

// InventoryActivities run the inventory step on the inventory service:
// ReserveInventory (action), ReleaseInventory (compensation) and
// CommitInventory (completion). Register them on workflow.TaskQueueInventory.
type InventoryActivities struct {
	Service *inventory.Service
}

// ReserveInventory holds every item of the order or none and prices it.
func (a *InventoryActivities) ReserveInventory(ctx context.Context, in saga.Input) (saga.Outcome, error) {
	out, err := saga.Participants{Inventory: a.Service}.Do(ctx, saga.ReserveInventory, in)
	return out, actionError(err)
}

// ReleaseInventory returns the order's held units to stock, or leaves a
// tombstone when nothing was held.
func (a *InventoryActivities) ReleaseInventory(ctx context.Context, orderID string) (workflow.Compensation, error) {
	r, err := a.Service.Release(ctx, orderID)
	if err != nil {
		return workflow.Compensation{}, fmt.Errorf("releasing inventory of order %s: %w", orderID, err)
	}
	return workflow.Compensation{Tombstone: r.Tombstone}, nil
}

// CommitInventory removes the order's held units for good.
func (a *InventoryActivities) CommitInventory(ctx context.Context, orderID string) error {
	_, err := saga.Participants{Inventory: a.Service}.Do(ctx, saga.CommitInventory, saga.Input{OrderID: orderID})
	return err
}

// PaymentActivities run the payment step on the payment service:
// ChargePayment (action) and RefundPayment (compensation). Register them on
// workflow.TaskQueuePayment.
type PaymentActivities struct {
	Service *payment.Service
}

// ChargePayment takes the order's total from the customer's credit.
func (a *PaymentActivities) ChargePayment(ctx context.Context, in saga.Input) (saga.Outcome, error) {
	out, err := saga.Participants{Payment: a.Service}.Do(ctx, saga.ChargePayment, in)
	return out, actionError(err)
}

// RefundPayment gives the order's charge back, or leaves a tombstone when
// nothing was charged.
func (a *PaymentActivities) RefundPayment(ctx context.Context, orderID string) (workflow.Compensation, error) {
	p, err := a.Service.Refund(ctx, orderID)
	if err != nil {
		return workflow.Compensation{}, fmt.Errorf("refunding order %s: %w", orderID, err)
	}
	return workflow.Compensation{Tombstone: p.Tombstone}, nil
}

// ShippingActivities run the shipping step on the shipping service:
// CreateShipment (action) and CancelShipment (compensation). Register them
// on workflow.TaskQueueShipping.
type ShippingActivities struct {
	Service *shipping.Service
}

// CreateShipment creates the order's shipment with a tracking number.
func (a *ShippingActivities) CreateShipment(ctx context.Context, in saga.Input) (saga.Outcome, error) {
	out, err := saga.Participants{Shipping: a.Service}.Do(ctx, saga.CreateShipment, in)
	return out, actionError(err)
}

// CancelShipment cancels the order's shipment, or leaves a tombstone when
// there was none.
func (a *ShippingActivities) CancelShipment(ctx context.Context, orderID string) (workflow.Compensation, error) {
	s, err := a.Service.Cancel(ctx, orderID)
	if err != nil {
		return workflow.Compensation{}, fmt.Errorf("cancelling the shipment of order %s: %w", orderID, err)
	}
	return workflow.Compensation{Tombstone: s.Tombstone}, nil
}
