// Package errs holds the one error type the project uses to tell callers what
// kind of failure happened. The HTTP layer maps its codes to status codes and
// problem+json documents in one place; internal error text never reaches a
// client.
package errs

import (
	"errors"
	"fmt"
)

// Code classifies an error for callers.
type Code string

// The codes an Error can carry.
const (
	Invalid     Code = "invalid"     // the request is malformed; Fields says why
	NotFound    Code = "not_found"   // the resource does not exist
	Conflict    Code = "conflict"    // the request clashes with the current state
	Unavailable Code = "unavailable" // a transient fault; retrying may succeed
	Internal    Code = "internal"    // a bug or an unexpected failure
)

// FieldError names one invalid field of a request and what is wrong with it.
type FieldError struct {
	Field   string
	Message string
}

// Error is an error with a code, a message safe to show to a client, optional
// field errors, and an optional wrapped cause that is never shown to clients.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	Err     error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// E builds an Error with a formatted client-safe message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap builds an Error with a client-safe message around a cause.
func Wrap(code Code, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// InvalidFields builds an Invalid error listing every bad field.
func InvalidFields(fields []FieldError) *Error {
	return &Error{Code: Invalid, Message: "the request has invalid fields", Fields: fields}
}

// CodeOf returns the code of the first *Error in err's chain, Internal when
// there is none, and "" for a nil error.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }
