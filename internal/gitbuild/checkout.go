package gitbuild

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/memory"
)

// sha is what a commit argument may be: git's shortest abbreviation up to a full SHA-1.
var sha = regexp.MustCompile(`^[0-9a-fA-F]{4,40}$`)

// Checkout writes the files of one commit of the repository at repoURL (a local path, a
// file:// URL or an http(s) URL) into dir. commit is a full or abbreviated SHA.
//
// dir receives the tree only, no .git: a local repository is read in process, because
// go-git's file transport would run git-upload-pack and a build pod has no git binary;
// the source, often a read-only mount, is never written to; and the go command then
// finds no repository whose status it would ask git for.
func Checkout(ctx context.Context, repoURL, commit, dir string) error {
	if !sha.MatchString(commit) {
		return fmt.Errorf("commit %q is not a SHA (4 to 40 hex digits)", commit)
	}
	src, err := openSource(ctx, repoURL)
	if err != nil {
		return fmt.Errorf("opening repository %s: %w", repoURL, err)
	}
	hash, err := resolve(src, strings.ToLower(commit))
	if err != nil {
		return fmt.Errorf("repository %s: %w", repoURL, err)
	}
	if err := writeTree(src.Storer, hash, dir); err != nil {
		return fmt.Errorf("checking out %s of %s: %w", hash, repoURL, err)
	}
	return nil
}

// openSource opens a local repository where it is, and fetches a remote one into
// memory: the objects are needed only until the commit's files are written.
func openSource(ctx context.Context, repoURL string) (*git.Repository, error) {
	u, err := url.Parse(repoURL)
	if err != nil || u.Scheme == "" {
		return openLocal(repoURL)
	}
	switch u.Scheme {
	case "file":
		return openLocal(u.Path)
	case "http", "https":
		return fetchRemote(ctx, repoURL)
	default:
		return nil, fmt.Errorf("unsupported scheme %q (want a local path, file://, http:// or https://)", u.Scheme)
	}
}

// remoteRefs are what a remote repository's fetch takes: its branches and tags, and the
// heads of its pull requests (GitHub's refs/pull/N/head) and merge requests (GitLab's
// refs/merge-requests/N/head). A pull request from a fork has its commit under those
// refs only, so a clone of the branches alone would not find it.
var remoteRefs = []config.RefSpec{
	"+refs/heads/*:refs/remotes/origin/*",
	"+refs/tags/*:refs/tags/*",
	"+refs/pull/*/head:refs/remotes/origin/pull/*",
	"+refs/merge-requests/*/head:refs/remotes/origin/merge-requests/*",
}

// fetchRemote fetches a remote repository's refs (remoteRefs) into memory.
func fetchRemote(ctx context.Context, repoURL string) (*git.Repository, error) {
	repo, err := git.Init(memory.NewStorage(), nil)
	if err != nil {
		return nil, err
	}
	remote, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{repoURL}, Fetch: remoteRefs})
	if err != nil {
		return nil, err
	}
	if err := remote.FetchContext(ctx, &git.FetchOptions{Tags: git.NoTags}); err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, err
	}
	return repo, nil
}

func openLocal(path string) (*git.Repository, error) {
	repo, err := git.PlainOpenWithOptions(path, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("no git repository at %s", path)
	}
	return repo, err
}

// resolve finds the commit a (lower-case) SHA or prefix names. go-git would also take
// a branch or tag of that name, which the prefix check refuses: the build is of exactly
// the commit asked for.
func resolve(repo *git.Repository, commit string) (plumbing.Hash, error) {
	h, err := repo.ResolveRevision(plumbing.Revision(commit))
	if errors.Is(err, plumbing.ErrReferenceNotFound) || errors.Is(err, plumbing.ErrObjectNotFound) ||
		err == nil && !strings.HasPrefix(h.String(), commit) {
		return plumbing.ZeroHash, fmt.Errorf("no commit %s", commit)
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("resolving commit %s: %w", commit, err)
	}
	return *h, nil
}

// overlay reads objects from the source repository and keeps the checkout's own HEAD,
// index and config in memory. Only the interfaces' methods are promoted, so go-git's
// type assertions for faster paths cannot reach the empty memory object store.
type overlay struct {
	storer.EncodedObjectStorer
	storer.ReferenceStorer
	storer.ShallowStorer
	storer.IndexStorer
	config.ConfigStorer
	storage.ModuleStorer
}

// writeTree checks the commit out into dir with go-git's worktree code (file modes,
// symlinks), against the overlay.
func writeTree(objects storer.EncodedObjectStorer, commit plumbing.Hash, dir string) error {
	mem := memory.NewStorage()
	repo, err := git.Init(overlay{objects, mem, mem, mem, mem, mem}, osfs.New(dir))
	if err != nil {
		return err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	return wt.Checkout(&git.CheckoutOptions{Hash: commit, Force: true})
}
