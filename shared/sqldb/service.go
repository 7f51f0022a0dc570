package sqldb

import (
	"context"
	"fmt"
	"time"
)

// Timestamp returns t in UTC, truncated to the microsecond: the precision
// at which both engines store a time (as unix microseconds), so that a time
// a service returns equals the one it later reads back.
func Timestamp(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// LostReplies is the fault injector of a service, as InOwnTx asks it after
// a commit whether the reply is lost; a *faults.Injector is one, and a nil
// *faults.Injector loses none.
type LostReplies interface {
	InjectLostReply(ctx context.Context, op string) error
}

// InOwnTx runs fn in a transaction of its own on db (see DB.InTx) and
// returns what fn returned. After the commit it asks f (nil for none)
// whether the reply of op is lost: a failure then is reported, wrapped with
// op and subject (such as "order o-1"), although the effect is durable, as
// a dropped connection would; the caller's retry meets the recorded
// outcome, which the operation's idempotency must absorb.
func InOwnTx[T any](ctx context.Context, db *DB, f LostReplies, op, subject string, fn func(tx *Tx) (T, error)) (T, error) {
	var out, zero T
	err := db.InTx(ctx, func(tx *Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	if err != nil {
		return zero, err
	}
	if f != nil {
		if err := f.InjectLostReply(ctx, op); err != nil {
			return zero, fmt.Errorf("%s %s: reply lost after commit: %w", op, subject, err)
		}
	}
	return out, nil
}
