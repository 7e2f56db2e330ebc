package gitbuild

import (
	"context"
	"net/http/cgi" //nolint:gosec // serves a test repository with git http-backend on loopback; Go is far past 1.6.3
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// checkedOut checks that dir holds the first commit's files, without a .git.
func checkedOut(t *testing.T, dir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "app/main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "greeting-one") {
		t.Errorf("app/main.go is not the first commit's:\n%s", b)
	}
	fi, err := os.Stat(filepath.Join(dir, "app/run.sh"))
	if err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("app/run.sh not executable: %v %v", fi.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); !os.IsNotExist(err) {
		t.Errorf("the checkout has a .git: %v", err)
	}
}

func TestCheckoutWritesTheCommitsFiles(t *testing.T) {
	r := newTestRepo(t)
	for name, tc := range map[string]struct{ url, commit string }{
		"path and full SHA":      {r.dir, r.first.String()},
		"abbreviated SHA":        {r.dir, r.first.String()[:7]},
		"upper-case SHA":         {r.dir, strings.ToUpper(r.first.String()[:10])},
		"file URL":               {"file://" + r.dir, r.first.String()},
		"path inside a worktree": {filepath.Join(r.dir, ".git"), r.first.String()},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := Checkout(context.Background(), tc.url, tc.commit, dir); err != nil {
				t.Fatal(err)
			}
			checkedOut(t, dir)
		})
	}
}

// A build pod has no git binary: a local repository must be read without one.
func TestCheckoutNeedsNoGitBinary(t *testing.T) {
	r := newTestRepo(t)
	t.Setenv("PATH", t.TempDir())
	if _, err := exec.LookPath("git"); err == nil {
		t.Fatal("git is still on PATH")
	}
	dir := t.TempDir()
	if err := Checkout(context.Background(), r.dir, r.first.String(), dir); err != nil {
		t.Fatal(err)
	}
	checkedOut(t, dir)
}

// The source is often a read-only mount of someone's working copy: it must not move.
func TestCheckoutLeavesTheSourceAlone(t *testing.T) {
	r := newTestRepo(t)
	if err := Checkout(context.Background(), r.dir, r.first.String(), t.TempDir()); err != nil {
		t.Fatal(err)
	}
	repo, err := git.PlainOpen(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Head()
	if err != nil || head.Hash() != r.second {
		t.Errorf("source HEAD %v (%v), want %s", head, err, r.second)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	st, err := wt.Status()
	if err != nil || !st.IsClean() {
		t.Errorf("source worktree changed: %v %v", st, err)
	}
}

func TestCheckoutOverHTTP(t *testing.T) {
	r := newTestRepo(t)
	dir := t.TempDir()
	if err := Checkout(context.Background(), serveHTTP(t, r.dir), r.first.String()[:8], dir); err != nil {
		t.Fatal(err)
	}
	checkedOut(t, dir)
}

// A pull request's commit (from a fork, say) is under refs/pull/N/head on GitHub and
// refs/merge-requests/N/head on GitLab, on no branch: a checkout over HTTP finds it.
func TestCheckoutOverHTTPFindsPullRequestHeads(t *testing.T) {
	for name, ref := range map[string]string{"GitHub": "refs/pull/7/head", "GitLab": "refs/merge-requests/7/head"} {
		t.Run(name, func(t *testing.T) {
			r := newTestRepo(t)
			repo, err := git.PlainOpen(r.dir)
			if err != nil {
				t.Fatal(err)
			}
			head, err := repo.Head()
			if err != nil {
				t.Fatal(err)
			}
			pr := commitFiles(t, repo, "pull request", map[string]string{"app/main.go": program("greeting-pr")})
			must(t, repo.Storer.SetReference(plumbing.NewHashReference(plumbing.ReferenceName(ref), pr)))
			must(t, repo.Storer.SetReference(plumbing.NewHashReference(head.Name(), r.second))) // off every branch
			url := serveHTTP(t, r.dir)
			dir := t.TempDir()
			if err := Checkout(context.Background(), url, pr.String(), dir); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(dir, "app/main.go")); err != nil || !strings.Contains(string(b), "greeting-pr") {
				t.Errorf("app/main.go is not the pull request's: %q %v", b, err)
			}
		})
	}
}

// serveHTTP serves the repository at dir with git http-backend on loopback and returns
// its URL.
func serveHTTP(t *testing.T, dir string) string {
	t.Helper()
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Fatal("no git binary to serve the repository with (git http-backend); the project is a git clone, so git should be here")
	}
	srv := httptest.NewServer(&cgi.Handler{Path: gitBin, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + filepath.Dir(dir), "GIT_HTTP_EXPORT_ALL=1"}})
	t.Cleanup(srv.Close)
	return srv.URL + "/" + filepath.Base(dir) + "/.git"
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCheckoutErrors(t *testing.T) {
	r := newTestRepo(t)
	missing := strings.Repeat("0", 40)
	for name, tc := range map[string]struct{ url, commit, want string }{
		"unknown commit":    {r.dir, missing, "repository " + r.dir + ": no commit " + missing},
		"unknown prefix":    {r.dir, "0000000", "repository " + r.dir + ": no commit 0000000"},
		"a branch name":     {r.dir, "master", `commit "master" is not a SHA`},
		"too short":         {r.dir, "abc", `commit "abc" is not a SHA`},
		"not a repository":  {t.TempDir(), r.first.String(), "no git repository at"},
		"unsupported URL":   {"ssh://git@127.0.0.1/x.git", r.first.String(), `unsupported scheme "ssh"`},
		"nothing listening": {"http://127.0.0.1:1/x.git", r.first.String(), "opening repository http://127.0.0.1:1/x.git"},
	} {
		t.Run(name, func(t *testing.T) {
			err := Checkout(context.Background(), tc.url, tc.commit, t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
}
