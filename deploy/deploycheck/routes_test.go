package deploycheck

import (
	"slices"
	"testing"
)

func TestReadBinary_KnowsTheAPIPathsFromTheServedDocument(t *testing.T) {
	bin := ReadBinary()
	if bin.APIErr != nil {
		t.Fatal(bin.APIErr)
	}
	for _, p := range []string{"/v1/products", "/v1/products/{sku}", "/v1/customers/{id}", "/v1/orders/{order_id}/cancel", "/v1/admin/faults", "/openapi.yaml", "/metrics"} {
		if !slices.Contains(bin.APIPaths, p) {
			t.Errorf("the API paths %q lack %s", bin.APIPaths, p)
		}
	}
}

func TestRoute_MatchesAsAnIngressControllerDoes(t *testing.T) {
	prefix := route{path: "/v1/orders"}
	exact := route{path: "/v1/admin/faults", exact: true}
	for _, tc := range []struct {
		rt   route
		path string
		want bool
	}{
		{prefix, "/v1/orders", true},
		{prefix, "/v1/orders/x/cancel", true},
		{prefix, "/v1/ordersx", false},
		{route{path: "/v1/orders/"}, "/v1/orders", true},
		{route{path: "/"}, "/metrics", true},
		{exact, "/v1/admin/faults", true},
		{exact, "/v1/admin/faults/x", false},
	} {
		if got := tc.rt.matches(tc.path); got != tc.want {
			t.Errorf("route %+v matches %s: %v, want %v", tc.rt, tc.path, got, tc.want)
		}
	}
	if got := samplePath("/v1/orders/{order_id}/timeline"); got != "/v1/orders/x/timeline" {
		t.Errorf("samplePath = %s", got)
	}
}
