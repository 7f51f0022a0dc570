// Package effectstest reads what the saga's services did for each order of a
// test (its reservation, charge and shipment, and the stock and credit they
// moved) and compares it with what the order's final status and steps say
// must have happened exactly once. Both variants' exactly-once tests use it
// to put the effects applied next to the duplicates they injected.
//
// Give every order a product and a customer of its own: the stock and
// credit they moved are then the order's alone, so an effect applied twice
// shows as twice the units or twice the amount.
package effectstest

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/inventory"
	"github.com/ordersaga/ordersaga/shared/payment"
	"github.com/ordersaga/ordersaga/shared/sagametrics"
	"github.com/ordersaga/ordersaga/shared/shipping"
)

// Services are the services whose tables hold the effects.
type Services struct {
	Inventory *inventory.Service
	Payment   *payment.Service
	Shipping  *shipping.Service
}

// Order is one final order of a test, with the product and the customer
// it alone uses and what they held before it.
type Order struct {
	ID       string
	SKU      string
	Stock    int64 // the product's stock before the order
	Quantity int64
	Customer string
	Credit   int64 // the customer's credit before the order, in cents
	Status   domain.Status
	Steps    map[domain.StepName]domain.StepStatus
	// Total is what the order costs, in cents (quantity × price).
	Total int64
}

// Kind names an effect a service applies for an order.
type Kind string

// The effects counted, in the order Audit reports them.
const (
	Reservations    Kind = "reservations (units held)"
	StockCommits    Kind = "stock commits"
	StockReleases   Kind = "stock releases"
	UnitsGone       Kind = "stock units gone for good"
	Charges         Kind = "charges"
	CreditTaken     Kind = "credit taken for good (cents)"
	Refunds         Kind = "refunds"
	Shipments       Kind = "shipments (tracking numbers)"
	ShipmentCancels Kind = "shipment cancellations"
)

// Kinds lists every effect, in report order.
func Kinds() []Kind {
	return []Kind{Reservations, StockCommits, StockReleases, UnitsGone, Charges, CreditTaken, Refunds, Shipments, ShipmentCancels}
}

// Count is how much of one effect the final statuses call for (Want) and
// how much the services' tables show (Got).
type Count struct {
	Kind Kind
	Want int64
	Got  int64
}

// Report is the outcome of an audit.
type Report struct {
	Counts []Count
	// Mismatches name every order whose effects differ from what its
	// final status calls for; empty when every effect happened once.
	Mismatches []string
}

// Count returns the count of kind.
func (r Report) Count(kind Kind) Count {
	for _, c := range r.Counts {
		if c.Kind == kind {
			return c
		}
	}
	return Count{Kind: kind}
}

// effects is what the tables show of one order, or what it calls for.
type effects struct {
	reserved, committed, released bool
	unitsGone                     int64
	charged, refunded             bool
	creditTaken                   int64
	shipped, shipCancelled        bool
}

func (e effects) add(to map[Kind]int64) {
	for kind, on := range map[Kind]bool{
		Reservations: e.reserved, StockCommits: e.committed, StockReleases: e.released,
		Charges: e.charged, Refunds: e.refunded, Shipments: e.shipped, ShipmentCancels: e.shipCancelled,
	} {
		if on {
			to[kind]++
		}
	}
	to[UnitsGone] += e.unitsGone
	to[CreditTaken] += e.creditTaken
}

// want returns what an order's final status and steps call for: a step
// done or compensated took effect once (and, compensated, was undone
// once); a refused, skipped or pending step took none; a completed order's
// units and total are gone for good, any other order's are back.
func want(o Order) effects {
	took := func(step domain.StepName) bool {
		s := o.Steps[step]
		return s == domain.StepDone || s == domain.StepCompensated
	}
	undone := func(step domain.StepName) bool { return o.Steps[step] == domain.StepCompensated }
	completed := o.Status == domain.StatusCompleted
	e := effects{
		reserved: took(domain.StepInventory), committed: completed, released: undone(domain.StepInventory),
		charged: took(domain.StepPayment), refunded: undone(domain.StepPayment),
		shipped: took(domain.StepShipping), shipCancelled: undone(domain.StepShipping),
	}
	if completed {
		e.unitsGone, e.creditTaken = o.Quantity, o.Total
	}
	return e
}

// got reads an order's effects from the services' tables.
func got(ctx context.Context, s Services, o Order) (effects, []string, error) {
	var e effects
	var notes []string
	r, err := s.Inventory.Reservation(ctx, o.ID)
	switch {
	case errs.Is(err, errs.NotFound):
	case err != nil:
		return e, nil, err
	default:
		e.reserved = r.Status == inventory.Reserved || r.Status == inventory.Committed || r.Status == inventory.Released && !r.Tombstone
		e.committed = r.Status == inventory.Committed
		e.released = r.Status == inventory.Released && !r.Tombstone
		if r.Status == inventory.Reserved {
			notes = append(notes, "units still held")
		}
	}
	p, err := s.Inventory.Product(ctx, o.SKU)
	if err != nil {
		return e, nil, err
	}
	e.unitsGone = o.Stock - p.Available - p.Reserved
	if p.Reserved != 0 {
		notes = append(notes, fmt.Sprintf("%d units of %s reserved", p.Reserved, o.SKU))
	}
	pm, err := s.Payment.Payment(ctx, o.ID)
	switch {
	case errs.Is(err, errs.NotFound):
	case err != nil:
		return e, nil, err
	default:
		e.charged = pm.Status == payment.Charged || pm.Status == payment.Refunded && !pm.Tombstone
		e.refunded = pm.Status == payment.Refunded && !pm.Tombstone
	}
	c, err := s.Payment.Customer(ctx, o.Customer)
	if err != nil {
		return e, nil, err
	}
	e.creditTaken = o.Credit - int64(c.CreditCents)
	sh, err := s.Shipping.Shipment(ctx, o.ID)
	switch {
	case errs.Is(err, errs.NotFound):
	case err != nil:
		return e, nil, err
	default:
		e.shipped = sh.TrackingNumber != ""
		e.shipCancelled = sh.Status == shipping.Cancelled && !sh.Tombstone
	}
	return e, notes, nil
}

// Audit reads the effects of every order and compares them with what its
// final status calls for. It fails only when a table cannot be read.
func Audit(ctx context.Context, s Services, orders []Order) (Report, error) {
	wantTotal, gotTotal := map[Kind]int64{}, map[Kind]int64{}
	var rep Report
	for _, o := range orders {
		if !o.Status.Final() {
			rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("order %s is %s, not final", o.ID, o.Status))
		}
		w := want(o)
		g, notes, err := got(ctx, s, o)
		if err != nil {
			return Report{}, fmt.Errorf("auditing order %s: %w", o.ID, err)
		}
		w.add(wantTotal)
		g.add(gotTotal)
		if w != g || len(notes) > 0 {
			rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("order %s (%s, steps %v): effects %+v, want %+v %s",
				o.ID, o.Status, o.Steps, g, w, strings.Join(notes, "; ")))
		}
	}
	for _, k := range Kinds() {
		rep.Counts = append(rep.Counts, Count{Kind: k, Want: wantTotal[k], Got: gotTotal[k]})
	}
	return rep, nil
}

// Table renders rows under a header as aligned columns, for a test's log.
func Table(header []string, rows [][]string) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	_ = w.Flush()
	return b.String()
}

// Run names the runs of a step's action or compensation that committed
// with one outcome, as ordersaga_saga_step_duration_seconds labels them.
type Run struct {
	Step    domain.StepName
	Action  sagametrics.Action
	Outcome sagametrics.Outcome
}

// String returns "inventory do done".
func (r Run) String() string { return fmt.Sprintf("%s %s %s", r.Step, r.Action, r.Outcome) }

// Runs returns the runs the orders' final steps call for, each once: a
// step done or compensated ran its action once (done), a failed step once
// (refused), a compensated step its compensation once (undone).
func Runs(orders []Order) map[Run]int64 {
	out := map[Run]int64{}
	for _, o := range orders {
		for step, st := range o.Steps {
			switch st {
			case domain.StepDone:
				out[Run{step, sagametrics.Do, sagametrics.OutcomeDone}]++
			case domain.StepCompensated:
				out[Run{step, sagametrics.Do, sagametrics.OutcomeDone}]++
				out[Run{step, sagametrics.Undo, sagametrics.OutcomeUndone}]++
			case domain.StepFailed:
				out[Run{step, sagametrics.Do, sagametrics.OutcomeRefused}]++
			}
		}
	}
	return out
}

// Sample is one series of a gathered counter, or the sample count of a
// histogram's series.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Gather returns the counters and the histograms' sample counts of g.
func Gather(g prometheus.Gatherer) ([]Sample, error) {
	mfs, err := g.Gather()
	if err != nil {
		return nil, fmt.Errorf("gathering metrics: %w", err)
	}
	var out []Sample
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			s := Sample{Name: mf.GetName(), Labels: map[string]string{}}
			for _, lp := range m.GetLabel() {
				s.Labels[lp.GetName()] = lp.GetValue()
			}
			switch {
			case m.GetCounter() != nil:
				s.Value = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				s.Value = float64(m.GetHistogram().GetSampleCount())
			default:
				continue
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// Sum adds the samples named name whose labels have the values given as
// pairs (label, value, label, value...).
func Sum(samples []Sample, name string, labels ...string) float64 {
	var sum float64
next:
	for _, s := range samples {
		if s.Name != name {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if s.Labels[labels[i]] != labels[i+1] {
				continue next
			}
		}
		sum += s.Value
	}
	return sum
}

// StepRuns returns the committed runs (every outcome but error) the
// samples of ordersaga_saga_step_duration_seconds count.
func StepRuns(samples []Sample) map[Run]int64 {
	out := map[Run]int64{}
	for _, s := range samples {
		if s.Name != "ordersaga_saga_step_duration_seconds" || s.Labels["outcome"] == string(sagametrics.OutcomeError) || s.Value == 0 {
			continue
		}
		r := Run{domain.StepName(s.Labels["step"]), sagametrics.Action(s.Labels["action"]), sagametrics.Outcome(s.Labels["outcome"])}
		out[r] += int64(s.Value)
	}
	return out
}
