package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/shared/errs"
)

// problemBase prefixes every problem type URI. The URIs are stable
// identifiers, listed in openapi.yaml.
const problemBase = "https://ordersaga.dev/problems/"

// problemType is the type URI of a problem document; it decides the status
// and the title.
type problemType string

// The problem types the API answers with.
const (
	typeValidation       problemType = problemBase + "validation"             // 400
	typeUnauthorized     problemType = problemBase + "unauthorized"           // 401, with WWW-Authenticate
	typeForbidden        problemType = problemBase + "forbidden"              // 403
	typeNotFound         problemType = problemBase + "not-found"              // 404
	typeMethodNotAllowed problemType = problemBase + "method-not-allowed"     // 405
	typeConflict         problemType = problemBase + "conflict"               // 409
	typeTooLarge         problemType = problemBase + "request-too-large"      // 413
	typeUnsupportedMedia problemType = problemBase + "unsupported-media-type" // 415
	typeInternal         problemType = problemBase + "internal"               // 500
	typeBadGateway       problemType = problemBase + "bad-gateway"            // 502
	typeUnavailable      problemType = problemBase + "unavailable"            // 503
	typeNotReady         problemType = problemBase + "not-ready"              // 503, GET /readyz
)

// status returns the HTTP status of a problem type.
func (t problemType) status() int {
	switch t {
	case typeValidation:
		return http.StatusBadRequest
	case typeUnauthorized:
		return http.StatusUnauthorized
	case typeForbidden:
		return http.StatusForbidden
	case typeNotFound:
		return http.StatusNotFound
	case typeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case typeConflict:
		return http.StatusConflict
	case typeTooLarge:
		return http.StatusRequestEntityTooLarge
	case typeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case typeBadGateway:
		return http.StatusBadGateway
	case typeUnavailable, typeNotReady:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// title returns the short, fixed summary of a problem type.
func (t problemType) title() string {
	switch t {
	case typeValidation:
		return "Invalid request"
	case typeUnauthorized:
		return "Unauthorized"
	case typeForbidden:
		return "Forbidden"
	case typeNotFound:
		return "Not found"
	case typeMethodNotAllowed:
		return "Method not allowed"
	case typeConflict:
		return "Conflict"
	case typeTooLarge:
		return "Request body too large"
	case typeUnsupportedMedia:
		return "Unsupported media type"
	case typeBadGateway:
		return "Bad gateway"
	case typeUnavailable:
		return "Service unavailable"
	case typeNotReady:
		return "Not ready"
	}
	return "Internal server error"
}

// problem is an RFC 9457 problem document.
type problem struct {
	Type     problemType      `json:"type"`
	Title    string           `json:"title"`
	Status   int              `json:"status"`
	Detail   string           `json:"detail"`
	Instance string           `json:"instance,omitempty"`
	Errors   []fieldErrorJSON `json:"errors,omitempty"`
	Checks   []checkJSON      `json:"checks,omitempty"` // readiness results, on not-ready only
}

// fieldErrorJSON names one bad field of a request.
type fieldErrorJSON struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// httpError is a failure of the HTTP exchange itself (body too large,
// media type, method, an unusable answer from another process) rather than
// of the application. Its cause, when set, is logged, never shown.
type httpError struct {
	typ    problemType
	detail string
	cause  error
}

func (e *httpError) Error() string {
	if e.cause != nil {
		return e.detail + ": " + e.cause.Error()
	}
	return e.detail
}

func (e *httpError) Unwrap() error { return e.cause }

// internalDetail is the detail of every internal error: the cause is logged,
// never shown.
const internalDetail = "an unexpected error occurred; it has been logged"

// problemFor is the one place that maps an error to its problem document.
// Codes: invalid 400, not_found 404, conflict 409, unavailable 503, anything
// else 500 with a fixed detail.
func problemFor(err error) problem {
	var he *httpError
	if errors.As(err, &he) {
		return newProblem(he.typ, he.detail)
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return newProblem(typeUnavailable, "the request timed out or was cancelled; retry")
		}
		return newProblem(typeInternal, internalDetail)
	}
	var p problem
	switch e.Code {
	case errs.Invalid:
		p = newProblem(typeValidation, e.Message)
		for _, f := range e.Fields {
			p.Errors = append(p.Errors, fieldErrorJSON{Field: f.Field, Message: f.Message})
		}
	case errs.NotFound:
		p = newProblem(typeNotFound, e.Message)
	case errs.Conflict:
		p = newProblem(typeConflict, e.Message)
	case errs.Unavailable:
		p = newProblem(typeUnavailable, e.Message)
	default:
		p = newProblem(typeInternal, internalDetail)
	}
	return p
}

func newProblem(t problemType, detail string) problem {
	return problem{Type: t, Title: t.title(), Status: t.status(), Detail: detail}
}

// fail answers the request with the problem document for err. Internal
// errors are attached to the request so the access log records them.
func (a *api) fail(c *gin.Context, err error) {
	p := problemFor(err)
	if p.Status >= http.StatusInternalServerError {
		_ = c.Error(err)
	}
	a.writeProblem(c, p)
}

// writeProblem writes a problem document.
func (a *api) writeProblem(c *gin.Context, p problem) {
	p.Instance = c.Request.URL.Path
	if p.Status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "1")
	}
	a.writeJSON(c, p.Status, mediaProblem, p)
	c.Abort()
}
