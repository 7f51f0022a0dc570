package httpapi

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/shared/errs"
	"github.com/ordersaga/ordersaga/shared/faults"
)

// faultJSON is one service's fault setting.
type faultJSON struct {
	ErrorRate float64 `json:"error_rate"`
	LatencyMS int64   `json:"latency_ms"`
}

// faultsJSON maps service names to their settings: the body of PUT and GET
// /v1/admin/faults.
type faultsJSON map[string]faultJSON

// needFaults answers 404 when the stack runs without fault injection.
func (a *api) needFaults(c *gin.Context) {
	if a.Faults == nil {
		a.fail(c, errs.E(errs.NotFound, "fault injection is not enabled on this stack"))
	}
}

// getFaults serves GET /v1/admin/faults: the settings of the hosted
// services and those the other processes (Upstreams) report.
func (a *api) getFaults(c *gin.Context) {
	remote, err := a.exchangeFaults(c, nil)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := a.currentFaults()
	maps.Copy(out, remote)
	a.ok(c, out)
}

// putFaults serves PUT /v1/admin/faults. Each named service's setting is
// replaced (an omitted field is 0); the others keep theirs. Nothing changes
// unless every named service and value is valid. The settings of services
// other processes host are sent to those processes (only to those named),
// and the hosted ones changed only once every such process took its part.
func (a *api) putFaults(c *gin.Context) {
	var req faultsJSON
	if err := decodeBody(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	var f fieldErrors
	settings := make(map[string]faults.Setting, len(req))
	for _, name := range slices.Sorted(maps.Keys(req)) {
		local := a.Faults[name] != nil
		if !local && !a.up.hostsRemotely(name) {
			f.add(name, "is not a service with fault injection here; services: %s", strings.Join(a.services(), ", "))
			continue
		}
		v := req[name]
		if v.ErrorRate < 0 || v.ErrorRate > 1 {
			f.add(name+".error_rate", "must be from 0 to 1")
		}
		if maxMS := faults.MaxLatency.Milliseconds(); v.LatencyMS < 0 || v.LatencyMS > maxMS {
			f.add(name+".latency_ms", "must be from 0 to %d", maxMS)
		}
		if local {
			settings[name] = faults.Setting{ErrorRate: v.ErrorRate, Latency: time.Duration(v.LatencyMS) * time.Millisecond}
		}
	}
	if err := f.err(); err != nil {
		a.fail(c, err)
		return
	}
	remote, err := a.exchangeFaults(c, req)
	if err != nil {
		a.fail(c, err)
		return
	}
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		if err := a.Faults[name].Set(settings[name]); err != nil {
			a.fail(c, err)
			return
		}
	}
	out := a.currentFaults()
	maps.Copy(out, remote)
	a.ok(c, out)
}

// services returns the names of the services with an injector, here or
// in another process, sorted.
func (a *api) services() []string {
	var names []string
	for name, in := range a.Faults {
		if in != nil {
			names = append(names, name)
		}
	}
	for _, p := range a.up.peers {
		names = append(names, p.services...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func (a *api) currentFaults() faultsJSON {
	out := make(faultsJSON, len(a.Faults))
	for _, name := range a.services() {
		s := a.Faults[name].Get()
		out[name] = faultJSON{ErrorRate: s.ErrorRate, LatencyMS: s.Latency.Milliseconds()}
	}
	return out
}
