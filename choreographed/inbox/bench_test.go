package inbox_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/inbox"
	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// claimBatch is the events a consumer claims in one transaction in the
// batch case.
const claimBatch = 100

// BenchmarkClaim measures the inbox of an idempotent consumer, per engine:
//
//   - new: one event claimed in a transaction of its own, as a consumer
//     under low load handles it (one commit per event);
//   - duplicate: a redelivered event, found handled and rejected;
//   - batch: claimBatch events claimed one by one in one transaction;
//   - claimall: claimBatch events claimed in one transaction with one
//     ClaimAll, as a consumer claims a batch of what it fetched.
//
// events/s counts the events claimed or rejected.
func BenchmarkClaim(b *testing.B) {
	ctx := context.Background()
	now := time.Now()
	for _, d := range sqltest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			db := sqltest.Open(b, d, inbox.Migrations())
			claimAll := func(b *testing.B, prefix string, from, n int, want bool) {
				err := db.InTx(ctx, func(tx *sqldb.Tx) error {
					for i := from; i < from+n; i++ {
						first, err := inbox.Claim(ctx, tx, "bench", prefix+strconv.Itoa(i), now)
						if err != nil {
							return err
						}
						if first != want {
							b.Errorf("claim of event %s%d: first = %v, want %v", prefix, i, first, want)
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}

			b.Run("new", func(b *testing.B) {
				i := 0
				for b.Loop() {
					claimAll(b, "new-", i, 1, true)
					i++
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
			b.Run("duplicate", func(b *testing.B) {
				claimAll(b, "dup-", 0, 1, true)
				for b.Loop() {
					claimAll(b, "dup-", 0, 1, false)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
			b.Run("batch", func(b *testing.B) {
				i := 0
				for b.Loop() {
					claimAll(b, "batch-", i, claimBatch, true)
					i += claimBatch
				}
				b.ReportMetric(float64(b.N*claimBatch)/b.Elapsed().Seconds(), "events/s")
			})
			b.Run("claimall", func(b *testing.B) {
				i := 0
				for b.Loop() {
					ids := make([]string, claimBatch)
					for j := range ids {
						ids[j] = "all-" + strconv.Itoa(i+j)
					}
					i += claimBatch
					err := db.InTx(ctx, func(tx *sqldb.Tx) error {
						first, err := inbox.ClaimAll(ctx, tx, "bench", ids, now)
						if err == nil && len(first) != claimBatch {
							b.Errorf("ClaimAll claimed %d new events, want %d", len(first), claimBatch)
						}
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*claimBatch)/b.Elapsed().Seconds(), "events/s")
			})
		})
	}
}
