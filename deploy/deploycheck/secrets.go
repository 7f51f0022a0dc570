package deploycheck

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/jackc/pgpassfile"
	corev1 "k8s.io/api/core/v1"

	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/sqldb"
)

// Credentials (database passwords, the secrets signing the API's tokens)
// come from secrets, never from a deploy file: on Kubernetes from a Secret,
// through secretKeyRef or a file of a Secret volume; in Compose from a
// secret mounted at /run/secrets/<name>, named by a …_FILE variable (or
// PGPASSFILE, the PostgreSQL password file the driver reads). No
// environment value of any container, and no ConfigMap, holds one.

// composeSecretsDir is where Compose mounts a service's secrets.
const composeSecretsDir = "/run/secrets/"

// The variables of the ordersaga binary and of the PostgreSQL driver that
// carry a credential or name the file holding one.
const (
	authSecretEnv     = "ORDERSAGA_AUTH_SECRET"
	authSecretFileEnv = "ORDERSAGA_AUTH_SECRET_FILE"
	pgPassFileEnv     = "PGPASSFILE"
)

// isFileVar reports whether an environment variable names a file holding
// a credential rather than holding one.
func isFileVar(name string) bool {
	return strings.HasSuffix(strings.ToUpper(name), "_FILE") || name == pgPassFileEnv
}

// sensitiveName reports whether an environment variable's name says it
// holds a credential.
func sensitiveName(name string) bool {
	n := strings.ToUpper(name)
	for _, w := range []string{"PASSWORD", "PASSWD", "PWD", "SECRET", "TOKEN", "CREDENTIAL", "API_KEY", "APIKEY", "PRIVATE_KEY"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// literalCredential says what credential the literal value of the
// variable name holds ("" for none): an address with a password in it
// (user:password@, ?password=, password=…), or any value of a variable
// named like a credential.
func literalCredential(name, value string) string {
	if value == "" || isFileVar(name) {
		return ""
	}
	if (strings.Contains(value, "://") || strings.Contains(value, "=")) && sqldb.Redact(value) != value {
		return "an address with its password (" + sqldb.Redact(value) + ")"
	}
	if sensitiveName(name) {
		return "a credential"
	}
	return ""
}

// checkAuthSecret reports secrets of the API's tokens (a file's content:
// separated by commas or lines) that the binary would refuse.
func checkAuthSecret(ps *problems, what, content string) {
	list := strings.NewReplacer("\r\n", ",", "\n", ",", "\r", ",").Replace(content)
	if _, err := auth.ParseKeys(list); err != nil {
		ps.addf("%s does not hold usable secrets for the API's tokens: %v", what, err)
	}
}

// envSource says where a container's variable comes from on Kubernetes.
type envSource struct {
	secret bool
	// from names the source for a message ("a literal value", "ConfigMap
	// ordersaga-common").
	from string
}

// envSources returns where each variable of a container comes from, the
// last source of a name winning as the kubelet has it.
func envSources(m manifests, c corev1.Container) map[string]envSource {
	out := map[string]envSource{}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			for k := range m.configMaps[from.ConfigMapRef.Name] {
				out[from.Prefix+k] = envSource{from: "ConfigMap " + from.ConfigMapRef.Name}
			}
		case from.SecretRef != nil:
			for k := range m.secrets[from.SecretRef.Name] {
				out[from.Prefix+k] = envSource{secret: true, from: "Secret " + from.SecretRef.Name}
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			out[e.Name] = envSource{from: "a literal value"}
		case e.ValueFrom.SecretKeyRef != nil:
			out[e.Name] = envSource{secret: true, from: "Secret " + e.ValueFrom.SecretKeyRef.Name}
		case e.ValueFrom.ConfigMapKeyRef != nil:
			out[e.Name] = envSource{from: "ConfigMap " + e.ValueFrom.ConfigMapKeyRef.Name}
		default:
			out[e.Name] = envSource{from: "the pod's fields"}
		}
	}
	return out
}

// checkPodCredentials checks the credentials of a pod template's
// containers: no literal one in an environment value or a ConfigMap the
// container reads; for the ordersaga containers, database addresses and
// the secrets of the API's tokens from Secrets, and the files naming them
// in mounted Secret volumes.
func checkPodCredentials(ps *problems, m manifests, what string, spec corev1.PodSpec) {
	for _, c := range spec.Containers {
		cwhat := fmt.Sprintf("%s, container %s", what, c.Name)
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				if cred := literalCredential(e.Name, e.Value); cred != "" {
					ps.addf("%s: %s holds %s literally: take it from a Secret (secretKeyRef, or a file of a Secret volume)", cwhat, e.Name, cred)
				}
			}
		}
		for _, from := range c.EnvFrom {
			if from.ConfigMapRef == nil {
				continue
			}
			data := m.configMaps[from.ConfigMapRef.Name]
			for _, k := range sortedKeys(data) {
				if cred := literalCredential(k, data[k]); cred != "" {
					ps.addf("%s: %s comes from ConfigMap %s and holds %s: a ConfigMap is not secret, use a Secret", cwhat, from.Prefix+k, from.ConfigMapRef.Name, cred)
				}
			}
		}
		if !isOrdersagaImage(c.Image) {
			continue
		}
		src := envSources(m, c)
		for _, name := range append(databaseEnvNames(), authSecretEnv) {
			if s, ok := src[name]; ok && !s.secret {
				ps.addf("%s: %s comes from %s, not from a Secret", cwhat, name, s.from)
			}
		}
		env := containerEnv(&problems{}, m, cwhat, c)
		for _, name := range []string{authSecretFileEnv, pgPassFileEnv} {
			if file := env[name]; file != "" {
				checkSecretFile(ps, m, cwhat, spec, c, name, file)
			}
		}
	}
}

// checkSecretFile checks that the file a variable names is a key of a
// Secret mounted in the container, and when that Secret is part of the
// build and holds the API's secrets, that they are usable.
func checkSecretFile(ps *problems, m manifests, what string, spec corev1.PodSpec, c corev1.Container, name, file string) {
	for _, vm := range c.VolumeMounts {
		dir := strings.TrimSuffix(vm.MountPath, "/") + "/"
		rel, ok := strings.CutPrefix(file, dir)
		if !ok || vm.SubPath != "" {
			continue
		}
		var secret *corev1.SecretVolumeSource
		for _, v := range spec.Volumes {
			if v.Name == vm.Name {
				secret = v.Secret
			}
		}
		if secret == nil {
			ps.addf("%s: %s %s is in volume %s, which is not a Secret", what, name, file, vm.Name)
			return
		}
		key, found := rel, len(secret.Items) == 0
		for _, it := range secret.Items {
			if it.Path == rel {
				key, found = it.Key, true
			}
		}
		data, inBuild := m.secrets[secret.SecretName]
		if inBuild {
			_, has := data[key]
			found = found && has
		}
		if !found {
			ps.addf("%s: %s %s is no key of Secret %s as the volume %s mounts it", what, name, file, secret.SecretName, vm.Name)
			return
		}
		if inBuild && name == authSecretFileEnv {
			checkAuthSecret(ps, fmt.Sprintf("%s: Secret %s, key %s,", what, secret.SecretName, key), data[key])
		}
		return
	}
	ps.addf("%s: %s %s is in no mounted Secret volume", what, name, file)
}

// composeSecretFile returns the file, relative to the root, holding the
// content of the top-level secret name of a Compose file, or why there is
// none.
func (c *composeCheck) composeSecretFile(name string) (string, string) {
	s, ok := c.secrets[name]
	switch {
	case !ok:
		return "", "the top-level secrets do not define it"
	case s.File == "":
		return "", "it is not read from a file"
	}
	return path.Join(c.dir, s.File), ""
}

// checkComposeSecrets checks the credentials of a Compose file: every
// top-level secret is read from a file that exists (never written in the
// file); no service's environment holds a credential; a variable naming a
// credential's file names a secret the service mounts; the database
// addresses of the ordersaga containers hold no password, and their
// password file gives the one of the PostgreSQL service they reach; the
// secrets of the API's tokens are usable.
func (c *composeCheck) checkComposeSecrets() {
	for _, name := range sortedKeys(c.secrets) {
		s := c.secrets[name]
		switch {
		case s.Content != "":
			c.ps.addf("secret %s is written in the file (content): read it from a file of its own", name)
		case s.File != "" && !c.repo.exists(path.Join(c.dir, s.File)):
			c.ps.addf("secret %s is read from %s, which does not exist", name, s.File)
		}
	}
	for _, name := range sortedKeys(c.services) {
		s := c.services[name]
		what := "service " + name
		for _, ref := range s.Secrets {
			if _, ok := c.secrets[ref.Source]; !ok {
				c.ps.addf("%s uses secret %s, which the top-level secrets do not define", what, ref.Source)
			}
		}
		env := environment(s)
		for _, k := range sortedKeys(env) {
			if cred := literalCredential(k, env[k]); cred != "" {
				c.ps.addf("%s: %s holds %s: take it from a secret (a …_FILE variable, or %s, naming %s<secret>)", what, k, cred, pgPassFileEnv, composeSecretsDir)
			}
		}
		files := map[string]string{} // variable → file of the repository
		for _, k := range sortedKeys(env) {
			if !isFileVar(k) || env[k] == "" {
				continue
			}
			if f, ok := c.mountedSecret(what, s, k, env[k]); ok {
				files[k] = f
			}
		}
		if f, ok := files[authSecretFileEnv]; ok {
			if data, err := os.ReadFile(c.repo.Path(f)); err == nil {
				checkAuthSecret(c.ps, fmt.Sprintf("%s: %s (%s)", what, authSecretFileEnv, f), string(data))
			}
		}
		if c.isOrdersaga(s) {
			for _, k := range databaseEnvNames() {
				c.checkDatabasePassword(what, k, env[k], files[pgPassFileEnv])
			}
		}
	}
}

// mountedSecret returns the file of the repository holding the secret a
// service's variable k names by its path file, reporting a path that is
// not a secret the service mounts.
func (c *composeCheck) mountedSecret(what string, s types.ServiceConfig, k, file string) (string, bool) {
	name, ok := strings.CutPrefix(file, composeSecretsDir)
	if !ok {
		c.ps.addf("%s: %s names %s, which is not a Compose secret (%s<name>)", what, k, file, composeSecretsDir)
		return "", false
	}
	for _, ref := range s.Secrets {
		target := ref.Target
		if target == "" {
			target = ref.Source
		}
		if target != name && target != file {
			continue
		}
		f, why := c.composeSecretFile(ref.Source)
		if why != "" {
			return "", false // reported with the service's secrets, or not a file
		}
		return f, true
	}
	c.ps.addf("%s: %s names %s, but the service mounts no secret %s", what, k, file, name)
	return "", false
}

// checkDatabasePassword checks that an ordersaga container finds the
// password of a PostgreSQL address without one in its password file
// (PGPASSFILE, pgpass the file of the repository it is), and that it is
// the password of the PostgreSQL service of the file it reaches.
func (c *composeCheck) checkDatabasePassword(what, name, dsn, pgpass string) {
	u, err := url.Parse(dsn)
	if dsn == "" || err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		return
	}
	if _, has := u.User.Password(); has {
		return // reported as a literal credential
	}
	if pgpass == "" {
		c.ps.addf("%s: %s has no password and no %s names a password file (a secret) giving one", what, name, pgPassFileEnv)
		return
	}
	data, err := os.ReadFile(c.repo.Path(pgpass))
	if err != nil {
		return // reported with the secrets
	}
	pf, err := pgpassfile.ParsePassfile(strings.NewReader(string(data)))
	if err != nil {
		c.ps.addf("%s: %s does not parse as a password file: %v", what, pgpass, err)
		return
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	user := u.User.Username()
	db := strings.TrimPrefix(u.Path, "/")
	pw := pf.FindPassword(u.Hostname(), port, db, user)
	if pw == "" {
		c.ps.addf("%s: %s has no password, and the password file %s (%s) gives none for %s, database %s, user %s",
			what, name, pgpass, pgPassFileEnv, net.JoinHostPort(u.Hostname(), port), db, user)
		return
	}
	server, ok := c.services[u.Hostname()]
	if !ok {
		return // reported by checkDatabase
	}
	serverEnv := environment(server)
	file := serverEnv["POSTGRES_PASSWORD_FILE"]
	if file == "" {
		return
	}
	f, ok := c.mountedSecretQuiet(server, file)
	if !ok {
		return
	}
	want, err := os.ReadFile(c.repo.Path(f))
	if err == nil && strings.TrimRight(string(want), "\r\n") != pw {
		c.ps.addf("%s: the password %s (%s) gives for %s is not the one service %s starts with (POSTGRES_PASSWORD_FILE, %s)", what, pgpass, pgPassFileEnv, name, u.Hostname(), f)
	}
}

// mountedSecretQuiet is mountedSecret without reports (those of the
// service itself are made with its own check).
func (c *composeCheck) mountedSecretQuiet(s types.ServiceConfig, file string) (string, bool) {
	saved := c.ps
	c.ps = &problems{}
	defer func() { c.ps = saved }()
	return c.mountedSecret("", s, "", file)
}
