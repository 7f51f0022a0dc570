package deploycheck

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/schema"
	"github.com/compose-spec/compose-go/v2/types"
)

// The Compose file is read with compose-go, the library Docker Compose
// itself loads files with: YAML anchors and merge keys, interpolation
// ($$ for a literal $), the short and long syntaxes of ports, volumes,
// depends_on and health checks, and the Compose specification's JSON
// schema. The checks then read its model (types.Project).

// The conditions of depends_on.
const (
	condStarted   = types.ServiceConditionStarted
	condHealthy   = types.ServiceConditionHealthy
	condCompleted = types.ServiceConditionCompletedSuccessfully
)

// composeDefaultHealthTimeout is how long Compose lets a health check run
// when it sets no timeout.
const composeDefaultHealthTimeout = 30 * time.Second

// maxSchemaProblems bounds the schema problems reported for one part of a
// file.
const maxSchemaProblems = 20

// loadCompose reads doc, the Compose file file, as Compose would in the
// folder dir without any environment variable set, every profile enabled.
// It returns the project and what the specification's schema rejects;
// err is a document that cannot be read at all.
func loadCompose(dir, file string, doc []byte) (_ *types.Project, schemaProblems []string, err error) {
	details := types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: file, Content: doc}},
		Environment: types.Mapping{},
	}
	options := []func(*loader.Options){func(o *loader.Options) {
		o.SetProjectName("deploycheck", false)
		// The schema is checked below, a part at a time, to report every
		// part that breaks it; the references between services are what
		// the checks report.
		o.SkipValidation = true
		o.SkipConsistencyCheck = true
		// Paths stay relative to the file, as written.
		o.ResolvePaths = false
		o.SkipResolveEnvironment = true
		o.SkipResolveLabels = true
		o.Profiles = []string{"*"}
	}}
	model, err := loader.LoadModelWithContext(context.Background(), details, options...)
	if err != nil {
		return nil, nil, fmt.Errorf("loading the Compose file: %w", err)
	}
	schemaProblems = schemaCheck(model)
	project, err := loader.ModelToProject(model, loader.ToOptions(&details, options), details)
	if err != nil {
		return nil, schemaProblems, fmt.Errorf("reading the Compose model: %w", err)
	}
	return project, schemaProblems, nil
}

// schemaCheck validates model against the Compose specification's schema:
// the top level, then each service alone, so that a broken service does
// not hide the others. Each problem names its part.
func schemaCheck(model map[string]any) []string {
	var out []string
	top := map[string]any{}
	for k, v := range model {
		if k != "services" {
			top[k] = v
		}
	}
	out = append(out, schemaProblemsOf(top, "")...)
	services, _ := model["services"].(map[string]any)
	for _, name := range sortedKeys(services) {
		part := map[string]any{"services": map[string]any{name: services[name]}}
		for _, p := range schemaProblemsOf(part, "services."+name+".") {
			out = append(out, "service "+name+": "+p)
		}
	}
	return out
}

// schemaProblemsOf returns what the schema rejects in part, one problem
// at a time: an unknown key is reported and taken out before the next
// validation. prefix is the path of the part's subject ("services.app.").
func schemaProblemsOf(part map[string]any, prefix string) []string {
	var out []string
	part = deepCopy(part).(map[string]any)
	for range maxSchemaProblems {
		err := schema.Validate(part)
		if err == nil {
			break
		}
		keys := unknownKeys(err.Error())
		removed := false
		for _, key := range keys {
			rel, inPart := strings.CutPrefix(key, prefix)
			if !inPart || !deleteAt(part, key) {
				continue
			}
			removed = true
			if prefix == "" {
				out = append(out, fmt.Sprintf("unknown top-level key %q (extension fields start with x-)", rel))
			} else {
				out = append(out, fmt.Sprintf("unknown key %q", rel))
			}
		}
		if !removed {
			out = append(out, "does not follow the Compose specification: "+strings.TrimSpace(err.Error()))
			break
		}
	}
	return out
}

// unknownKeys returns the dotted paths of the keys a schema error says the
// specification does not allow, none for another error. The schema allows
// no key outside the specification but x-… extension fields; its
// validator says "<path> false schema" of such a key, or "<path>
// additional properties 'a', 'b' not allowed" of the object holding them.
func unknownKeys(msg string) []string {
	if path, ok := strings.CutSuffix(msg, " false schema"); ok {
		return []string{path}
	}
	before, list, ok := strings.Cut(msg, "additional properties ")
	list, closed := strings.CutSuffix(list, " not allowed")
	if !ok || !closed {
		return nil
	}
	parent := strings.TrimSpace(before)
	var out []string
	for item := range strings.SplitSeq(list, ", ") {
		key := strings.Trim(item, "'")
		if parent != "" {
			key = parent + "." + key
		}
		out = append(out, key)
	}
	return out
}

// deleteAt deletes the key at a dotted path of nested maps, reporting
// whether it was there. A path through a key with a dot is not found.
func deleteAt(m map[string]any, path string) bool {
	parts := strings.Split(path, ".")
	for i, p := range parts {
		if i == len(parts)-1 {
			_, ok := m[p]
			delete(m, p)
			return ok
		}
		next, ok := m[p].(map[string]any)
		if !ok {
			return false
		}
		m = next
	}
	return false
}

// deepCopy copies nested maps and lists of a YAML model.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// environment returns a service's environment, a variable passed from the
// host without a value as "".
func environment(s types.ServiceConfig) map[string]string {
	out := make(map[string]string, len(s.Environment))
	for k, v := range s.Environment {
		out[k] = ""
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// healthEnabled reports whether a health check runs.
func healthEnabled(h *types.HealthCheckConfig) bool {
	return h != nil && !h.Disable && len(h.Test) > 0 && h.Test[0] != "NONE"
}

// isBind reports whether a volume of a service mounts a host path.
func isBind(v types.ServiceVolumeConfig) bool { return v.Type == types.VolumeTypeBind }

// portText writes a published port as the short syntax does:
// [host_ip:][published:]target.
func portText(p types.ServicePortConfig) string {
	var parts []string
	if p.HostIP != "" {
		parts = append(parts, p.HostIP)
	}
	if p.Published != "" || p.HostIP != "" {
		parts = append(parts, p.Published)
	}
	return strings.Join(append(parts, strconv.FormatUint(uint64(p.Target), 10)), ":")
}

// dockerfileOf returns the Dockerfile of a build, relative to its context.
func dockerfileOf(b *types.BuildConfig) string {
	if b.Dockerfile == "" {
		return "Dockerfile"
	}
	return b.Dockerfile
}

// healthTimeout returns the timeout of a Compose health check, or
// Compose's default when it sets none.
func healthTimeout(h *types.HealthCheckConfig) time.Duration {
	if h.Timeout == nil {
		return composeDefaultHealthTimeout
	}
	return time.Duration(*h.Timeout)
}
