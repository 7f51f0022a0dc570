package inventory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/sagametrics"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// operation names a saga operation for fault injection.
type operation string

// The saga operations of the inventory service.
const (
	opReserve operation = "reserve"
	opRelease operation = "release"
	opCommit  operation = "commit"
)

// Reserve holds every item of the order or none, pricing it from the
// catalog, in its own transaction. See ReserveTx.
func (s *Service) Reserve(ctx context.Context, orderID string, items []domain.Item) (Reservation, error) {
	return sqldb.InOwnTx(ctx, s.db, s.faults, string(opReserve), "order "+orderID, func(tx *sqldb.Tx) (Reservation, error) {
		return s.ReserveTx(ctx, tx, orderID, items)
	})
}

// ReserveTx is Reserve inside the caller's transaction. A refusal is not an
// error: it is recorded (status Rejected) and returned, so the caller commits
// it. The returned error is only for faults (injected, database), after which
// the caller must roll back and may retry. A repeated call returns the
// recorded outcome and changes nothing.
//
// The first call for an order id decides: a later call returns that
// recorded outcome even when it asks for other items. An empty item list, a
// bad order id or sku, a repeated sku or a quantity below one is an
// errs.Invalid error, as is an order whose total does not fit in 64 bits.
func (s *Service) ReserveTx(ctx context.Context, tx *sqldb.Tx, orderID string, items []domain.Item) (Reservation, error) {
	return sagametrics.TimeAction(s.steps, tx, domain.StepInventory, func() (Reservation, error) {
		return s.reserveTx(ctx, tx, orderID, items)
	})
}

func (s *Service) reserveTx(ctx context.Context, tx *sqldb.Tx, orderID string, items []domain.Item) (Reservation, error) {
	if err := s.faults.Inject(ctx, string(opReserve)); err != nil {
		return Reservation{}, err
	}
	if err := validateReserve(orderID, items); err != nil {
		return Reservation{}, err
	}
	// Claim the order id first with a rejection: a concurrent or earlier
	// operation on the same order (a reserve, or a release leaving a
	// tombstone) then wins, and this call returns its outcome.
	rejected := Reservation{OrderID: orderID, Status: Rejected, UpdatedAt: sqldb.Timestamp(s.now())}
	claimed, err := insertReservation(ctx, tx, rejected)
	if err != nil {
		return Reservation{}, fmt.Errorf("reserving order %s: %w", orderID, err)
	}
	if !claimed {
		r, err := loadReservation(ctx, tx, orderID)
		if err != nil {
			return Reservation{}, fmt.Errorf("reserving order %s: %w", orderID, err)
		}
		return r, nil
	}

	priced, total, held, err := holdStock(ctx, tx, items)
	if err != nil {
		return Reservation{}, fmt.Errorf("reserving order %s: %w", orderID, err)
	}
	if !held {
		return rejected, nil
	}
	r := Reservation{OrderID: orderID, Status: Reserved, Items: priced, TotalCents: total, UpdatedAt: rejected.UpdatedAt}
	if err := insertItems(ctx, tx, orderID, priced); err != nil {
		return Reservation{}, fmt.Errorf("reserving order %s: %w", orderID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE reservations SET status = $2, total_cents = $3 WHERE order_id = $1`,
		orderID, string(Reserved), int64(total)); err != nil {
		return Reservation{}, fmt.Errorf("reserving order %s: recording the reservation: %w", orderID, err)
	}
	return r, nil
}

// holdStock moves every item's quantity from available to reserved and
// prices it, or moves nothing and reports held false when a sku is unknown
// or short. It reads the products and decides with Stock.Reserve before it
// writes. Each update stays conditional on enough being available: the
// guard against a concurrent order taking the units between the read and
// the update, which then refuses this order as short. Products are updated
// in sku order, so concurrent orders lock them in the same order and cannot
// deadlock. The priced lines come back in the order of items.
func holdStock(ctx context.Context, tx *sqldb.Tx, items []domain.Item) (priced []domain.PricedItem, total domain.Cents, held bool, err error) {
	products, err := loadProducts(ctx, tx, items)
	if err != nil {
		return nil, 0, false, err
	}
	priced = make([]domain.PricedItem, len(items))
	for i, it := range items {
		p, ok := products[it.SKU]
		if !ok {
			return nil, 0, false, nil // an unknown sku is out of stock
		}
		if _, err := p.Stock().Reserve(it.Quantity); errors.Is(err, domain.ErrOutOfStock) {
			return nil, 0, false, nil
		} else if err != nil {
			return nil, 0, false, fmt.Errorf("holding %d of %s: %w", it.Quantity, it.SKU, err)
		}
		priced[i] = domain.PricedItem{SKU: it.SKU, Quantity: it.Quantity, PriceCents: p.PriceCents}
	}
	if total, err = orderTotal(priced); err != nil {
		return nil, 0, false, err
	}
	sorted := bySKU(priced)
	for n, it := range sorted {
		moved, err := updateRows(ctx, tx, `
			UPDATE products SET available = available - $2, reserved = reserved + $2
			WHERE sku = $1 AND available >= $2`, it.SKU, it.Quantity)
		if err != nil {
			return nil, 0, false, fmt.Errorf("holding %d of %s: %w", it.Quantity, it.SKU, err)
		}
		if moved == 0 {
			// The race the guard is for: a concurrent order took the
			// units since the read, and this one is short after all.
			// Give back the units already moved, in the same transaction
			// (cheaper than a savepoint on the path where every item is
			// there).
			if err := returnStock(ctx, tx, sorted[:n]); err != nil {
				return nil, 0, false, err
			}
			return nil, 0, false, nil
		}
	}
	return priced, total, true, nil
}

// orderTotal adds up the priced lines. A total that does not fit in 64 bits
// is an errs.Invalid error.
func orderTotal(priced []domain.PricedItem) (domain.Cents, error) {
	var total domain.Cents
	for _, p := range priced {
		line, err := p.PriceCents.Mul(p.Quantity)
		if err == nil {
			total, err = total.Add(line)
		}
		if err != nil {
			return 0, errs.Wrap(errs.Invalid, err, "the order's total is too large")
		}
	}
	return total, nil
}

// returnStock moves the items' quantities from reserved back to available,
// in sku order.
func returnStock(ctx context.Context, tx *sqldb.Tx, items []domain.PricedItem) error {
	for _, it := range bySKU(items) {
		if err := updateOne(ctx, tx, `
			UPDATE products SET available = available + $2, reserved = reserved - $2
			WHERE sku = $1`, it.SKU, it.Quantity); err != nil {
			return fmt.Errorf("returning %d of %s: %w", it.Quantity, it.SKU, err)
		}
	}
	return nil
}

// validateReserve checks what a reservation needs to be recorded at all.
func validateReserve(orderID string, items []domain.Item) error {
	var fields []errs.FieldError
	add := func(field, msg string) { fields = append(fields, errs.FieldError{Field: field, Message: msg}) }
	if !domain.ValidID(orderID) {
		add("order_id", domain.IDRule)
	}
	if len(items) == 0 {
		add("items", "must hold at least one item")
	}
	seen := make(map[string]bool, len(items))
	for i, it := range items {
		switch {
		case !domain.ValidID(it.SKU):
			add(fmt.Sprintf("items[%d].sku", i), domain.IDRule)
		case seen[it.SKU]:
			add(fmt.Sprintf("items[%d].sku", i), "repeats a sku")
		}
		seen[it.SKU] = true
		if it.Quantity < 1 {
			add(fmt.Sprintf("items[%d].quantity", i), "must be 1 or more")
		}
	}
	if len(fields) > 0 {
		return errs.InvalidFields(fields)
	}
	return nil
}

// Release returns the order's held units to available stock, in its own
// transaction. See ReleaseTx.
func (s *Service) Release(ctx context.Context, orderID string) (Reservation, error) {
	return sqldb.InOwnTx(ctx, s.db, s.faults, string(opRelease), "order "+orderID, func(tx *sqldb.Tx) (Reservation, error) {
		return s.ReleaseTx(ctx, tx, orderID)
	})
}

// ReleaseTx is Release inside the caller's transaction. Releasing an order
// with no reservation leaves a tombstone (status Released) so that a late
// Reserve is a no-op; releasing twice, or a rejected order, changes nothing.
// Releasing a committed order is an errs.Conflict.
func (s *Service) ReleaseTx(ctx context.Context, tx *sqldb.Tx, orderID string) (Reservation, error) {
	return sagametrics.TimeCompensation(s.steps, tx, domain.StepInventory, Reservation.undid, func() (Reservation, error) {
		return s.releaseTx(ctx, tx, orderID)
	})
}

func (s *Service) releaseTx(ctx context.Context, tx *sqldb.Tx, orderID string) (Reservation, error) {
	if err := s.faults.Inject(ctx, string(opRelease)); err != nil {
		return Reservation{}, err
	}
	if !domain.ValidID(orderID) {
		return Reservation{}, domain.InvalidID("order_id")
	}
	now := sqldb.Timestamp(s.now())
	tomb := releaseTombstone(orderID, now)
	claimed, err := insertReservation(ctx, tx, tomb)
	if err != nil {
		return Reservation{}, fmt.Errorf("releasing order %s: %w", orderID, err)
	}
	if claimed {
		return tomb, nil
	}
	r, moved, err := transition(ctx, tx, orderID, now, Reservation.release)
	if err != nil {
		return Reservation{}, fmt.Errorf("releasing order %s: %w", orderID, err)
	}
	if !moved {
		return r, nil // released before, or rejected: nothing held
	}
	if err := returnStock(ctx, tx, r.Items); err != nil {
		return Reservation{}, fmt.Errorf("releasing order %s: %w", orderID, err)
	}
	return r, nil
}

// Commit removes the order's held units for good when the order completes,
// in its own transaction. See CommitTx.
func (s *Service) Commit(ctx context.Context, orderID string) (Reservation, error) {
	return sqldb.InOwnTx(ctx, s.db, s.faults, string(opCommit), "order "+orderID, func(tx *sqldb.Tx) (Reservation, error) {
		return s.CommitTx(ctx, tx, orderID)
	})
}

// CommitTx is Commit inside the caller's transaction. Committing twice
// changes nothing; committing an order that is not reserved is an
// errs.Conflict.
func (s *Service) CommitTx(ctx context.Context, tx *sqldb.Tx, orderID string) (Reservation, error) {
	if err := s.faults.Inject(ctx, string(opCommit)); err != nil {
		return Reservation{}, err
	}
	if !domain.ValidID(orderID) {
		return Reservation{}, domain.InvalidID("order_id")
	}
	r, moved, err := transition(ctx, tx, orderID, sqldb.Timestamp(s.now()), Reservation.commit)
	if errs.Is(err, errs.NotFound) {
		return Reservation{}, errs.E(errs.Conflict, "order %s has no reservation to commit", orderID)
	}
	if err != nil {
		return Reservation{}, fmt.Errorf("committing order %s: %w", orderID, err)
	}
	if !moved {
		return r, nil // committed before
	}
	for _, it := range bySKU(r.Items) {
		if err := updateOne(ctx, tx, `UPDATE products SET reserved = reserved - $2 WHERE sku = $1`, it.SKU, it.Quantity); err != nil {
			return Reservation{}, fmt.Errorf("committing order %s: removing %d of %s: %w", orderID, it.Quantity, it.SKU, err)
		}
	}
	return r, nil
}

// Reservation returns the order's reservation. Errors: errs.NotFound.
func (s *Service) Reservation(ctx context.Context, orderID string) (Reservation, error) {
	r, err := loadReservation(ctx, s.db, orderID)
	if err != nil {
		return Reservation{}, fmt.Errorf("reading the reservation of order %s: %w", orderID, err)
	}
	return r, nil
}

// bySKU returns a copy of items sorted by sku: the order in which every
// operation touches products.
func bySKU(items []domain.PricedItem) []domain.PricedItem {
	out := slices.Clone(items)
	slices.SortFunc(out, func(a, b domain.PricedItem) int { return cmp.Compare(a.SKU, b.SKU) })
	return out
}
