// Package deploycheck checks the container and cluster files of deploy/
// against the code, without running them: the Dockerfile (and its
// .dockerignore), the Compose file with the files it mounts, and the
// kustomize bases and overlays under deploy/k8s.
//
// No container engine runs where the tests run, so what can be known
// statically is checked instead: every YAML file parses; every container of
// the ordersaga image runs a command the binary has and sets only
// environment variables the binary reads; a process of a saga variant gets
// everything it needs (its roles' databases, Temporal or Kafka, an HTTP
// address on the port its health checks probe), checked by loading its
// configuration with the binary's own loader; what one file names exists
// in another (services, databases, topics, ConfigMaps, Secrets, patch
// targets); the whole REST API is at one address: the process hosting the
// order service names the process of every other service it forwards to
// (ORDERSAGA_<ROLE>_URL: a service or Service running that role of the same
// variant), and an Ingress routes exactly the paths of the API's OpenAPI
// document (shared/httpapi) to it, the per-process /healthz, /readyz and
// /metrics excepted; the image is multi-stage, static and non-root.
//
// Credentials come from secrets (Kubernetes Secrets, Compose secrets),
// never from a deploy file: no environment value or ConfigMap holds a
// password or a signing secret, and the files naming them are mounted
// secrets (see secrets.go). The NetworkPolicies deny by default, let only
// the ingress controller and the forwarding processes reach the API and a
// monitoring namespace reach health and metrics, and the policies of the
// services ordersaga uses let in only the pods that use each (see
// netpol.go). Fault injection is off unless an overlay (or the Compose
// environment) asks for it.
//
// The binary's commands and the environment variables they read come from
// its command table, imported from deploy/cli (see ReadBinary), so renaming
// one in the code without the deploy files, or the other way round, fails
// the checks.
package deploycheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Problem is one thing wrong in a deploy file.
type Problem struct {
	// File is the path of the file, relative to the repository root.
	File string
	// Msg says what is wrong, naming the service, resource or line.
	Msg string
}

// String returns the problem as "file: message".
func (p Problem) String() string { return p.File + ": " + p.Msg }

// problems collects the problems found in one file.
type problems struct {
	file string
	list []Problem
}

func (ps *problems) addf(format string, args ...any) {
	ps.list = append(ps.list, Problem{File: ps.file, Msg: fmt.Sprintf(format, args...)})
}

// Repo is the repository whose deploy files are checked.
type Repo struct {
	// Root is the repository root (the folder of go.mod).
	Root string
	// Module is the module path of go.mod.
	Module string
	// GoVersion is the go line of go.mod.
	GoVersion string
}

// FindRepo returns the repository that holds dir: the nearest folder at or
// above dir with a go.mod.
func FindRepo(dir string) (Repo, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return Repo{}, fmt.Errorf("finding the repository: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			return parseGoMod(dir, data)
		}
		if !errors.Is(err, os.ErrNotExist) {
			return Repo{}, fmt.Errorf("finding the repository: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return Repo{}, errors.New("finding the repository: no go.mod at or above the folder")
		}
		dir = parent
	}
}

// parseGoMod reads the module path and the go line of a go.mod.
func parseGoMod(root string, data []byte) (Repo, error) {
	r := Repo{Root: root}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			continue
		}
		switch fields[0] {
		case "module":
			r.Module = strings.Trim(fields[1], `"`)
		case "go":
			r.GoVersion = fields[1]
		}
	}
	if r.Module == "" || r.GoVersion == "" {
		return Repo{}, fmt.Errorf("%s/go.mod names no module or no go version", root)
	}
	return r, nil
}

// Path returns the absolute path of rel, a slash-separated path relative to
// the repository root.
func (r Repo) Path(rel string) string { return filepath.Join(r.Root, filepath.FromSlash(rel)) }

// rel returns path relative to the repository root, slash-separated.
func (r Repo) rel(path string) string {
	if p, err := filepath.Rel(r.Root, path); err == nil {
		return filepath.ToSlash(p)
	}
	return path
}

// exists reports whether the file or folder rel exists in the repository.
func (r Repo) exists(rel string) bool {
	_, err := os.Stat(r.Path(rel))
	return err == nil
}

// CheckAll runs every check on the deploy files of the repository.
func CheckAll(r Repo, bin Binary) []Problem {
	var all []Problem
	all = append(all, CheckYAMLFiles(r)...)
	all = append(all, CheckDockerfile(r, ordersagaDockerfile)...)
	all = append(all, CheckComposeFile(r, "deploy/compose.yaml", bin)...)
	all = append(all, CheckKustomizations(r, "deploy/k8s", bin)...)
	return all
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
