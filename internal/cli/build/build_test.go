package build

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/gitbuild"
)

// tinyRepo is a git repository with one commit of a main package that prints its
// version; it returns the repository's directory and the commit.
func tinyRepo(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"go.mod":      "module example.com/tiny\n\ngo 1.22\n",
		"app/main.go": "package main\n\nimport \"fmt\"\n\nvar version = \"0.0.0\"\n\nfunc main() { fmt.Println(\"tiny\", version) }\n",
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add(name); err != nil {
			t.Fatal(err)
		}
	}
	h, err := wt.Commit("tiny", &git.CommitOptions{Author: &object.Signature{Name: "T", Email: "t@example.com", When: time.Unix(1700000000, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	return dir, h.String()
}

// runVerb runs ferry build with args as the command line would.
func runVerb(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := NewCommand(iostreams.Streams{In: strings.NewReader(""), Out: &out, Err: &out})
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestValidate(t *testing.T) {
	need := "--repo, --commit, --package and --image are required"
	ok := options{repo: "/src", commit: "abcd123", build: gitbuild.Options{Package: "app", Image: "127.0.0.1:5000/app:1"}}
	for name, tc := range map[string]struct {
		mutate func(*options)
		want   string
	}{
		"no repo":             {func(o *options) { o.repo = "" }, need},
		"no commit":           {func(o *options) { o.commit = "" }, need},
		"no image":            {func(o *options) { o.build.Image = "" }, need},
		"tests without image": {func(o *options) { o.build.TestsPackage = "apptest" }, "--tests-package and --tests-image go together"},
		"version with space":  {func(o *options) { o.version = "1.0 -X x.y=z" }, `--version "1.0 -X x.y=z": spaces and quotes cannot go into a linker flag`},
	} {
		t.Run(name, func(t *testing.T) {
			o := ok
			tc.mutate(&o)
			if err := o.validate(); err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	o := ok
	o.version = "1.2.0"
	if err := o.validate(); err != nil || o.build.LDFlags != "-X main.version=1.2.0" {
		t.Errorf("ldflags %q, %v", o.build.LDFlags, err)
	}
}

func TestUnknownCommitFailsBeforeBuilding(t *testing.T) {
	repo, _ := tinyRepo(t)
	log := filepath.Join(t.TempDir(), "termination-log")
	out, err := runVerb(t, "--repo", repo, "--commit", "deadbeef", "--package", "app", "--image", "127.0.0.1:1/tiny:1", "--termination-log", log)
	if err == nil || err.Error() != "repository "+repo+": no commit deadbeef" {
		t.Errorf("error %v", err)
	}
	if out != "checking out "+repo+" at deadbeef\n" {
		t.Errorf("build log %q", out)
	}
	if _, err := os.Stat(log); !os.IsNotExist(err) {
		t.Errorf("a termination log was written on failure: %v", err)
	}
}

// A compile error's detail goes to the build log; the error itself is one line.
func TestFirstLine(t *testing.T) {
	var log bytes.Buffer
	err := firstLine(&log, errors.New("package app: building .: exit status 1\n# example.com/tiny/app\n./main.go:5:1: syntax error\n"))
	if err.Error() != "package app: building .: exit status 1" || log.String() != "# example.com/tiny/app\n./main.go:5:1: syntax error\n" {
		t.Errorf("error %q, log %q", err, log.String())
	}
	log.Reset()
	if err := firstLine(&log, errors.New("one line")); err.Error() != "one line" || log.Len() != 0 {
		t.Errorf("error %q, log %q", err, log.String())
	}
}

func TestTerminationLog(t *testing.T) {
	dir := t.TempDir()
	if got := writableFile(filepath.Join(dir, "missing")); got != "" {
		t.Errorf("a missing file is the termination log: %q", got)
	}
	path := filepath.Join(dir, "termination-log")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := writableFile(path); got != path {
		t.Errorf("writable file: %q", got)
	}
	for _, tc := range []struct {
		res  gitbuild.Result
		want string
	}{
		{gitbuild.Result{App: "sha256:aa", Tests: "sha256:bb"}, `{"app":"sha256:aa","tests":"sha256:bb"}`},
		{gitbuild.Result{App: "sha256:aa"}, `{"app":"sha256:aa"}`},
	} {
		if err := writeResult(path, tc.res); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != tc.want {
			t.Errorf("termination log %s, want %s", b, tc.want)
		}
	}
}

// --checkout-only writes the commit's files and builds nothing: the first step of a
// Dockerfile build.
func TestCheckoutOnly(t *testing.T) {
	repo, commit := tinyRepo(t)
	dir := t.TempDir()
	out, err := runVerb(t, "--repo", repo, "--commit", commit, "--checkout-only", dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "app", "main.go")); err != nil {
		t.Errorf("the checkout has no app/main.go: %v", err)
	}
	if !strings.HasPrefix(out, "checking out "+repo+" at "+commit+" into "+dir+"\nchecked out in ") || strings.Contains(out, "pushed") {
		t.Errorf("build log %q", out)
	}
	if _, err := runVerb(t, "--repo", repo, "--checkout-only", dir); err == nil || err.Error() != "--checkout-only needs --repo and --commit" {
		t.Errorf("without --commit: %v", err)
	}
}
