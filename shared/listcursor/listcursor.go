// Package listcursor makes the opaque cursors of the lists that page
// newest first by a time and an id (orders, notifications): the position
// of the last item of a page, so the next page starts right after it
// whatever was added in between.
package listcursor

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/ordersaga/ordersaga/shared/domain"
)

// Position is an item's place in a newest-first list: its time (unix
// microseconds) and its id, which orders items of the same time.
type Position struct {
	At int64
	ID string
}

// Encode returns the cursor of p, an opaque URL-safe string.
func Encode(p Position) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(p.At, 10) + ":" + p.ID))
}

// Decode reads a cursor made by Encode; false for anything else.
func Decode(s string) (Position, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Position{}, false
	}
	at, id, ok := strings.Cut(string(b), ":")
	if !ok || !domain.ValidID(id) {
		return Position{}, false
	}
	n, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return Position{}, false
	}
	return Position{At: n, ID: id}, true
}
