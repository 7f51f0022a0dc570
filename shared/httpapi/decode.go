package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/shared/errs"
)

// maxBodyBytes bounds a request body; a larger one is refused with 413.
const maxBodyBytes = 1 << 20

// decodeBody reads the request body strictly into dst, a pointer to a
// request struct: the media type must be JSON (or absent), the body at most
// maxBodyBytes, one JSON object with no unknown field, no value of the wrong
// type and nothing after it.
func decodeBody(c *gin.Context, dst any) error {
	if err := checkMediaType(c.GetHeader("Content-Type")); err != nil {
		return err
	}
	if c.Request.ContentLength > maxBodyBytes {
		return errTooLarge()
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return errTooLarge()
		}
		return errs.Wrap(errs.Invalid, err, "the request body could not be read")
	}
	return decodeJSON(b, dst)
}

func errTooLarge() error {
	return &httpError{typ: typeTooLarge, detail: fmt.Sprintf("the request body is larger than %d bytes", maxBodyBytes)}
}

// checkMediaType accepts an absent Content-Type (read as JSON) and
// application/json with any parameters.
func checkMediaType(contentType string) error {
	if contentType == "" {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && mt == mediaJSON {
		return nil
	}
	return &httpError{typ: typeUnsupportedMedia, detail: fmt.Sprintf("request bodies must be %s, not %q", mediaJSON, contentType)}
}

// decodeJSON decodes b, which must hold exactly one JSON object, into dst.
// Unknown fields (matched case-sensitively) and values of the wrong type are
// all reported, each by its path in the request (items[1].quantity).
func decodeJSON(b []byte, dst any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return errs.E(errs.Invalid, "a JSON request body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return syntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errs.E(errs.Invalid, "the request body holds more data after its JSON object")
	}
	if _, ok := doc.(map[string]any); !ok {
		return errs.E(errs.Invalid, "the request body must be a JSON object")
	}
	if fe := fieldProblems(doc, reflect.TypeOf(dst)); len(fe) > 0 {
		return errs.InvalidFields(fe)
	}
	strict := json.NewDecoder(bytes.NewReader(b))
	strict.DisallowUnknownFields()
	if err := strict.Decode(dst); err != nil {
		// fieldProblems checks everything the decoder does; this is a safety net.
		return errs.Wrap(errs.Invalid, err, "the request body does not match the expected fields")
	}
	return nil
}

// syntaxError describes why b is not one JSON value.
func syntaxError(err error) error {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return errs.Wrap(errs.Invalid, err, fmt.Sprintf("the request body is not valid JSON: %v (at byte %d)", se, se.Offset))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errs.Wrap(errs.Invalid, err, "the request body is not valid JSON: it ends too early")
	}
	return errs.Wrap(errs.Invalid, err, "the request body is not valid JSON")
}
