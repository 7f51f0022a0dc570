package httpapi

import (
	_ "embed"
	"slices"
)

// openapiYAML is the OpenAPI document of this API, served at /openapi.yaml.
//
//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI returns the OpenAPI document of this API, as GET /openapi.yaml
// serves it, for tools that check other files against the API's paths.
func OpenAPI() []byte { return slices.Clone(openapiYAML) }
