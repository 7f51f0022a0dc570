package deploycheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// instruction is one instruction of a Dockerfile.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, …
	args string
}

// stage is one stage of a multi-stage Dockerfile.
type stage struct {
	image string
	name  string
	line  int
	body  []instruction
}

// parseDockerfile splits a Dockerfile into its stages, joining continued
// lines and dropping comments.
func parseDockerfile(data []byte) []stage {
	var insts []instruction
	var cur strings.Builder
	start := 0
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimRight(raw, "\r")
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if body, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(strings.TrimSpace(body) + " ")
			continue
		}
		cur.WriteString(trimmed)
		text := cur.String()
		cur.Reset()
		cmd, args, _ := strings.Cut(text, " ")
		insts = append(insts, instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
	}
	var stages []stage
	for _, in := range insts {
		if in.cmd == "FROM" {
			fields := strings.Fields(in.args)
			for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
				fields = fields[1:]
			}
			st := stage{line: in.line}
			if len(fields) > 0 {
				st.image = fields[0]
			}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				st.name = fields[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
		}
	}
	return stages
}

// imageBinary is where the image holds the binary, its entrypoint.
const imageBinary = "/ordersaga"

// Parts of a builder stage.
var (
	goBuildOutput  = regexp.MustCompile(`\s-o\s+(\S+)`)
	goBuildLdflags = regexp.MustCompile(`-ldflags[= ]+("[^"]*"|'[^']*'|\S+)`)
	cgoDisabled    = regexp.MustCompile(`\bCGO_ENABLED=0\b`)
)

// CheckDockerfile checks the Dockerfile file (relative to the root): a
// builder on the Go version of go.mod building the binary static and
// stripped, then a final stage with a numeric non-root user, CA
// certificates and the binary as exec-form entrypoint; and its
// <file>.dockerignore, which must let in every file the build reads.
func CheckDockerfile(r Repo, file string) []Problem {
	data, err := os.ReadFile(r.Path(file))
	if err != nil {
		return []Problem{{File: file, Msg: err.Error()}}
	}
	ps := &problems{file: file}
	checkDockerfile(ps, r, data)
	ignore := file + ".dockerignore"
	ips := &problems{file: ignore}
	if patterns, err := os.ReadFile(r.Path(ignore)); err != nil {
		ips.addf("missing: without it the whole repository is the build context (%v)", err)
	} else if files, err := buildFiles(r); err != nil {
		ips.addf("cannot list the files of the build: %v", err)
	} else {
		checkDockerignore(ips, patterns, files)
	}
	return append(ps.list, ips.list...)
}

// checkDockerfile checks the content of the ordersaga Dockerfile.
func checkDockerfile(ps *problems, r Repo, data []byte) {
	stages := parseDockerfile(data)
	if len(stages) < 2 {
		ps.addf("has %d stage(s); want a builder stage and a final stage", len(stages))
		return
	}
	builder := stages[0]
	if want := "golang:" + r.GoVersion; !strings.HasPrefix(builder.image+"-", want+"-") {
		ps.addf("line %d: the builder is %s, but go.mod says go %s (want %s)", builder.line, builder.image, r.GoVersion, want)
	}
	output := checkBuilder(ps, r, builder)

	final := stages[len(stages)-1]
	base := final.image
	distroless := strings.HasPrefix(base, "gcr.io/distroless/static")
	if !distroless && base != "scratch" {
		ps.addf("line %d: the final stage is %s; want gcr.io/distroless/static… or scratch (one static binary)", final.line, base)
	}
	var user, entrypoint string
	var copied, caCerts bool
	for _, in := range final.body {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "COPY":
			fields := strings.Fields(in.args)
			from := ""
			var rest []string
			for _, f := range fields {
				if v, ok := strings.CutPrefix(f, "--from="); ok {
					from = v
				} else if !strings.HasPrefix(f, "--") {
					rest = append(rest, f)
				}
			}
			if strings.Contains(in.args, "ca-certificates") {
				caCerts = true
			}
			if len(rest) == 2 && rest[1] == imageBinary && (from == builder.name || from == "0") {
				copied = true
				if output != "" && rest[0] != output {
					ps.addf("line %d: copies %s, but the builder writes the binary to %s", in.line, rest[0], output)
				}
			}
		}
	}
	if base == "scratch" && !caCerts {
		ps.addf("the final stage is scratch without CA certificates (copy /etc/ssl/certs/ca-certificates.crt)")
	}
	if !copied {
		ps.addf("the final stage does not copy the binary from the builder to %s", imageBinary)
	}
	if uid, err := userID(user); err != nil {
		ps.addf("final stage: %v", err)
	} else if uid == 0 {
		ps.addf("final stage: USER is root")
	}
	var ep []string
	if err := json.Unmarshal([]byte(entrypoint), &ep); err != nil || len(ep) == 0 {
		ps.addf("final stage: ENTRYPOINT %q is not an exec-form list (the image has no shell)", entrypoint)
	} else if ep[0] != imageBinary {
		ps.addf("final stage: ENTRYPOINT runs %s, not %s", ep[0], imageBinary)
	}
}

// checkBuilder checks the builder stage's go build and returns where it
// writes the binary.
func checkBuilder(ps *problems, r Repo, builder stage) string {
	cgoOff := false
	var build *instruction
	for i, in := range builder.body {
		if (in.cmd == "ENV" || in.cmd == "ARG" || in.cmd == "RUN") && cgoDisabled.MatchString(in.args) {
			cgoOff = true
		}
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			build = &builder.body[i]
		}
	}
	if !cgoOff {
		ps.addf("the builder does not set CGO_ENABLED=0 (the binary would not be static)")
	}
	if build == nil {
		ps.addf("the builder runs no go build")
		return ""
	}
	args := build.args[strings.Index(build.args, "go build"):]
	if !strings.Contains(args, "-trimpath") {
		ps.addf("line %d: go build without -trimpath", build.line)
	}
	ldflags := goBuildLdflags.FindStringSubmatch(args)
	if ldflags == nil || !strings.Contains(ldflags[1], "-s") || !strings.Contains(ldflags[1], "-w") {
		ps.addf(`line %d: go build without -ldflags "-s -w"`, build.line)
	}
	fields := strings.Fields(args)
	pkg := strings.TrimPrefix(fields[len(fields)-1], "./")
	if pkg != commandDir {
		ps.addf("line %d: go build builds %s, not ./%s", build.line, fields[len(fields)-1], commandDir)
	} else if !r.exists(pkg) {
		ps.addf("line %d: ./%s does not exist", build.line, pkg)
	}
	if m := goBuildOutput.FindStringSubmatch(args); m != nil {
		return m[1]
	}
	ps.addf("line %d: go build has no -o", build.line)
	return ""
}

// userID returns the user ID of a USER instruction's argument.
func userID(user string) (int, error) {
	if user == "" {
		return 0, errors.New("no USER: the container would run as root")
	}
	name, _, _ := strings.Cut(user, ":")
	uid, err := strconv.Atoi(name)
	if err != nil {
		return 0, fmt.Errorf("USER %s is not numeric: Kubernetes cannot verify runAsNonRoot for a user name", user)
	}
	return uid, nil
}

// DockerfileUID returns the user ID the final stage of the Dockerfile file
// runs as.
func DockerfileUID(r Repo, file string) (int, error) {
	data, err := os.ReadFile(r.Path(file))
	if err != nil {
		return 0, err
	}
	stages := parseDockerfile(data)
	if len(stages) == 0 {
		return 0, fmt.Errorf("%s has no stage", file)
	}
	user := ""
	for _, in := range stages[len(stages)-1].body {
		if in.cmd == "USER" {
			user = in.args
		}
	}
	return userID(user)
}

// buildFiles returns the files go build reads to build the binary: go.mod,
// go.sum, and the Go and embedded files of the module's packages it
// imports, relative to the root.
func buildFiles(r Repo) ([]string, error) {
	cmd := exec.Command("go", "list", "-e", "-deps", "-json=Dir,ImportPath,GoFiles,EmbedFiles,Module", "./"+commandDir)
	cmd.Dir = r.Root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w: %s", err, stderr.String())
	}
	files := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			Dir        string
			GoFiles    []string
			EmbedFiles []string
			Module     *struct{ Path string }
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		if p.Module == nil || p.Module.Path != r.Module {
			continue
		}
		dir := r.rel(p.Dir)
		for _, f := range append(p.GoFiles, p.EmbedFiles...) {
			files = append(files, path.Join(dir, f))
		}
	}
	return files, nil
}

// checkDockerignore checks that the ignore file patterns lets in every one
// of files.
func checkDockerignore(ps *problems, patterns []byte, files []string) {
	ig := parseDockerignore(patterns)
	var left []string
	for _, f := range files {
		if ig.excludes(f) {
			left = append(left, f)
		}
	}
	if len(left) > 0 {
		if len(left) > 5 {
			left = append(left[:5], fmt.Sprintf("and %d more", len(left)-5))
		}
		ps.addf("leaves out files the build needs: %s", strings.Join(left, ", "))
	}
}

// dockerignore is a .dockerignore: patterns in order, the last one
// matching a path deciding.
type dockerignore []ignorePattern

type ignorePattern struct {
	re     *regexp.Regexp
	negate bool
}

// parseDockerignore reads .dockerignore patterns ("*", "**", "?", "!").
func parseDockerignore(data []byte) dockerignore {
	var ig dockerignore
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := ignorePattern{}
		if rest, ok := strings.CutPrefix(line, "!"); ok {
			p.negate, line = true, strings.TrimSpace(rest)
		}
		line = strings.TrimPrefix(path.Clean("/"+line), "/")
		p.re = regexp.MustCompile("^" + globRegexp(line) + "$")
		ig = append(ig, p)
	}
	return ig
}

// globRegexp translates a .dockerignore glob: ** matches any number of
// folders, * and ? match within one path element.
func globRegexp(glob string) string {
	var re strings.Builder
	for i := 0; i < len(glob); {
		switch rest := glob[i:]; {
		case strings.HasPrefix(rest, "**/"):
			re.WriteString("(?:.*/)?")
			i += 3
		case rest == "**" && i > 0 && glob[i-1] == '/':
			re.WriteString(".*")
			i += 2
		case strings.HasPrefix(rest, "**"):
			re.WriteString(".*")
			i += 2
		case rest[0] == '*':
			re.WriteString("[^/]*")
			i++
		case rest[0] == '?':
			re.WriteString("[^/]")
			i++
		default:
			re.WriteString(regexp.QuoteMeta(rest[:1]))
			i++
		}
	}
	return re.String()
}

// excludes reports whether the file rel is left out of the build context:
// a pattern matches it or one of its parent folders.
func (ig dockerignore) excludes(rel string) bool {
	excluded := false
	for _, p := range ig {
		for prefix := rel; ; {
			if p.re.MatchString(prefix) {
				excluded = !p.negate
				break
			}
			i := strings.LastIndex(prefix, "/")
			if i < 0 {
				break
			}
			prefix = prefix[:i]
		}
	}
	return excluded
}
