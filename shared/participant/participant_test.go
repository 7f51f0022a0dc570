package participant_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/participant"
	"github.com/ordersaga/ordersaga/shared/saga"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// counter is a participant that records each action in a table and then
// answers what the test tells it to.
type counter struct {
	db     *sqldb.DB
	faults *faults.Injector
	answer error
}

func (c *counter) Step() domain.StepName    { return "counter" }
func (c *counter) DB() *sqldb.DB            { return c.db }
func (c *counter) Faults() *faults.Injector { return c.faults }
func (c *counter) ActTx(ctx context.Context, tx *sqldb.Tx, in saga.Input) (saga.Outcome, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO acts (order_id) VALUES ($1)`, in.OrderID); err != nil {
		return saga.Outcome{}, err
	}
	return saga.Outcome{TrackingNumber: "T-" + in.OrderID}, c.answer
}
func (c *counter) UndoTx(context.Context, *sqldb.Tx, string) (saga.Undo, error) {
	return saga.Undone, nil
}
func (c *counter) CompleteTx(context.Context, *sqldb.Tx, string) error { return c.answer }

func acts(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM acts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAct_CommitsOutcomesAndRollsBackFaults(t *testing.T) {
	db := sqltest.Open(t, sqldb.SQLite)
	sqltest.MustExec(t, db, `CREATE TABLE acts (order_id TEXT)`)
	ctx := context.Background()
	c := &counter{db: db}

	out, err := participant.Act(ctx, c, saga.Input{OrderID: "o-1"})
	if err != nil || out.TrackingNumber != "T-o-1" || acts(t, db) != 1 {
		t.Fatalf("done: %+v %v, %d acts", out, err, acts(t, db))
	}
	c.answer = domain.Refuse("loyalty_frozen", "frozen")
	if _, err := participant.Act(ctx, c, saga.Input{OrderID: "o-2"}); !participant.Settled(err) || acts(t, db) != 2 {
		t.Fatalf("refusal: %v, %d acts; want the refusal returned and committed", err, acts(t, db))
	} else if r, _ := domain.ReasonOf(err); r != "loyalty_frozen" {
		t.Fatalf("refusal reason %q, want loyalty_frozen", r)
	}
	c.answer = errors.New("database went away")
	if _, err := participant.Act(ctx, c, saga.Input{OrderID: "o-3"}); err == nil || participant.Settled(err) || acts(t, db) != 2 {
		t.Fatalf("fault: %v, %d acts; want the fault returned and rolled back", err, acts(t, db))
	}
	c.answer = nil
	c.faults = faults.New("counter", 1)
	if err := c.faults.Set(faults.Setting{ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := participant.Act(ctx, c, saga.Input{OrderID: "o-4"}); !errors.Is(err, faults.ErrInjected) || acts(t, db) != 3 {
		t.Fatalf("lost reply: %v, %d acts; want an injected error after the commit", err, acts(t, db))
	}
}

func TestSettled(t *testing.T) {
	for err, want := range map[error]bool{
		nil:                         false,
		domain.ErrOutOfStock:        true,
		domain.ErrCompensated:       true,
		errors.New("timeout"):       false,
		domain.Refuse("x", "other"): true,
	} {
		if got := participant.Settled(err); got != want {
			t.Errorf("Settled(%v) = %v, want %v", err, got, want)
		}
	}
}

func TestAct_InvalidData_IsRolledBackAndRejected(t *testing.T) {
	db := sqltest.Open(t, sqldb.SQLite)
	sqltest.MustExec(t, db, `CREATE TABLE acts (order_id TEXT)`)
	c := &counter{db: db, answer: errs.E(errs.Invalid, "the order's total is too large")}
	_, err := participant.Act(context.Background(), c, saga.Input{OrderID: "o-1"})
	if r, ok := domain.ReasonOf(err); !ok || r != domain.ReasonRejected || acts(t, db) != 0 {
		t.Fatalf("err = %v (reason %q), %d acts; want a rolled-back rejection", err, r, acts(t, db))
	}
}
