package deploycheck

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// composeFile is the part of the Compose specification the checks read.
// Keys it does not model are kept, to be checked against the
// specification's names.
type composeFile struct {
	Name     string                     `yaml:"name"`
	Services map[string]*composeService `yaml:"services"`
	Volumes  map[string]any             `yaml:"volumes"`
	Networks map[string]any             `yaml:"networks"`
	Configs  map[string]any             `yaml:"configs"`
	Secrets  map[string]any             `yaml:"secrets"`
	// Other holds the keys not above: extension fields (x-…) only.
	Other map[string]any `yaml:",inline"`
}

// composeService is one service of a Compose file.
type composeService struct {
	Image       string         `yaml:"image"`
	Build       *composeBuild  `yaml:"build"`
	Command     *commandLine   `yaml:"command"`
	Entrypoint  *commandLine   `yaml:"entrypoint"`
	Environment envMap         `yaml:"environment"`
	DependsOn   dependsOn      `yaml:"depends_on"`
	Ports       []portMapping  `yaml:"ports"`
	Volumes     []mount        `yaml:"volumes"`
	Healthcheck *healthcheck   `yaml:"healthcheck"`
	Restart     string         `yaml:"restart"`
	Profiles    []string       `yaml:"profiles"`
	Other       map[string]any `yaml:",inline"`
}

// composeServiceKeys returns the other keys the Compose specification
// allows in a service.
func composeServiceKeys() []string {
	return []string{
		"annotations", "attach", "blkio_config", "cap_add", "cap_drop", "cgroup", "cgroup_parent",
		"configs", "container_name", "cpu_count", "cpu_percent", "cpu_period", "cpu_quota", "cpu_rt_period",
		"cpu_rt_runtime", "cpu_shares", "cpus", "cpuset", "credential_spec", "deploy", "develop",
		"device_cgroup_rules", "devices", "dns", "dns_opt", "dns_search", "domainname", "env_file",
		"expose", "extends", "external_links", "extra_hosts", "gpus", "group_add", "hostname", "init",
		"ipc", "isolation", "labels", "label_file", "links", "logging", "mac_address", "mem_limit",
		"mem_reservation", "mem_swappiness", "memswap_limit", "models", "network_mode", "networks",
		"oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "platform", "post_start", "pre_stop",
		"privileged", "provider", "pull_policy", "read_only", "runtime", "scale", "secrets", "security_opt",
		"shm_size", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt", "sysctls", "tmpfs",
		"tty", "ulimits", "use_api_socket", "user", "userns_mode", "uts", "volumes_from", "working_dir",
	}
}

// composeBuild is a service's build section.
type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// UnmarshalYAML reads a build section: a context path, or a mapping.
func (b *composeBuild) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
		return nil
	}
	type plain composeBuild
	var p struct {
		plain `yaml:",inline"`
		Other map[string]any `yaml:",inline"`
	}
	if err := n.Decode(&p); err != nil {
		return err
	}
	*b = composeBuild(p.plain)
	return nil
}

// commandLine is a command or entrypoint: a list (exec form) or a string.
type commandLine struct {
	Args     []string
	IsString bool
}

// UnmarshalYAML reads a command: a list, or a string split at spaces.
func (c *commandLine) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		c.IsString = true
		c.Args = strings.Fields(n.Value)
		return nil
	case yaml.SequenceNode:
		return n.Decode(&c.Args)
	}
	return fmt.Errorf("line %d: a command is a string or a list", n.Line)
}

// envMap is an environment: a mapping or a list of NAME=value.
type envMap map[string]string

// UnmarshalYAML reads an environment: a mapping, or NAME=value items.
func (e *envMap) UnmarshalYAML(n *yaml.Node) error {
	out := envMap{}
	switch n.Kind {
	case yaml.MappingNode:
		var m map[string]yaml.Node
		if err := n.Decode(&m); err != nil {
			return err
		}
		for k, v := range m {
			if v.Tag == "!!null" {
				out[k] = ""
				continue
			}
			if v.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: environment variable %s is not a scalar", v.Line, k)
			}
			out[k] = v.Value
		}
	case yaml.SequenceNode:
		var items []string
		if err := n.Decode(&items); err != nil {
			return err
		}
		for _, item := range items {
			k, v, _ := strings.Cut(item, "=")
			out[k] = v
		}
	default:
		return fmt.Errorf("line %d: environment is a mapping or a list", n.Line)
	}
	*e = out
	return nil
}

// The conditions of depends_on.
const (
	condStarted   = "service_started"
	condHealthy   = "service_healthy"
	condCompleted = "service_completed_successfully"
)

// dependsOn maps a service's dependencies to their conditions.
type dependsOn map[string]string

// UnmarshalYAML reads depends_on: a list of services, or a mapping with
// conditions.
func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	out := dependsOn{}
	switch n.Kind {
	case yaml.SequenceNode:
		var names []string
		if err := n.Decode(&names); err != nil {
			return err
		}
		for _, name := range names {
			out[name] = condStarted
		}
	case yaml.MappingNode:
		var m map[string]struct {
			Condition string `yaml:"condition"`
			Restart   bool   `yaml:"restart"`
			Required  *bool  `yaml:"required"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		for name, dep := range m {
			out[name] = dep.Condition
			if dep.Condition == "" {
				out[name] = condStarted
			}
		}
	default:
		return fmt.Errorf("line %d: depends_on is a list or a mapping", n.Line)
	}
	*d = out
	return nil
}

// portMapping is a published port.
type portMapping struct {
	HostIP    string
	Published string
	Target    int
	Raw       string
}

// UnmarshalYAML reads a port: [[host_ip:]published:]target[/protocol], or
// the long syntax.
func (p *portMapping) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var long struct {
			Target    int    `yaml:"target"`
			Published string `yaml:"published"`
			HostIP    string `yaml:"host_ip"`
			Protocol  string `yaml:"protocol"`
			Mode      string `yaml:"mode"`
			Name      string `yaml:"name"`
			AppProto  string `yaml:"app_protocol"`
		}
		if err := n.Decode(&long); err != nil {
			return err
		}
		*p = portMapping{HostIP: long.HostIP, Published: long.Published, Target: long.Target, Raw: fmt.Sprintf("%s:%s:%d", long.HostIP, long.Published, long.Target)}
		return nil
	}
	raw := n.Value
	spec, _, _ := strings.Cut(raw, "/")
	parts := strings.Split(spec, ":")
	target, err := strconv.Atoi(parts[len(parts)-1])
	if err != nil {
		return fmt.Errorf("line %d: port %q has no container port", n.Line, raw)
	}
	*p = portMapping{Target: target, Raw: raw}
	switch len(parts) {
	case 2:
		p.Published = parts[0]
	case 3:
		p.HostIP, p.Published = parts[0], parts[1]
	}
	return nil
}

// mount is a volume of a service: a bind mount or a named volume.
type mount struct {
	Source   string
	Target   string
	ReadOnly bool
}

// isBind reports whether the mount is of a host path.
func (m mount) isBind() bool {
	return strings.HasPrefix(m.Source, ".") || strings.HasPrefix(m.Source, "/") || strings.HasPrefix(m.Source, "~")
}

// UnmarshalYAML reads a volume: source:target[:mode], or the long syntax.
func (m *mount) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var long struct {
			Type     string         `yaml:"type"`
			Source   string         `yaml:"source"`
			Target   string         `yaml:"target"`
			ReadOnly bool           `yaml:"read_only"`
			Other    map[string]any `yaml:",inline"`
		}
		if err := n.Decode(&long); err != nil {
			return err
		}
		*m = mount{Source: long.Source, Target: long.Target, ReadOnly: long.ReadOnly}
		return nil
	}
	parts := strings.Split(n.Value, ":")
	switch len(parts) {
	case 1:
		*m = mount{Target: parts[0]}
	case 2:
		*m = mount{Source: parts[0], Target: parts[1]}
	case 3:
		*m = mount{Source: parts[0], Target: parts[1], ReadOnly: slices.Contains(strings.Split(parts[2], ","), "ro")}
	default:
		return fmt.Errorf("line %d: volume %q is not source:target[:mode]", n.Line, n.Value)
	}
	return nil
}

// healthcheck is a service's health check.
type healthcheck struct {
	Test          *commandLine `yaml:"test"`
	Interval      string       `yaml:"interval"`
	Timeout       string       `yaml:"timeout"`
	Retries       int          `yaml:"retries"`
	StartPeriod   string       `yaml:"start_period"`
	StartInterval string       `yaml:"start_interval"`
	Disable       bool         `yaml:"disable"`
}

// enabled reports whether the health check runs.
func (h *healthcheck) enabled() bool {
	return h != nil && !h.Disable && h.Test != nil && len(h.Test.Args) > 0 && h.Test.Args[0] != "NONE"
}

// parseCompose decodes a Compose file.
func parseCompose(doc []byte) (*composeFile, error) {
	var f composeFile
	if err := yaml.Unmarshal(doc, &f); err != nil {
		return nil, err
	}
	return &f, nil
}
