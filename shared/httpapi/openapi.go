package httpapi

import _ "embed"

// openapiYAML is the OpenAPI document of this API, served at /openapi.yaml.
//
//go:embed openapi.yaml
var openapiYAML []byte
