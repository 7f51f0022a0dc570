package consumer

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/events"
	"github.com/ordersaga/ordersaga/shared/errs"
)

// permanentError marks an error that no retry can fix.
type permanentError struct{ err error }

// Error implements error.
func (e *permanentError) Error() string { return e.err.Error() }

// Unwrap returns the error marked permanent.
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as one no retry can fix: the message goes to the
// dead-letter topic at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether retrying cannot fix err: it was marked with
// Permanent, the event cannot be decoded or is of a newer schema, or a
// service refused it as invalid, unknown or conflicting. Anything else (a
// fault, a database error) is transient.
func IsPermanent(err error) bool {
	var p *permanentError
	if errors.As(err, &p) || errors.Is(err, events.ErrMalformed) || errors.Is(err, events.ErrUnsupportedVersion) {
		return true
	}
	switch errs.CodeOf(err) {
	case errs.Invalid, errs.NotFound, errs.Conflict:
		return true
	}
	return false
}

// Failure is a message that could not be handled.
type Failure struct {
	Message  *Message
	Err      error
	Attempts int
	// Since is when its first attempt started (zero when unknown).
	Since time.Time
}

// Failures lists the messages of a batch that could not be handled; the
// others were.
type Failures []Failure

// Error implements error.
func (f Failures) Error() string {
	var b strings.Builder
	for i, x := range f {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s/%d@%d after %d attempts: %v", x.Message.Topic, x.Message.Partition, x.Message.Offset, x.Attempts, x.Err)
	}
	return b.String()
}

// failuresOf returns the messages of batch that err says failed: the
// Failures it holds, or the batch's one message; false when err names no
// message of a batch of several.
func failuresOf(err error, batch []*Message) (Failures, bool) {
	var failed Failures
	if errors.As(err, &failed) {
		return failed, true
	}
	if len(batch) != 1 {
		return nil, false
	}
	return Failures{{Message: batch[0], Err: err, Attempts: 1}}, true
}
