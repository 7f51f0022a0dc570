package deploycheck

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kustomizationFile is the name of a kustomization.
const kustomizationFile = "kustomization.yaml"

// The names of an ordersaga container's ports: the process's API (its
// HTTP address) and its health, readiness and metrics alone (its
// operations address).
const (
	apiPortName = "http"
	opsPortName = "ops"
)

// CheckKustomizations builds every kustomization under dir (relative to
// the root) with kustomize, as `kubectl apply -k` would, and checks the
// manifests it makes (see CheckManifests).
func CheckKustomizations(r Repo, dir string, bin Binary) []Problem {
	var dirs []string
	err := filepath.WalkDir(r.Path(dir), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == kustomizationFile {
			dirs = append(dirs, r.rel(filepath.Dir(p)))
		}
		return nil
	})
	if err != nil {
		return []Problem{{File: dir, Msg: err.Error()}}
	}
	if len(dirs) == 0 {
		return []Problem{{File: dir, Msg: "holds no " + kustomizationFile}}
	}
	uid, uidErr := DockerfileUID(r, ordersagaDockerfile)
	if uidErr != nil {
		uid = -1
	}
	var out []Problem
	built := map[string][][]byte{}
	for _, d := range dirs {
		file := path.Join(d, kustomizationFile)
		docs, err := BuildKustomization(r.Path(d))
		if err != nil {
			out = append(out, Problem{File: file, Msg: "kustomize build fails: " + err.Error()})
			continue
		}
		built[d] = docs
		out = append(out, CheckManifests(file, docs, bin, uid)...)
		if path.Base(d) == baseDir {
			out = append(out, CheckBase(file, docs, bin, uid)...)
		}
	}
	pairs := dependencyPairs(dirs)
	for _, d := range sortedKeys(pairs) {
		dep, app := built[d], built[pairs[d]]
		if dep != nil && app != nil {
			out = append(out, CheckDependencies(path.Join(d, kustomizationFile), dep, app)...)
		}
	}
	return out
}

// baseDir is the name of the kustomization every overlay builds on.
const baseDir = "base"

// CheckBase checks what a base (the manifests of file) leaves off for an
// overlay to turn on: fault injection.
func CheckBase(file string, docs [][]byte, bin Binary, uid int) []Problem {
	ps := &problems{file: file}
	discard := &problems{} // CheckManifests reports the rest
	m := decodeManifests(discard, docs)
	for _, d := range m.deployments {
		for _, p := range checkPod(discard, m, "Deployment "+d.Name, d.Spec.Template, true, bin, uid) {
			if p.info.cfgValid && p.info.cfg.FaultInjection {
				ps.addf("%s serves fault injection (/v1/admin/faults): a base keeps it off (%s), an overlay for a test cluster turns it on", p.what, envName("fault-injection"))
			}
		}
	}
	return ps.list
}

// CheckDependencies checks dep, the manifests of the dependencies
// kustomization (file names it in problems) of an overlay whose manifests
// are app: the NetworkPolicies of the services ordersaga uses (see
// checkDependencyPolicies).
func CheckDependencies(file string, dep, app [][]byte) []Problem {
	ps := &problems{file: file}
	d := decodeManifests(ps, dep)
	a := decodeManifests(&problems{}, app) // the overlay's own check reports its problems
	checkDependencyPolicies(ps, d, a)
	return ps.list
}

// BuildKustomization runs kustomize on the folder dir and returns the
// resources it makes, one YAML document each.
func BuildKustomization(dir string) ([][]byte, error) {
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, err
	}
	var docs [][]byte
	for _, res := range m.Resources() {
		y, err := res.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", res.CurId(), err)
		}
		docs = append(docs, y)
	}
	return docs, nil
}

// manifests are the resources of one build, decoded strictly.
type manifests struct {
	deployments []*appsv1.Deployment
	jobs        []*batchv1.Job
	services    []*corev1.Service
	ingresses   []*networkingv1.Ingress
	// networkPolicies are the build's NetworkPolicies.
	networkPolicies []*networkingv1.NetworkPolicy
	configMaps      map[string]map[string]string
	secrets         map[string]map[string]string
}

// CheckManifests checks Kubernetes manifests (YAML documents, as kustomize
// builds them; file names them in problems): every document decodes
// strictly into its kind's type; every container of the ordersaga image
// runs a command of the binary with what it needs (see checkContainer),
// its ConfigMaps and Secrets exist, its probes and ports hit the port the
// process serves HTTP on, it runs as non-root user uid (the image's; -1
// for any) with a read-only root file system, no privilege escalation and
// no capabilities, with resource requests and limits; Deployments have
// liveness (/healthz) and readiness (/readyz) probes; Services select
// pods and target their ports; a process hosting orders forwards to a
// Service of the process of every role it does not host (see
// checkUpstreams); an Ingress routes exactly the API's paths (bin.APIPaths)
// to such a process (see checkIngress); credentials come from Secrets (see
// checkPodCredentials); the NetworkPolicies deny by default and let only
// the ingress controller and the forwarding processes reach the API (see
// checkNetworkPolicies).
func CheckManifests(file string, docs [][]byte, bin Binary, uid int) []Problem {
	ps := &problems{file: file}
	m := decodeManifests(ps, docs)
	procs := map[string][]peer{}
	for _, d := range m.deployments {
		what := "Deployment " + d.Name
		if d.Spec.Selector == nil || !labelsMatch(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
			ps.addf("%s: its selector does not match its pod template's labels", what)
		}
		procs[d.Name] = checkPod(ps, m, what, d.Spec.Template, true, bin, uid)
		checkPodCredentials(ps, m, what, d.Spec.Template.Spec)
	}
	for _, j := range m.jobs {
		checkPod(ps, m, "Job "+j.Name, j.Spec.Template, false, bin, uid)
		checkPodCredentials(ps, m, "Job "+j.Name, j.Spec.Template.Spec)
	}
	for _, s := range m.services {
		checkService(ps, m, s)
	}
	find := kubeFinder(m, procs)
	for _, d := range m.deployments {
		for _, p := range procs[d.Name] {
			checkUpstreams(ps, p.what, p.info, find)
		}
	}
	for _, ing := range m.ingresses {
		checkIngress(ps, m, procs, ing, bin)
	}
	checkNetworkPolicies(ps, m, procs)
	return ps.list
}

// decodeManifests decodes each document strictly by its kind.
func decodeManifests(ps *problems, docs [][]byte) manifests {
	m := manifests{configMaps: map[string]map[string]string{}, secrets: map[string]map[string]string{}}
	seen := map[string]bool{}
	for _, doc := range docs {
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			ps.addf("a document does not parse: %v", err)
			continue
		}
		id := head.Kind + " " + head.Metadata.Name
		if seen[id] {
			ps.addf("%s is defined twice", id)
		}
		seen[id] = true
		var err error
		switch head.Kind {
		case "Deployment":
			var d appsv1.Deployment
			if err = yaml.UnmarshalStrict(doc, &d); err == nil {
				m.deployments = append(m.deployments, &d)
			}
		case "Job":
			var j batchv1.Job
			if err = yaml.UnmarshalStrict(doc, &j); err == nil {
				m.jobs = append(m.jobs, &j)
			}
		case "Service":
			var s corev1.Service
			if err = yaml.UnmarshalStrict(doc, &s); err == nil {
				m.services = append(m.services, &s)
			}
		case "Ingress":
			var ing networkingv1.Ingress
			if err = yaml.UnmarshalStrict(doc, &ing); err == nil {
				m.ingresses = append(m.ingresses, &ing)
			}
		case "NetworkPolicy":
			var p networkingv1.NetworkPolicy
			if err = yaml.UnmarshalStrict(doc, &p); err == nil {
				m.networkPolicies = append(m.networkPolicies, &p)
			}
		case "ConfigMap":
			var c corev1.ConfigMap
			if err = yaml.UnmarshalStrict(doc, &c); err == nil {
				m.configMaps[c.Name] = c.Data
			}
		case "Secret":
			var s corev1.Secret
			if err = yaml.UnmarshalStrict(doc, &s); err == nil {
				data := map[string]string{}
				for k, v := range s.Data {
					data[k] = string(v)
				}
				for k, v := range s.StringData {
					data[k] = v
				}
				m.secrets[s.Name] = data
			}
		case "Namespace":
			var n corev1.Namespace
			err = yaml.UnmarshalStrict(doc, &n)
		}
		if err != nil {
			ps.addf("%s: %v", id, err)
		}
	}
	return m
}

// labelsMatch reports whether every label of selector is in labels.
func labelsMatch(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// isOrdersagaImage reports whether image is the ordersaga image, whatever
// its registry and tag.
func isOrdersagaImage(image string) bool {
	name := image[strings.LastIndex(image, "/")+1:]
	name, _, _ = strings.Cut(name, "@")
	name, _, _ = strings.Cut(name, ":")
	return name == "ordersaga"
}

// secretStandIn is the value given to a variable whose Secret is not part
// of the build (it is created apart): an address the loaders accept.
const secretStandIn = "postgres://secret-value.invalid/from-secret"

// checkPod checks the pod template of a workload and its ordersaga
// containers; a Deployment's (long-running) containers need probes. It
// returns what each ordersaga container runs.
func checkPod(ps *problems, m manifests, what string, tmpl corev1.PodTemplateSpec, longRunning bool, bin Binary, uid int) []peer {
	var out []peer
	spec := tmpl.Spec
	podSC := spec.SecurityContext
	if podSC == nil {
		podSC = &corev1.PodSecurityContext{}
	}
	for _, c := range spec.Containers {
		if !isOrdersagaImage(c.Image) {
			continue
		}
		cwhat := fmt.Sprintf("%s, container %s", what, c.Name)
		if len(c.Command) > 0 && !slices.Equal(c.Command, []string{imageBinary}) {
			ps.addf("%s: command %v replaces the image's entrypoint %s", cwhat, c.Command, imageBinary)
		}
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		nonRoot := sc.RunAsNonRoot
		if nonRoot == nil {
			nonRoot = podSC.RunAsNonRoot
		}
		if nonRoot == nil || !*nonRoot {
			ps.addf("%s: runAsNonRoot is not true", cwhat)
		}
		user := sc.RunAsUser
		if user == nil {
			user = podSC.RunAsUser
		}
		if user != nil && uid >= 0 && *user != int64(uid) {
			ps.addf("%s: runAsUser %d is not the image's user %d", cwhat, *user, uid)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			ps.addf("%s: readOnlyRootFilesystem is not true", cwhat)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			ps.addf("%s: allowPrivilegeEscalation is not false", cwhat)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			ps.addf("%s: capabilities do not drop ALL", cwhat)
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[res]; !ok {
				ps.addf("%s: no %s request", cwhat, res)
			}
			if _, ok := c.Resources.Limits[res]; !ok {
				ps.addf("%s: no %s limit", cwhat, res)
			}
		}
		ct := container{what: cwhat, args: c.Args, env: containerEnv(ps, m, cwhat, c)}
		for _, p := range c.Ports {
			switch p.Name {
			case apiPortName:
				ct.httpPorts = append(ct.httpPorts, portUse{what: "container port " + p.Name, port: int(p.ContainerPort), serves: apiListener})
			case opsPortName:
				ct.httpPorts = append(ct.httpPorts, portUse{what: "container port " + p.Name, port: int(p.ContainerPort), serves: opsListener})
			}
		}
		probes := []struct {
			name  string
			probe *corev1.Probe
			path  string
		}{{"livenessProbe", c.LivenessProbe, "/healthz"}, {"readinessProbe", c.ReadinessProbe, "/readyz"}, {"startupProbe", c.StartupProbe, ""}}
		for _, pr := range probes {
			if pr.probe == nil {
				if longRunning && pr.path != "" {
					ps.addf("%s: no %s (GET %s)", cwhat, pr.name, pr.path)
				}
				continue
			}
			get := pr.probe.HTTPGet
			if get == nil {
				ps.addf("%s: %s is not an HTTP GET", cwhat, pr.name)
				continue
			}
			if pr.path != "" && get.Path != pr.path {
				ps.addf("%s: %s gets %s, want %s", cwhat, pr.name, get.Path, pr.path)
			}
			if port, ok := containerPort(c, get.Port); ok {
				ct.httpPorts = append(ct.httpPorts, portUse{what: pr.name + " port", port: port, serves: anyListener})
			} else {
				ps.addf("%s: %s port %s is not a port of the container", cwhat, pr.name, get.Port.String())
			}
		}
		if v, ok := tmpl.Annotations["prometheus.io/port"]; ok {
			port, err := strconv.Atoi(v)
			if err != nil {
				ps.addf("%s: annotation prometheus.io/port %q is not a number", cwhat, v)
			} else {
				ct.httpPorts = append(ct.httpPorts, portUse{what: "annotation prometheus.io/port", port: port, serves: anyListener})
			}
		}
		out = append(out, peer{what: cwhat, info: checkContainer(ps, ct, bin)})
	}
	return out
}

// containerEnv returns a container's environment as the kubelet sets it,
// from the build's ConfigMaps and Secrets, reporting references to what
// the build lacks. A Secret not in the build is created apart: its values
// are stand-ins.
func containerEnv(ps *problems, m manifests, what string, c corev1.Container) map[string]string {
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			data, ok := m.configMaps[from.ConfigMapRef.Name]
			if !ok {
				if from.ConfigMapRef.Optional == nil || !*from.ConfigMapRef.Optional {
					ps.addf("%s: envFrom ConfigMap %s is not part of the build", what, from.ConfigMapRef.Name)
				}
				continue
			}
			for k, v := range data {
				env[from.Prefix+k] = v
			}
		case from.SecretRef != nil:
			for k, v := range m.secrets[from.SecretRef.Name] {
				env[from.Prefix+k] = v
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			v, ok := m.configMaps[ref.Name][ref.Key]
			if !ok && (ref.Optional == nil || !*ref.Optional) {
				ps.addf("%s: %s comes from key %s of ConfigMap %s, which the build does not have", what, e.Name, ref.Key, ref.Name)
			}
			env[e.Name] = v
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			data, inBuild := m.secrets[ref.Name]
			v, ok := data[ref.Key]
			switch {
			case !inBuild:
				v = secretStandIn
			case !ok && (ref.Optional == nil || !*ref.Optional):
				ps.addf("%s: %s comes from key %s of Secret %s, which has no such key", what, e.Name, ref.Key, ref.Name)
			}
			env[e.Name] = v
		default:
			env[e.Name] = "set-by-the-kubelet"
		}
	}
	return env
}

// containerPort resolves a probe's or Service's port to a port number of
// the container.
func containerPort(c corev1.Container, port intstr.IntOrString) (int, bool) {
	for _, p := range c.Ports {
		if port.Type == intstr.String && p.Name == port.StrVal || port.Type == intstr.Int && p.ContainerPort == port.IntVal {
			return int(p.ContainerPort), true
		}
	}
	return 0, false
}

// selected returns the Deployment whose pods a Service selects, or nil.
func (m manifests) selected(s *corev1.Service) *appsv1.Deployment {
	for _, d := range m.deployments {
		if labelsMatch(s.Spec.Selector, d.Spec.Template.Labels) {
			return d
		}
	}
	return nil
}

// service returns the Service of the build named name, or nil.
func (m manifests) service(name string) *corev1.Service {
	for _, s := range m.services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// checkService checks that a Service selects the pods of a Deployment and
// targets ports of its containers.
func checkService(ps *problems, m manifests, s *corev1.Service) {
	what := "Service " + s.Name
	target := m.selected(s)
	if target == nil {
		ps.addf("%s selects the pods of no Deployment of the build", what)
		return
	}
	for _, p := range s.Spec.Ports {
		tp := p.TargetPort
		if tp.Type == intstr.Int && tp.IntVal == 0 {
			tp = intstr.FromInt32(p.Port)
		}
		found := false
		for _, c := range target.Spec.Template.Spec.Containers {
			if _, ok := containerPort(c, tp); ok {
				found = true
			}
		}
		if !found {
			ps.addf("%s: port %d targets %s, which no container of Deployment %s has", what, p.Port, tp.String(), target.Name)
		}
	}
}
