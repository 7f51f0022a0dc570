package deploycheck

import (
	"flag"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	probe "github.com/ordersaga/ordersaga/deploy/internal/healthcheck"
)

// cmdHealthcheck is the command of the binary a health check of an
// ordersaga container runs: the image has no shell or curl.
const cmdHealthcheck = "healthcheck"

// healthEndpoints are the paths a process answers health checks on.
var healthEndpoints = map[string]bool{"/healthz": true, "/readyz": true}

// checkHealthTest checks the health check of a Compose service running the
// ordersaga image: it runs `/ordersaga healthcheck`, whose command line
// loads with the binary's own loader in the container's environment env,
// GETs /healthz or /readyz on the container's loopback address within the
// health check's timeout. It returns the port the check probes, for the
// caller to compare with the port the process serves; ok is false when no
// port can be told.
func checkHealthTest(ps *problems, what string, h *types.HealthCheckConfig, env map[string]string, bin Binary) (use portUse, ok bool) {
	test := h.Test
	if len(test) < 3 || test[0] != "CMD" || test[1] != imageBinary {
		ps.addf("%s: the health check must be [\"CMD\", %q, %q, …] (the image has no shell or curl)", what, imageBinary, cmdHealthcheck)
		return portUse{}, false
	}
	cmd, err := bin.Resolve(test[2:])
	if err != nil {
		ps.addf("%s: health check: %v", what, err)
		return portUse{}, false
	}
	if cmd[0] != cmdHealthcheck {
		ps.addf("%s: the health check runs `ordersaga %s`, not `ordersaga %s`", what, strings.Join(cmd, " "), cmdHealthcheck)
		return portUse{}, false
	}
	fs := flag.NewFlagSet("ordersaga "+cmdHealthcheck, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := probe.LoadConfig(fs, test[3:], func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
	if err != nil {
		ps.addf("%s: the health check `ordersaga %s` would fail with this environment: %v", what, strings.Join(test[2:], " "), err)
		return portUse{}, false
	}
	if limit := healthTimeout(h); limit <= cfg.Timeout {
		ps.addf("%s: the health check's timeout %v is not above the command's -timeout %v", what, limit, cfg.Timeout)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return portUse{}, false // Validate of LoadConfig reported it
	}
	if !isLoopback(net.JoinHostPort(u.Hostname(), "0")) {
		ps.addf("%s: the health check gets %s, but it runs inside the container: use 127.0.0.1", what, u.Redacted())
	}
	if !healthEndpoints[u.Path] {
		ps.addf("%s: the health check gets %s, which is not /healthz or /readyz", what, u.Path)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return portUse{}, false
	}
	return portUse{what: "the health check's port", port: n, serves: anyListener}, true
}
