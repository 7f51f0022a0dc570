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

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// The Dockerfile is read with BuildKit's own parser and instruction
// model (the frontend docker build uses): line continuations, comments,
// heredocs, flags such as --mount and --from, exec and shell forms. The
// checks read its stages and typed instructions.

// parseDockerfile returns the stages of a Dockerfile.
func parseDockerfile(data []byte) ([]instructions.Stage, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("parsing the Dockerfile: %w", err)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the Dockerfile's instructions: %w", err)
	}
	return stages, nil
}

// lineOf returns the first line of an instruction or stage.
func lineOf(location []parser.Range) int {
	if len(location) == 0 {
		return 0
	}
	return location[0].Start.Line
}

// stageUser returns the argument of the last USER of a stage, "" for none.
func stageUser(st instructions.Stage) string {
	user := ""
	for _, c := range st.Commands {
		if u, ok := c.(*instructions.UserCommand); ok {
			user = u.User
		}
	}
	return user
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
	stages, err := parseDockerfile(data)
	if err != nil {
		ps.addf("%v", err)
		return
	}
	if len(stages) < 2 {
		ps.addf("has %d stage(s); want a builder stage and a final stage", len(stages))
		return
	}
	builder := stages[0]
	if want := "golang:" + r.GoVersion; !strings.HasPrefix(builder.BaseName+"-", want+"-") {
		ps.addf("line %d: the builder is %s, but go.mod says go %s (want %s)", lineOf(builder.Location), builder.BaseName, r.GoVersion, want)
	}
	output := checkBuilder(ps, r, builder)

	final := stages[len(stages)-1]
	base := final.BaseName
	distroless := strings.HasPrefix(base, "gcr.io/distroless/static")
	if !distroless && base != "scratch" {
		ps.addf("line %d: the final stage is %s; want gcr.io/distroless/static… or scratch (one static binary)", lineOf(final.Location), base)
	}
	var entrypoint *instructions.EntrypointCommand
	var copied, caCerts bool
	for _, c := range final.Commands {
		switch in := c.(type) {
		case *instructions.EntrypointCommand:
			entrypoint = in
		case *instructions.CopyCommand:
			for _, src := range in.SourcePaths {
				caCerts = caCerts || strings.Contains(src, "ca-certificates")
			}
			if len(in.SourcePaths) == 1 && in.DestPath == imageBinary && (in.From == builder.Name || in.From == "0") {
				copied = true
				if output != "" && in.SourcePaths[0] != output {
					ps.addf("line %d: copies %s, but the builder writes the binary to %s", lineOf(in.Location()), in.SourcePaths[0], output)
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
	if uid, err := userID(stageUser(final)); err != nil {
		ps.addf("final stage: %v", err)
	} else if uid == 0 {
		ps.addf("final stage: USER is root")
	}
	switch {
	case entrypoint == nil:
		ps.addf("final stage: no ENTRYPOINT; want [%q] (the image has no shell)", imageBinary)
	case entrypoint.PrependShell || len(entrypoint.CmdLine) == 0:
		ps.addf("final stage: ENTRYPOINT %q is not an exec-form list (the image has no shell)", strings.Join(entrypoint.CmdLine, " "))
	case entrypoint.CmdLine[0] != imageBinary:
		ps.addf("final stage: ENTRYPOINT runs %s, not %s", entrypoint.CmdLine[0], imageBinary)
	}
}

// checkBuilder checks the builder stage's go build and returns where it
// writes the binary.
func checkBuilder(ps *problems, r Repo, builder instructions.Stage) string {
	cgoOff := false
	var build *instructions.RunCommand
	for _, c := range builder.Commands {
		switch in := c.(type) {
		case *instructions.EnvCommand:
			for _, kv := range in.Env {
				cgoOff = cgoOff || kv.Key == "CGO_ENABLED" && kv.Value == "0"
			}
		case *instructions.ArgCommand:
			for _, kv := range in.Args {
				cgoOff = cgoOff || kv.Key == "CGO_ENABLED" && kv.ValueString() == "0"
			}
		case *instructions.RunCommand:
			line := strings.Join(in.CmdLine, " ")
			cgoOff = cgoOff || cgoDisabled.MatchString(line)
			if strings.Contains(line, "go build") {
				build = in
			}
		}
	}
	if !cgoOff {
		ps.addf("the builder does not set CGO_ENABLED=0 (the binary would not be static)")
	}
	if build == nil {
		ps.addf("the builder runs no go build")
		return ""
	}
	line := lineOf(build.Location())
	// The go build command line is shell text: the flags are read from it.
	cmdLine := strings.Join(build.CmdLine, " ")
	args := cmdLine[strings.Index(cmdLine, "go build"):]
	if !strings.Contains(args, "-trimpath") {
		ps.addf("line %d: go build without -trimpath", line)
	}
	ldflags := goBuildLdflags.FindStringSubmatch(args)
	if ldflags == nil || !strings.Contains(ldflags[1], "-s") || !strings.Contains(ldflags[1], "-w") {
		ps.addf(`line %d: go build without -ldflags "-s -w"`, line)
	}
	fields := strings.Fields(args)
	pkg := strings.TrimPrefix(fields[len(fields)-1], "./")
	if pkg != commandDir {
		ps.addf("line %d: go build builds %s, not ./%s", line, fields[len(fields)-1], commandDir)
	} else if !r.exists(pkg) {
		ps.addf("line %d: ./%s does not exist", line, pkg)
	}
	if m := goBuildOutput.FindStringSubmatch(args); m != nil {
		return m[1]
	}
	ps.addf("line %d: go build has no -o", line)
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
		return 0, fmt.Errorf("reading the Dockerfile: %w", err)
	}
	stages, err := parseDockerfile(data)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", file, err)
	}
	if len(stages) == 0 {
		return 0, fmt.Errorf("%s has no stage", file)
	}
	return userID(stageUser(stages[len(stages)-1]))
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
// of files. The patterns are read and matched by BuildKit's own
// .dockerignore reader and matcher.
func checkDockerignore(ps *problems, patterns []byte, files []string) {
	list, err := ignorefile.ReadAll(bytes.NewReader(patterns))
	if err != nil {
		ps.addf("does not parse: %v", err)
		return
	}
	pm, err := patternmatcher.New(list)
	if err != nil {
		ps.addf("has a bad pattern: %v", err)
		return
	}
	var left []string
	for _, f := range files {
		excluded, err := pm.MatchesOrParentMatches(f)
		if err != nil {
			ps.addf("cannot match %s: %v", f, err)
			return
		}
		if excluded {
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
