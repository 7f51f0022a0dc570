package httpapi

import (
	"context"
	"fmt"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/shared/domain"
	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/timeline"
)

// Timeline tells what happened to an order, as the variant recorded it.
type Timeline interface {
	// Timeline returns the order's entries. Errors: errs.NotFound for an
	// unknown order; errs.Unavailable when the record cannot be read now.
	Timeline(ctx context.Context, orderID string) ([]timeline.Entry, error)
}

// timelineTimeFormat is RFC 3339 in UTC with a fixed six fractional digits,
// so that entries of the same second still tell their order.
const timelineTimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// timelineJSON is the body of GET /v1/orders/{order_id}/timeline.
type timelineJSON struct {
	OrderID string              `json:"order_id"`
	Variant string              `json:"variant"`
	Entries []timelineEntryJSON `json:"entries"`
}

// timelineEntryJSON is one entry of a timeline.
type timelineEntryJSON struct {
	At      string          `json:"at"`
	Service string          `json:"service"`
	Kind    timeline.Kind   `json:"kind"`
	Step    domain.StepName `json:"step,omitempty"`
	Event   string          `json:"event,omitempty"`
	Status  domain.Status   `json:"status,omitempty"`
	Detail  string          `json:"detail,omitempty"`
}

// needTimeline answers 503 when the stack keeps no timelines.
func (a *api) needTimeline(c *gin.Context) {
	if a.Timeline == nil {
		a.fail(c, errs.E(errs.Unavailable, "this stack serves no order timelines"))
	}
}

// getTimeline serves GET /v1/orders/{order_id}/timeline: the entries sorted
// by time, entries of the same time in the order the variant gave them. A
// customer's request for another customer's order answers as for an
// unknown one.
func (a *api) getTimeline(c *gin.Context) {
	id := c.Param("order_id")
	if err := pathID("order_id", id); err != nil {
		a.fail(c, err)
		return
	}
	if !a.ownOrder(c, id) {
		return
	}
	ctx := c.Request.Context()
	entries, err := a.Timeline.Timeline(ctx, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.ok(c, toTimelineJSON(id, a.Variant, append(entries, a.retryEntries(ctx, id)...)))
}

// retryEntries returns a step_retrying entry, at the time of reading, for
// each step of a pending order whose work is being retried; none when
// there is no Retries or the order cannot be read.
func (a *api) retryEntries(ctx context.Context, id string) []timeline.Entry {
	if a.Retries == nil || a.Orders == nil {
		return nil
	}
	o, err := a.Orders.Get(ctx, id)
	if err != nil || o.Status().Final() {
		return nil
	}
	rs, err := a.Retries.Retrying(ctx, o)
	if err != nil {
		a.Logger.WarnContext(ctx, "reading the retries of an order", "order_id", id, "error", err)
	}
	out := make([]timeline.Entry, 0, len(rs))
	for _, r := range rs {
		out = append(out, timeline.Entry{At: a.Now(), Service: string(r.Step), Kind: timeline.KindStepRetrying, Step: r.Step,
			Detail: fmt.Sprintf("%s failed %d times, last: %s", r.Work, r.Attempts, r.LastError)})
	}
	return out
}

// toTimelineJSON shows a timeline, sorted by time.
func toTimelineJSON(orderID, variant string, entries []timeline.Entry) timelineJSON {
	sorted := make([]timeline.Entry, len(entries))
	copy(sorted, entries)
	timeline.Sort(sorted)
	out := timelineJSON{OrderID: orderID, Variant: variant, Entries: make([]timelineEntryJSON, 0, len(sorted))}
	for _, e := range sorted {
		out.Entries = append(out.Entries, timelineEntryJSON{
			At:      e.At.UTC().Format(timelineTimeFormat),
			Service: e.Service,
			Kind:    e.Kind,
			Step:    e.Step,
			Event:   e.Event,
			Status:  e.Status,
			Detail:  e.Detail,
		})
	}
	return out
}
