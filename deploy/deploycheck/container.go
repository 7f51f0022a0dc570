package deploycheck

import (
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/shared/hosted"
)

// PendingEnv returns the ORDERSAGA_* variables the deploy files set ahead
// of the code that reads them, each with what will read it. They are
// accepted whether the code reads them yet or not. None is pending now.
func PendingEnv() map[string]string {
	return map[string]string{}
}

// The commands the deploy files run, as the binary names them.
const (
	cmdMigrate = "migrate"
	cmdDLQ     = "dlq"
	cmdRun     = "run"
)

// variantCommand returns the variant whose services command cmd runs
// (`ordersaga orchestrated <roles>`, `ordersaga choreographed <roles>`).
func variantCommand(cmd string) (process.Variant, bool) {
	switch v := process.Variant(cmd); v {
	case process.Orchestrated, process.Choreographed:
		return v, true
	}
	return "", false
}

// roleDBEnv returns the environment variable of a role's database address.
func roleDBEnv(r hosted.Role) string { return envflag.EnvName(process.EnvPrefix, string(r)+"-db") }

// envName returns the environment variable of the flag name.
func envName(flagName string) string { return envflag.EnvName(process.EnvPrefix, flagName) }

// container is a container of the ordersaga image, as a Compose service or
// a Kubernetes workload defines it.
type container struct {
	// what names it in messages ("service orchestrated-orders").
	what string
	// args are its arguments after the image's entrypoint.
	args []string
	// env is its environment; a value from a Secret that is not known
	// holds a stand-in address.
	env map[string]string
	// httpPorts are ports that must be a port the process serves HTTP on
	// (published ports, probe ports), with what they are.
	httpPorts []portUse
}

// portUse is a port some part of a deploy file expects the process to
// serve HTTP on.
type portUse struct {
	what string
	port int
	// serves says which of the process's listeners it must be.
	serves listener
}

// listener is what a port of a process serves: its API (the HTTP address),
// its health, readiness and metrics alone (the operations address), or
// either, for a probe or a metrics scrape, which both answer.
type listener int

const (
	apiListener listener = iota
	anyListener
	opsListener
)

// containerInfo is what a container runs, for the checks across services.
type containerInfo struct {
	// cmd is the command path (["orchestrated"], ["dlq", "list"]); nil when
	// the arguments name no command.
	cmd []string
	// variant is set for a process of a saga variant, and then cfg holds
	// its configuration (when it loads).
	variant  process.Variant
	cfg      process.Config
	cfgValid bool
}

// checkContainer checks what a container of the ordersaga image runs: a
// command of the binary, environment variables the binary reads, and what
// the command needs to work in a container of its own.
func checkContainer(ps *problems, c container, bin Binary) containerInfo {
	var info containerInfo
	cmd, err := bin.Resolve(c.args)
	if err != nil {
		ps.addf("%s: %v", c.what, err)
	}
	info.cmd = cmd
	pending := PendingEnv()
	for _, name := range sortedKeys(c.env) {
		if strings.HasPrefix(name, process.EnvPrefix) && !bin.Env[name] && pending[name] == "" {
			ps.addf("%s: sets %s, which no command of the binary reads", c.what, name)
		}
	}
	if cmd == nil {
		return info
	}
	if v, ok := variantCommand(cmd[0]); ok {
		info.variant = v
		info.cfg, info.cfgValid = checkProcess(ps, c, v, bin)
		return info
	}
	switch cmd[0] {
	case cmdMigrate:
		checkMigrate(ps, c)
	case cmdDLQ:
		checkBrokers(ps, c.what, c.env[envName("kafka-brokers")])
	case cmdRun:
		ps.addf("%s: runs `ordersaga run`, the all-in-one local stack, which is not meant to run in a container of its own", c.what)
	}
	return info
}

// checkProcess loads the configuration of `ordersaga <variant> <roles>`
// with the binary's own loader and checks it fits a container.
func checkProcess(ps *problems, c container, v process.Variant, bin Binary) (process.Config, bool) {
	cmdLine := "ordersaga " + strings.Join(c.args, " ")
	cfg, read, err := loadProcessConfig(v, c.args[1:], c.env)
	if err != nil {
		ps.addf("%s: `%s` would not start with this environment: %v", c.what, cmdLine, err)
		return cfg, false
	}
	pending := PendingEnv()
	for _, name := range sortedKeys(c.env) {
		if strings.HasPrefix(name, process.EnvPrefix) && bin.Env[name] && !read[name] && pending[name] == "" {
			ps.addf("%s: sets %s, which `ordersaga %s` does not read", c.what, name, v)
		}
	}
	for _, r := range cfg.Roles {
		if cfg.RoleDatabases[r] == "" && cfg.PostgresURL == "" {
			ps.addf("%s: the %s role has no database server: set %s (else it is a SQLite file inside the container)", c.what, r, roleDBEnv(r))
		}
	}
	port, portOK := listenPort(ps, c.what, "HTTP", cfg.HTTPAddr, "http-addr")
	opsPort, opsOK := 0, cfg.OpsAddr == ""
	if cfg.OpsAddr != "" {
		opsPort, opsOK = listenPort(ps, c.what, "health and metrics", cfg.OpsAddr, "ops-addr")
	}
	if portOK && opsOK {
		opsText := ""
		if opsPort != 0 {
			opsText = fmt.Sprintf(" and health and metrics alone on %s (%s)", cfg.OpsAddr, envName("ops-addr"))
		}
		for _, u := range c.httpPorts {
			switch {
			case u.serves == opsListener && opsPort == 0:
				ps.addf("%s: %s is port %d, but the process serves health and metrics on no port of their own: set %s", c.what, u.what, u.port, envName("ops-addr"))
			case u.serves == opsListener && u.port != opsPort:
				ps.addf("%s: %s is port %d, but the process serves health and metrics on %s (%s)", c.what, u.what, u.port, cfg.OpsAddr, envName("ops-addr"))
			case u.serves == apiListener && u.port != port,
				u.serves == anyListener && u.port != port && u.port != opsPort:
				ps.addf("%s: %s is port %d, but the process serves HTTP on %s (%s)%s", c.what, u.what, u.port, cfg.HTTPAddr, envName("http-addr"), opsText)
			}
		}
	}
	switch v {
	case process.Orchestrated:
		if isLoopback(cfg.TemporalAddress) {
			ps.addf("%s: Temporal at %s is the container itself: set %s", c.what, cfg.TemporalAddress, envName("temporal-address"))
		}
	case process.Choreographed:
		checkBrokers(ps, c.what, strings.Join(cfg.KafkaBrokers, ","))
	}
	return cfg, true
}

// listenPort returns the port of a process's listen address addr (the
// setting flagName), reporting one that has none or that nothing outside
// the container reaches.
func listenPort(ps *problems, what, serves, addr, flagName string) (int, bool) {
	host, portText, err := net.SplitHostPort(addr)
	port, perr := strconv.Atoi(portText)
	switch {
	case err != nil || perr != nil:
		ps.addf("%s: %s address %q has no port", what, serves, addr)
		return 0, false
	case host != "" && host != "0.0.0.0" && host != "::":
		ps.addf("%s: serves %s on %s, which nothing outside the container reaches: set %s to :%d", what, serves, addr, envName(flagName), port)
		return 0, false
	}
	return port, true
}

// loadProcessConfig returns the configuration `ordersaga <v> args…` runs
// with in the environment env, and the variables it looked up.
func loadProcessConfig(v process.Variant, args []string, env map[string]string) (process.Config, map[string]bool, error) {
	read := map[string]bool{}
	lookup := func(name string) (string, bool) {
		read[name] = true
		value, ok := env[name]
		return value, ok
	}
	fs := flag.NewFlagSet("ordersaga "+string(v), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := process.LoadConfig(v, fs, args, lookup)
	return cfg, read, err
}

// checkMigrate checks that a migrate container names its databases: one
// per role, of the variant it names, or a PostgreSQL server.
func checkMigrate(ps *problems, c container) {
	if c.env[envName("postgres-url")] != "" {
		return
	}
	if v := flagValue(c.args, "variant"); v != string(process.Orchestrated) && v != string(process.Choreographed) {
		ps.addf("%s: `ordersaga migrate` of each role's database needs the variant they belong to, whose tables differ: pass -variant %s or -variant %s",
			c.what, process.Orchestrated, process.Choreographed)
	}
	var missing []string
	for _, r := range hosted.AllRoles() {
		if c.env[roleDBEnv(r)] == "" {
			missing = append(missing, roleDBEnv(r))
		}
	}
	if len(missing) > 0 {
		ps.addf("%s: `ordersaga migrate` needs every role's database: %s not set (or set %s)",
			c.what, strings.Join(missing, ", "), envName("postgres-url"))
	}
}

// flagValue returns the value args give the flag name ("-name value",
// "-name=value", or with two dashes), or "".
func flagValue(args []string, name string) string {
	for i, a := range args {
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// checkBrokers checks a comma-separated broker list set for a container.
func checkBrokers(ps *problems, what, brokers string) {
	if brokers == "" {
		ps.addf("%s: no Kafka brokers: set %s", what, envName("kafka-brokers"))
		return
	}
	for b := range strings.SplitSeq(brokers, ",") {
		if isLoopback(b) {
			ps.addf("%s: Kafka broker %s is the container itself: set %s", what, b, envName("kafka-brokers"))
		}
	}
}

// isLoopback reports whether the host of host:port is this machine.
func isLoopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(strings.TrimSpace(hostPort))
	if err != nil {
		host = hostPort
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hostOf returns the host of host:port, or of a URL.
func hostOf(address string) string {
	if i := strings.Index(address, "://"); i >= 0 {
		address = address[i+3:]
		if j := strings.IndexAny(address, "/?"); j >= 0 {
			address = address[:j]
		}
		if k := strings.LastIndex(address, "@"); k >= 0 {
			address = address[k+1:]
		}
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return address
	}
	return host
}
