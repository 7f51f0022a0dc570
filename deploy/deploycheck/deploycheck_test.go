package deploycheck

import (
	"strings"
	"testing"
)

// testRepo returns the repository the tests run in.
func testRepo(tb testing.TB) Repo {
	tb.Helper()
	r, err := FindRepo(".")
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// testBinary returns the binary as its command table says.
func testBinary(tb testing.TB, _ Repo) Binary {
	tb.Helper()
	return ReadBinary()
}

// wantProblem fails tb unless some problem of got contains every one of
// parts.
func wantProblem(tb testing.TB, got []Problem, parts ...string) {
	tb.Helper()
	for _, p := range got {
		s := p.String()
		all := true
		for _, part := range parts {
			all = all && strings.Contains(s, part)
		}
		if all {
			return
		}
	}
	tb.Errorf("no problem mentions %q; got:\n%s", parts, listProblems(got))
}

// listProblems returns one problem a line, for failure messages.
func listProblems(list []Problem) string {
	if len(list) == 0 {
		return "  (none)"
	}
	var b strings.Builder
	for _, p := range list {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}

func TestDeployFiles_AgreeWithTheCode(t *testing.T) {
	r := testRepo(t)
	bin := testBinary(t, r)
	for _, p := range CheckAll(r, bin) {
		t.Error(p)
	}
}

func TestFindRepo_ReadsGoMod(t *testing.T) {
	r := testRepo(t)
	if r.Module != "github.com/ordersaga/ordersaga" {
		t.Errorf("module %q", r.Module)
	}
	if !strings.HasPrefix(r.GoVersion, "1.") {
		t.Errorf("go version %q", r.GoVersion)
	}
	if !r.exists("deploy/Dockerfile") {
		t.Errorf("root %s holds no deploy/Dockerfile", r.Root)
	}
}

func TestCheckYAMLFiles_ReportsADuplicateKey(t *testing.T) {
	if err := parseYAMLDocuments([]byte("a: 1\n---\nb: 1\nb: 2\n")); err == nil {
		t.Fatal("a duplicate key in the second document parsed")
	}
	if err := parseYAMLDocuments([]byte("# only a comment\n---\na: [1, 2]\n")); err != nil {
		t.Fatalf("valid documents: %v", err)
	}
}
