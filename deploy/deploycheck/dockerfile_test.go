package deploycheck

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// TestCheckDockerfile_ReportsEachBreakage breaks the Dockerfile one way at
// a time and expects the check to report it.
func TestCheckDockerfile_ReportsEachBreakage(t *testing.T) {
	r := testRepo(t)
	data, err := os.ReadFile(r.Path(ordersagaDockerfile))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	intact := &problems{file: ordersagaDockerfile}
	checkDockerfile(intact, r, data)
	if len(intact.list) > 0 {
		t.Fatalf("the intact Dockerfile has problems:\n%s", listProblems(intact.list))
	}
	cases := []struct {
		name     string
		old, new string
		want     string
	}{
		{"builder on another Go", "FROM golang:" + r.GoVersion + " AS build", "FROM golang:1.25.0 AS build", "go.mod says go " + r.GoVersion},
		{"cgo on", "ENV CGO_ENABLED=0 ", "ENV CGO_ENABLED=1 ", "does not set CGO_ENABLED=0"},
		{"no -trimpath", "go build -trimpath ", "go build ", "without -trimpath"},
		{"not stripped", `-ldflags "-s -w"`, `-ldflags "-X main.x=1"`, `without -ldflags "-s -w"`},
		{"another package", "./deploy/cmd/ordersaga\n", "./deploy/cmd\n", "go build builds ./deploy/cmd"},
		{"root user", "USER 65532:65532\n", "", "no USER"},
		{"user name", "USER 65532:65532\n", "USER nonroot:nonroot\n", "is not numeric"},
		{"user root", "USER 65532:65532\n", "USER 0\n", "USER is root"},
		{"shell-form entrypoint", `ENTRYPOINT ["/ordersaga"]`, "ENTRYPOINT /ordersaga", "is not an exec-form list"},
		{"binary elsewhere", "COPY --from=build /out/ordersaga /ordersaga", "COPY --from=build /out/ordersaga /bin/ordersaga", "does not copy the binary"},
		{"binary from elsewhere", "COPY --from=build /out/ordersaga /ordersaga", "COPY --from=build /src/ordersaga /ordersaga", "copies /src/ordersaga, but the builder writes the binary to /out/ordersaga"},
		{"fat final image", "FROM gcr.io/distroless/static-debian12:nonroot", "FROM golang:" + r.GoVersion, "want gcr.io/distroless/static"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := &problems{file: ordersagaDockerfile}
			checkDockerfile(ps, r, []byte(replaceOnce(t, doc, tc.old, tc.new)))
			wantProblem(t, ps.list, tc.want)
		})
	}
}

func TestCheckDockerfile_OneStageIsNotEnough(t *testing.T) {
	ps := &problems{file: "Dockerfile"}
	checkDockerfile(ps, testRepo(t), []byte("FROM golang:1.26.8\nRUN go build -o /x ./deploy/cmd/ordersaga\n"))
	wantProblem(t, ps.list, "has 1 stage(s)")
}

func TestParseDockerfile_ReadsStagesAsBuildKitDoes(t *testing.T) {
	stages, err := parseDockerfile([]byte("# syntax=docker/dockerfile:1\nFROM --platform=$BUILDPLATFORM golang:1 AS b\nRUN --mount=type=cache,target=/x a \\\n  # a comment inside\n  b\nFROM scratch\nUSER 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 2 || stages[0].Name != "b" || stages[0].BaseName != "golang:1" || stages[1].BaseName != "scratch" {
		t.Fatalf("stages %+v", stages)
	}
	run, ok := stages[0].Commands[0].(*instructions.RunCommand)
	if !ok || strings.Join(strings.Fields(strings.Join(run.CmdLine, " ")), " ") != "a b" || lineOf(run.Location()) != 3 {
		t.Errorf("continued RUN read as %+v", stages[0].Commands[0])
	}
	if stageUser(stages[1]) != "1" {
		t.Errorf("user of the final stage %q, want 1", stageUser(stages[1]))
	}
	if _, err := parseDockerfile([]byte("FROM scratch\nCOPY\n")); err == nil {
		t.Error("a COPY without arguments was read")
	}
}

func TestCheckDockerignore_LastMatchingPatternDecides(t *testing.T) {
	patterns := []byte("# comment\n*\n!go.mod\n!shared\n!deploy\ndeploy/k8s\n**/*_test.go\n**/testdata\n!deploy/k8s/keep.yaml\n")
	for path, excluded := range map[string]bool{
		"go.mod":                          false,
		"go.sum":                          true,
		"README.md":                       true,
		"shared/domain/order.go":          false,
		"shared/domain/order_test.go":     true,
		"shared/x/testdata/golden.json":   true,
		"deploy/cmd/ordersaga/main.go":    false,
		"deploy/k8s/base/kustomization.y": true,
		"deploy/k8s/keep.yaml":            false,
		"orchestrated/flow/flow.go":       true,
	} {
		ps := &problems{file: ".dockerignore"}
		checkDockerignore(ps, patterns, []string{path})
		if got := len(ps.list) > 0; got != excluded {
			t.Errorf("%s left out: %v, want %v (%v)", path, got, excluded, ps.list)
		}
	}
}

func TestCheckDockerignore_ReportsAFileTheBuildNeeds(t *testing.T) {
	ps := &problems{file: "Dockerfile.dockerignore"}
	checkDockerignore(ps, []byte("*\n!go.mod\n!go.sum\n!shared\n**/*.yaml\n"),
		[]string{"go.mod", "go.sum", "shared/httpapi/api.go", "shared/httpapi/openapi.yaml"})
	wantProblem(t, ps.list, "leaves out files the build needs: shared/httpapi/openapi.yaml")
}

func TestBuildFiles_ListsGoAndEmbeddedFiles(t *testing.T) {
	r := testRepo(t)
	files, err := buildFiles(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"go.mod", "go.sum", "deploy/cmd/ordersaga/main.go", "shared/httpapi/openapi.yaml"} {
		if !slices.Contains(files, want) {
			t.Errorf("the build's files lack %s", want)
		}
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			t.Errorf("the build's files hold the test file %s", f)
		}
	}
}

func TestDockerfileUID_IsTheFinalStagesUser(t *testing.T) {
	uid, err := DockerfileUID(testRepo(t), ordersagaDockerfile)
	if err != nil {
		t.Fatal(err)
	}
	if uid == 0 {
		t.Error("the image runs as root")
	}
}
