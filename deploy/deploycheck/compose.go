package deploycheck

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"go.temporal.io/server/common/dynamicconfig"
	"gopkg.in/yaml.v3"

	"github.com/ordersaga/ordersaga/choreographed/events"
	probe "github.com/ordersaga/ordersaga/deploy/internal/healthcheck"
	"github.com/ordersaga/ordersaga/deploy/internal/process"
	"github.com/ordersaga/ordersaga/shared/hosted"
)

// CheckComposeFile checks the Compose file file (relative to the
// repository root) of r.
func CheckComposeFile(r Repo, file string, bin Binary) []Problem {
	doc, err := os.ReadFile(r.Path(file))
	if err != nil {
		return []Problem{{File: file, Msg: err.Error()}}
	}
	return CheckCompose(r, file, doc, bin)
}

// CheckCompose checks doc, the content of the Compose file file (relative
// to the repository root; relative paths in doc start from its folder).
func CheckCompose(r Repo, file string, doc []byte, bin Binary) []Problem {
	ps := &problems{file: file}
	f, schemaProblems, err := loadCompose(r.Path(path.Dir(file)), r.Path(file), doc)
	for _, p := range schemaProblems {
		ps.addf("%s", p)
	}
	if err != nil {
		ps.addf("does not parse: %v", err)
		return ps.list
	}
	c := &composeCheck{repo: r, dir: path.Dir(file), services: f.AllServices(), volumes: f.Volumes, secrets: f.Secrets, ps: ps, bin: bin,
		infos: map[string]containerInfo{}, done: map[string]bool{}}
	c.run()
	return append(ps.list, c.mounted...)
}

// composeCheck holds the state of one Compose file's check.
type composeCheck struct {
	repo Repo
	dir  string // folder of the file, relative to the root
	// services are every service of the file, whatever its profiles;
	// volumes its top-level volumes.
	services types.Services
	volumes  types.Volumes
	// secrets are its top-level secrets.
	secrets types.Secrets
	ps      *problems
	bin     Binary
	// infos holds what each ordersaga container runs.
	infos map[string]containerInfo
	// done marks the services whose mounted configuration was checked.
	done map[string]bool
	// mounted holds the problems of the files the Compose file mounts.
	mounted []Problem
}

func (c *composeCheck) run() {
	if len(c.services) == 0 {
		c.ps.addf("defines no services")
		return
	}
	for _, name := range sortedKeys(c.services) {
		s := c.services[name]
		if s.Image == "" && s.Build == nil {
			c.ps.addf("service %s has neither image nor build", name)
		}
		c.checkDependencies(name, s)
		c.checkMounts(name, s)
		c.checkBuild(name, s)
	}
	c.checkCycles()
	c.checkHostPorts()
	for _, name := range sortedKeys(c.services) {
		if s := c.services[name]; c.isOrdersaga(s) {
			c.checkOrdersaga(name, s)
		}
	}
	for _, name := range sortedKeys(c.infos) {
		c.checkWiring(name, c.services[name], c.infos[name])
	}
	c.checkComposeSecrets()
}

// checkDependencies checks a service's depends_on: existing services, and
// conditions they can meet.
func (c *composeCheck) checkDependencies(name string, s types.ServiceConfig) {
	for _, dep := range sortedKeys(s.DependsOn) {
		cond := s.DependsOn[dep].Condition
		target, ok := c.services[dep]
		if !ok {
			c.ps.addf("service %s depends on %s, which is not a service of this file", name, dep)
			continue
		}
		switch cond {
		case condStarted:
		case condHealthy:
			if !healthEnabled(target.HealthCheck) {
				c.ps.addf("service %s waits for %s to be healthy, but %s has no health check", name, dep, dep)
			}
		case condCompleted:
			if target.Restart == "always" || target.Restart == "unless-stopped" {
				c.ps.addf("service %s waits for %s to complete, but %s restarts %s", name, dep, dep, target.Restart)
			}
		default:
			c.ps.addf("service %s depends on %s with unknown condition %q", name, dep, cond)
		}
	}
}

// checkCycles reports a depends_on cycle.
func (c *composeCheck) checkCycles() {
	const (
		unseen = iota
		visiting
		done
	)
	state := map[string]int{}
	var visit func(name string, trail []string)
	visit = func(name string, trail []string) {
		switch state[name] {
		case visiting:
			c.ps.addf("depends_on cycle: %s", strings.Join(append(trail, name), " -> "))
			return
		case done:
			return
		}
		state[name] = visiting
		if s, ok := c.services[name]; ok {
			for _, dep := range sortedKeys(s.DependsOn) {
				visit(dep, append(trail, name))
			}
		}
		state[name] = done
	}
	for _, name := range sortedKeys(c.services) {
		visit(name, nil)
	}
}

// checkMounts checks that bind-mounted files exist and named volumes are
// declared.
func (c *composeCheck) checkMounts(name string, s types.ServiceConfig) {
	for _, m := range s.Volumes {
		switch {
		case m.Source == "":
		case isBind(m):
			if strings.HasPrefix(m.Source, ".") && !c.repo.exists(path.Join(c.dir, m.Source)) {
				c.ps.addf("service %s mounts %s, which does not exist", name, m.Source)
			}
		case m.Type == types.VolumeTypeVolume:
			if _, ok := c.volumes[m.Source]; !ok {
				c.ps.addf("service %s uses volume %s, which the top-level volumes do not declare", name, m.Source)
			}
		}
	}
}

// checkBuild checks that a build's context and Dockerfile exist.
func (c *composeCheck) checkBuild(name string, s types.ServiceConfig) {
	if s.Build == nil {
		return
	}
	ctx := path.Join(c.dir, s.Build.Context)
	if !c.repo.exists(ctx) {
		c.ps.addf("service %s builds in %s, which does not exist", name, s.Build.Context)
		return
	}
	dockerfile := dockerfileOf(s.Build)
	if !c.repo.exists(path.Join(ctx, dockerfile)) {
		c.ps.addf("service %s builds with %s, which is not in its build context", name, dockerfile)
	}
}

// checkHostPorts reports a host port published twice.
func (c *composeCheck) checkHostPorts() {
	seen := map[string]string{}
	for _, name := range sortedKeys(c.services) {
		s := c.services[name]
		for _, p := range s.Ports {
			if p.Published == "" {
				continue
			}
			key := p.HostIP + ":" + p.Published
			if other, ok := seen[key]; ok {
				c.ps.addf("services %s and %s both publish host port %s", other, name, key)
			}
			seen[key] = name
		}
	}
}

// ordersagaDockerfile is the Dockerfile of the ordersaga image.
const ordersagaDockerfile = "deploy/Dockerfile"

// isOrdersaga reports whether s runs the ordersaga image: it builds it
// from its Dockerfile, or uses the image a service building it names.
func (c *composeCheck) isOrdersaga(s types.ServiceConfig) bool {
	builds := func(s types.ServiceConfig) bool {
		return s.Build != nil && path.Join(c.dir, s.Build.Context, dockerfileOf(s.Build)) == ordersagaDockerfile
	}
	if builds(s) {
		return true
	}
	for _, other := range c.services {
		if builds(other) && other.Image != "" && other.Image == s.Image {
			return true
		}
	}
	return false
}

// checkOrdersaga checks a container of the ordersaga image.
func (c *composeCheck) checkOrdersaga(name string, s types.ServiceConfig) {
	what := "service " + name
	if s.Entrypoint != nil {
		c.ps.addf("%s overrides the entrypoint of the ordersaga image (it has no shell)", what)
	}
	if len(s.Command) == 0 {
		c.ps.addf("%s names no command: it would run the image's default", what)
		return
	}
	env := environment(s)
	ct := container{what: what, args: s.Command, env: env}
	for _, p := range s.Ports {
		ct.httpPorts = append(ct.httpPorts, portUse{what: "published port " + portText(p), port: int(p.Target)})
	}
	if healthEnabled(s.HealthCheck) {
		if use, ok := checkHealthTest(c.ps, what, s.HealthCheck, env, c.bin); ok {
			ct.httpPorts = append(ct.httpPorts, use)
		}
	}
	info := checkContainer(c.ps, ct, c.bin)
	if info.cfgValid && info.cfg.FaultInjection {
		c.ps.addf("%s serves fault injection (/v1/admin/faults) unless asked: keep %s off by default (${%[2]s:-false})", what, envName("fault-injection"))
	}
	if info.variant != "" && !healthEnabled(s.HealthCheck) {
		c.ps.addf("%s runs a process of the %s variant without a health check: add one running [\"CMD\", %q, %q, \"-url\", \"http://127.0.0.1:<port>%s\"]",
			what, info.variant, imageBinary, cmdHealthcheck, probe.DefaultPath)
	}
	c.infos[name] = info
}

// checkWiring checks what an ordersaga container reaches against the
// services of the file: their names, the databases the init scripts
// create, the migrate services it waits for, the processes an orders
// process forwards to, Temporal's namespace, the topics created up front
// and the trace collector.
func (c *composeCheck) checkWiring(name string, s types.ServiceConfig, info containerInfo) {
	what := "service " + name
	env := environment(s)
	if otlp := env["OTEL_EXPORTER_OTLP_ENDPOINT"]; otlp != "" {
		if host := hostOf(otlp); c.needService(what, "the trace collector", host) {
			c.checkCollector(host)
		}
	}
	if len(info.cmd) > 0 && info.cmd[0] == cmdMigrate {
		for _, r := range hosted.AllRoles() {
			c.checkDatabase(what, env[roleDBEnv(r)])
		}
		return
	}
	if info.variant == "" || !info.cfgValid {
		return
	}
	cfg := info.cfg
	for _, r := range cfg.Roles {
		dsn := cfg.RoleDatabases[r]
		if dsn == "" {
			continue
		}
		c.checkDatabase(what, dsn)
		if !c.waitsForMigration(s, r, dsn) {
			c.ps.addf("%s does not wait for a migrate service (condition %s) that migrates its %s database", what, condCompleted, r)
		}
	}
	checkUpstreams(c.ps, what, info, c.findPeer)
	switch info.variant {
	case process.Orchestrated:
		host := hostOf(cfg.TemporalAddress)
		if isLoopback(cfg.TemporalAddress) || !c.needService(what, "Temporal", host) {
			return
		}
		if s.DependsOn[host].Condition != condHealthy {
			c.ps.addf("%s does not wait for %s to be healthy (Temporal)", what, host)
		}
		temporal := c.services[host]
		ns := environment(temporal)["DEFAULT_NAMESPACE"]
		if ns == "" {
			ns = "default"
		}
		if ns != cfg.TemporalNamespace {
			c.ps.addf("%s uses Temporal namespace %q, but %s registers %q (DEFAULT_NAMESPACE)", what, cfg.TemporalNamespace, host, ns)
		}
		c.checkTemporal(host, temporal)
	case process.Choreographed:
		for _, b := range cfg.KafkaBrokers {
			if !isLoopback(b) {
				c.needService(what, "Kafka", hostOf(b))
			}
		}
		c.checkTopics(what, s, cfg)
	}
}

// findPeer is the peerFinder of the file: a URL's host is a service
// running a process of the ordersaga image, its port the one the process
// serves HTTP on in its container.
func (c *composeCheck) findPeer(host string, port int) (peer, string) {
	info, ok := c.infos[host]
	_, isService := c.services[host]
	switch {
	case !ok && isService:
		return peer{}, fmt.Sprintf("leads to service %s, which runs no ordersaga process", host)
	case !ok:
		return peer{}, fmt.Sprintf("leads to host %s, which is not a service of this file", host)
	}
	p := peer{what: "service " + host, info: info}
	if info.variant != "" && info.cfgValid {
		if own := httpPort(info); own != port {
			return peer{}, fmt.Sprintf("is port %d of service %s, which serves HTTP on port %d", port, host, own)
		}
	}
	return p, ""
}

// needService reports whether host is a service of the file, reporting it
// when not.
func (c *composeCheck) needService(what, role, host string) bool {
	if _, ok := c.services[host]; ok {
		return true
	}
	c.ps.addf("%s finds %s at host %q, which is not a service of this file", what, role, host)
	return false
}

// checkDatabase checks a postgres:// address: its host is a service of
// the file and its database one the service's init scripts create.
func (c *composeCheck) checkDatabase(what, dsn string) {
	if dsn == "" || !strings.HasPrefix(dsn, "postgres") {
		return
	}
	u, err := url.Parse(dsn)
	if err != nil {
		c.ps.addf("%s: a database address does not parse", what)
		return
	}
	host := u.Hostname()
	if !c.needService(what, "PostgreSQL", host) {
		return
	}
	db := strings.TrimPrefix(u.Path, "/")
	if dbs := c.initDatabases(host); !dbs[db] {
		c.ps.addf("%s uses database %q on %s, which its init scripts do not create", what, db, host)
	}
}

// createDatabasePattern finds the databases an SQL script creates.
var createDatabasePattern = regexp.MustCompile(`(?i)\bCREATE\s+DATABASE\s+"?([A-Za-z_][A-Za-z0-9_]*)"?`)

// initDatabases returns the databases a PostgreSQL service has at start:
// those of its init scripts, its POSTGRES_DB (or user) and postgres.
func (c *composeCheck) initDatabases(service string) map[string]bool {
	s := c.services[service]
	env := environment(s)
	dbs := map[string]bool{"postgres": true}
	if db := env["POSTGRES_DB"]; db != "" {
		dbs[db] = true
	} else if user := env["POSTGRES_USER"]; user != "" {
		dbs[user] = true
	}
	for _, m := range s.Volumes {
		if !isBind(m) || !strings.HasPrefix(m.Target, "/docker-entrypoint-initdb.d") || !strings.HasSuffix(m.Source, ".sql") {
			continue
		}
		data, err := os.ReadFile(c.repo.Path(path.Join(c.dir, m.Source)))
		if err != nil {
			continue // reported by checkMounts
		}
		for _, match := range createDatabasePattern.FindAllStringSubmatch(string(data), -1) {
			dbs[match[1]] = true
		}
	}
	return dbs
}

// waitsForMigration reports whether s waits for a migrate service to
// complete that migrates dsn as role r's database.
func (c *composeCheck) waitsForMigration(s types.ServiceConfig, r hosted.Role, dsn string) bool {
	for _, dep := range sortedKeys(s.DependsOn) {
		info, ok := c.infos[dep]
		if !ok || s.DependsOn[dep].Condition != condCompleted || len(info.cmd) == 0 || info.cmd[0] != cmdMigrate {
			continue
		}
		if environment(c.services[dep])[roleDBEnv(r)] == dsn {
			return true
		}
	}
	return false
}

// checkTemporal checks a Temporal server of the auto-setup image: its
// databases exist when it does not create them, and its dynamic config file
// loads without errors or warnings.
func (c *composeCheck) checkTemporal(name string, s types.ServiceConfig) {
	if c.done[name] {
		return
	}
	c.done[name] = true
	what := "service " + name
	env := environment(s)
	if env["SKIP_DB_CREATE"] == "true" && strings.HasPrefix(env["DB"], "postgres") {
		seeds := env["POSTGRES_SEEDS"]
		if c.needService(what, "PostgreSQL", seeds) {
			dbs := c.initDatabases(seeds)
			for _, key := range []string{"DBNAME", "VISIBILITY_DBNAME"} {
				db := env[key]
				if db == "" {
					db = map[string]string{"DBNAME": "temporal", "VISIBILITY_DBNAME": "temporal_visibility"}[key]
				}
				if !dbs[db] {
					c.ps.addf("%s skips creating its databases (SKIP_DB_CREATE), but the init scripts of %s do not create %s %q", what, seeds, key, db)
				}
			}
		}
	}
	dcPath := env["DYNAMIC_CONFIG_FILE_PATH"]
	if dcPath == "" {
		return
	}
	src := c.mountSource(s, dcPath)
	if src == "" {
		c.ps.addf("%s reads its dynamic config from %s, which no bind mount provides", what, dcPath)
		return
	}
	file := path.Join(c.dir, src)
	data, err := os.ReadFile(c.repo.Path(file))
	if err != nil {
		return // reported by checkMounts
	}
	ps := &problems{file: file}
	lr := dynamicconfig.LoadYamlFile(data)
	for _, e := range lr.Errors {
		ps.addf("Temporal rejects this dynamic config: %v", e)
	}
	for _, w := range lr.Warnings {
		ps.addf("Temporal warns about this dynamic config: %v", w)
	}
	c.mounted = append(c.mounted, ps.list...)
}

// mountSource returns the bind-mount source of target in s, or "".
func (c *composeCheck) mountSource(s types.ServiceConfig, target string) string {
	for _, m := range s.Volumes {
		if isBind(m) && m.Target == target {
			return m.Source
		}
	}
	return ""
}

// checkTopics checks that a choreographed process waits for a service
// creating exactly its topics up front (TOPICS, PARTITIONS).
func (c *composeCheck) checkTopics(what string, s types.ServiceConfig, cfg process.Config) {
	want := events.Topics{Prefix: cfg.TopicPrefix}.All()
	slices.Sort(want)
	for _, dep := range sortedKeys(s.DependsOn) {
		target, ok := c.services[dep]
		if !ok {
			continue
		}
		env := environment(target)
		if _, ok := env["TOPICS"]; !ok {
			continue
		}
		if s.DependsOn[dep].Condition != condCompleted {
			c.ps.addf("%s does not wait for %s to complete (it creates the topics)", what, dep)
		}
		got := strings.Fields(env["TOPICS"])
		slices.Sort(got)
		if !slices.Equal(got, want) {
			c.ps.addf("service %s creates topics %v, but %s uses %v (topic prefix %q)", dep, got, what, want, cfg.TopicPrefix)
		}
		if n, err := strconv.Atoi(env["PARTITIONS"]); err != nil || n < 1 {
			c.ps.addf("service %s: PARTITIONS %q is not a positive number", dep, env["PARTITIONS"])
		}
		if b := env["BOOTSTRAP"]; !slices.Contains(cfg.KafkaBrokers, b) {
			c.ps.addf("service %s creates the topics on %q, but %s uses brokers %v", dep, b, what, cfg.KafkaBrokers)
		}
		return
	}
	c.ps.addf("%s does not wait for a service creating its topics (one with TOPICS in its environment)", what)
}

// checkCollector checks the configuration file of an OpenTelemetry
// collector service: every pipeline's components are defined, and the
// exporters send to services of the file.
func (c *composeCheck) checkCollector(name string) {
	if c.done[name] {
		return
	}
	c.done[name] = true
	s := c.services[name]
	var cfgPath string
	for i, arg := range s.Command {
		if v, ok := strings.CutPrefix(arg, "--config="); ok {
			cfgPath = v
		} else if arg == "--config" && i+1 < len(s.Command) {
			cfgPath = s.Command[i+1]
		}
	}
	src := c.mountSource(s, cfgPath)
	if cfgPath == "" || src == "" {
		c.ps.addf("service %s (the trace collector) has no configuration file mounted and named by --config", name)
		return
	}
	file := path.Join(c.dir, src)
	data, err := os.ReadFile(c.repo.Path(file))
	if err != nil {
		return // reported by checkMounts
	}
	ps := &problems{file: file}
	checkCollectorConfig(ps, data, func(host string) bool {
		_, ok := c.services[host]
		return ok
	})
	c.mounted = append(c.mounted, ps.list...)
}

// collectorConfig is the part of an OpenTelemetry Collector configuration
// the checks read.
type collectorConfig struct {
	Receivers  map[string]any `yaml:"receivers"`
	Processors map[string]any `yaml:"processors"`
	Exporters  map[string]any `yaml:"exporters"`
	Connectors map[string]any `yaml:"connectors"`
	Extensions map[string]any `yaml:"extensions"`
	Service    struct {
		Extensions []string `yaml:"extensions"`
		Pipelines  map[string]struct {
			Receivers  []string `yaml:"receivers"`
			Processors []string `yaml:"processors"`
			Exporters  []string `yaml:"exporters"`
		} `yaml:"pipelines"`
	} `yaml:"service"`
}

// checkCollectorConfig checks a collector configuration: pipelines name
// defined components, and every exporter endpoint's host is known.
func checkCollectorConfig(ps *problems, data []byte, knownHost func(string) bool) {
	var cfg collectorConfig
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		ps.addf("does not parse as a collector configuration: %v", err)
		return
	}
	if len(cfg.Service.Pipelines) == 0 {
		ps.addf("defines no pipelines")
	}
	defined := func(kind string, m map[string]any, names []string, pipeline string) {
		for _, n := range names {
			_, ok := m[n]
			if !ok && kind != "processor" {
				_, ok = cfg.Connectors[n]
			}
			if !ok {
				ps.addf("pipeline %s uses %s %q, which is not defined", pipeline, kind, n)
			}
		}
	}
	for _, name := range sortedKeys(cfg.Service.Pipelines) {
		p := cfg.Service.Pipelines[name]
		if len(p.Receivers) == 0 || len(p.Exporters) == 0 {
			ps.addf("pipeline %s needs receivers and exporters", name)
		}
		defined("receiver", cfg.Receivers, p.Receivers, name)
		defined("processor", cfg.Processors, p.Processors, name)
		defined("exporter", cfg.Exporters, p.Exporters, name)
	}
	for _, e := range cfg.Service.Extensions {
		if _, ok := cfg.Extensions[e]; !ok {
			ps.addf("service.extensions names %q, which is not defined", e)
		}
	}
	for _, name := range sortedKeys(cfg.Exporters) {
		m, ok := cfg.Exporters[name].(map[string]any)
		if !ok {
			continue
		}
		if endpoint, ok := m["endpoint"].(string); ok && !knownHost(hostOf(endpoint)) {
			ps.addf("exporter %s sends to %s, whose host is not a service of the Compose file", name, endpoint)
		}
	}
}
