package httpapi

import (
	"log"
	"net/http"
	"time"
)

// Limits bounds how long the API gives a client and how much it serves at
// once. The zero value of each field takes its default (DefaultLimits).
type Limits struct {
	ReadHeaderTimeout time.Duration // to read a request's headers
	ReadTimeout       time.Duration // to read a whole request, body included
	WriteTimeout      time.Duration // to write a response, from the end of the headers' read; above the longest ?wait=
	IdleTimeout       time.Duration // a kept-alive connection's wait for its next request
	MaxRequests       int           // requests served at once; past it 503 with Retry-After
	MaxWaiting        int           // POST /v1/orders?wait= requests waiting at once; past it 503 with Retry-After
}

// DefaultLimits returns the limits of a zero Limits.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      45 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxRequests:       1024,
		MaxWaiting:        256,
	}
}

// withDefaults returns l with every zero field set to its default.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.ReadHeaderTimeout > 0 {
		d.ReadHeaderTimeout = l.ReadHeaderTimeout
	}
	if l.ReadTimeout > 0 {
		d.ReadTimeout = l.ReadTimeout
	}
	if l.WriteTimeout > 0 {
		d.WriteTimeout = l.WriteTimeout
	}
	if l.IdleTimeout > 0 {
		d.IdleTimeout = l.IdleTimeout
	}
	if l.MaxRequests > 0 {
		d.MaxRequests = l.MaxRequests
	}
	if l.MaxWaiting > 0 {
		d.MaxWaiting = l.MaxWaiting
	}
	return d
}

// NewServer returns the HTTP server of an API handler with the timeouts of
// l; errorLog receives the server's own errors (nil: the log package's).
func NewServer(h http.Handler, l Limits, errorLog *log.Logger) *http.Server {
	l = l.withDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		ErrorLog:          errorLog,
	}
}
