package gitbuild

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// testRepo is a git repository with two commits of a tiny module: an app that prints
// its greeting and version, and a tests program beside it.
type testRepo struct {
	dir           string
	first, second plumbing.Hash
}

// program is a main package printing the greeting and its link-time version.
func program(greeting string) string {
	return "package main\n\nimport \"fmt\"\n\nvar version = \"0.0.0\"\n\nfunc main() { fmt.Println(\"" + greeting + "\", version) }\n"
}

func newTestRepo(t *testing.T) testRepo {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	r := testRepo{dir: dir}
	r.first = commitFiles(t, repo, "first", map[string]string{
		"go.mod":          "module example.com/tiny\n\ngo 1.22\n",
		"app/main.go":     program("greeting-one"),
		"apptest/main.go": program("tests-one"),
		"app/run.sh":      "#!/bin/sh\n",
	})
	r.second = commitFiles(t, repo, "second", map[string]string{"app/main.go": program("greeting-two")})
	return r
}

// commitFiles writes files into the worktree and commits them.
func commitFiles(t *testing.T, repo *git.Repository, msg string, files map[string]string) plumbing.Hash {
	t.Helper()
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	root := wt.Filesystem.Root()
	for name, content := range files {
		path := filepath.Join(root, name)
		mode := os.FileMode(0o644)
		if filepath.Ext(name) == ".sh" {
			mode = 0o755
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add(name); err != nil {
			t.Fatal(err)
		}
	}
	sig := &object.Signature{Name: "Test", Email: "test@example.com", When: time.Unix(1700000000, 0)}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: sig})
	if err != nil {
		t.Fatal(err)
	}
	return h
}
