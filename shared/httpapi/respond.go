package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Media types of responses.
const (
	mediaJSON    = "application/json"
	mediaProblem = "application/problem+json"
	mediaYAML    = "application/yaml"
)

// writeJSON encodes v as the response body with the given status.
func (a *api) writeJSON(c *gin.Context, status int, mediaType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a bug can make these plain response types unencodable.
		a.Logger.ErrorContext(c.Request.Context(), "encoding response", "err", err)
		_ = c.Error(err)
		status, mediaType = http.StatusInternalServerError, mediaProblem
		b, _ = json.Marshal(newProblem(typeInternal, internalDetail))
	}
	c.Data(status, mediaType, append(b, '\n'))
}

// ok answers 200 with v as JSON.
func (a *api) ok(c *gin.Context, v any) { a.writeJSON(c, http.StatusOK, mediaJSON, v) }
