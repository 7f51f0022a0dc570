package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/faults"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

func TestGetFaults_AnswersEveryService(t *testing.T) {
	h := newHarness(t)
	must(t, h.faults["shipping"].Set(faults.Setting{ErrorRate: 0.5, Latency: 30 * time.Millisecond}))
	assertJSON(t, h.do(http.MethodGet, "/v1/admin/faults", ""), http.StatusOK, `{
		"inventory": {"error_rate": 0, "latency_ms": 0},
		"payment": {"error_rate": 0, "latency_ms": 0},
		"shipping": {"error_rate": 0.5, "latency_ms": 30}}`)
}

func TestPutFaults_ChangesOnlyNamedServices(t *testing.T) {
	h := newHarness(t)
	must(t, h.faults["shipping"].Set(faults.Setting{ErrorRate: 0.5}))
	must(t, h.faults["payment"].Set(faults.Setting{ErrorRate: 0.7, Latency: time.Second}))
	rec := h.do(http.MethodPut, "/v1/admin/faults", `{"inventory": {"error_rate": 0.2, "latency_ms": 30}, "payment": {"latency_ms": 10000}}`)
	assertJSON(t, rec, http.StatusOK, `{
		"inventory": {"error_rate": 0.2, "latency_ms": 30},
		"payment": {"error_rate": 0, "latency_ms": 10000},
		"shipping": {"error_rate": 0.5, "latency_ms": 0}}`)
	if got := h.faults["inventory"].Get(); got != (faults.Setting{ErrorRate: 0.2, Latency: 30 * time.Millisecond}) {
		t.Fatalf("inventory injector holds %+v", got)
	}
}

func TestPutFaults_EmptyObject_ChangesNothing(t *testing.T) {
	h := newHarness(t)
	must(t, h.faults["payment"].Set(faults.Setting{ErrorRate: 1}))
	rec := h.do(http.MethodPut, "/v1/admin/faults", `{}`)
	if rec.Code != http.StatusOK || h.faults["payment"].Get().ErrorRate != 1 {
		t.Fatalf("status %d, payment %+v", rec.Code, h.faults["payment"].Get())
	}
}

func TestFaults_Disabled_Answer404(t *testing.T) {
	h := newHarness(t, func(d *httpapi.Deps) { d.Faults = nil })
	assertProblem(t, h.do(http.MethodGet, "/v1/admin/faults", ""), http.StatusNotFound)
	assertProblem(t, h.do(http.MethodPut, "/v1/admin/faults", `{"inventory": {"error_rate": 1}}`), http.StatusNotFound)
	if got := h.faults["inventory"].Get(); got != (faults.Setting{}) {
		t.Fatalf("disabled faults endpoint changed a setting: %+v", got)
	}
}
