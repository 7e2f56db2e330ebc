package appfile

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/memory"
)

//go:embed profiles/*.yml
var builtinFS embed.FS

// GitBaseEnv names the environment variable that sets the base URL of git:// profiles.
const GitBaseEnv = "FERRY_PROFILES_GIT_BASE"

// BuiltinProfiles lists the names of the profiles shipped inside the binary.
func BuiltinProfiles() []string {
	entries, _ := builtinFS.ReadDir("profiles")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yml"))
	}
	sort.Strings(names)
	return names
}

// BuiltinProfile returns the text of a built-in profile.
func BuiltinProfile(name string) ([]byte, bool) {
	b, err := builtinFS.ReadFile("profiles/" + name + ".yml")
	return b, err == nil
}

// profile is one fetched layer: its display name, text, and the directory its own local
// profiles are relative to ("" when it has none).
type profile struct {
	name string
	data []byte
	dir  string
}

// isLocal reports whether a profile reference is a file path.
func isLocal(ref string) bool {
	return strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, "../") || strings.HasPrefix(ref, "/") ||
		strings.HasSuffix(ref, ".yml") || strings.HasSuffix(ref, ".yaml")
}

// fetchProfile finds a profile by reference, relative to dir for local paths.
func (l *loader) fetchProfile(ref, dir string) (profile, error) {
	switch {
	case strings.HasPrefix(ref, "git://"):
		return l.fetchGit(ref)
	case isLocal(ref):
		if dir == "" {
			return profile{}, fmt.Errorf("local profile %q cannot be used from a built-in or git profile", ref)
		}
		path := ref
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return profile{}, fmt.Errorf("reading local profile %q: %w", ref, err)
		}
		return profile{name: displayPath(path), data: b, dir: filepath.Dir(path)}, nil
	default:
		b, ok := BuiltinProfile(ref)
		if !ok {
			msg := fmt.Sprintf("no built-in profile %q (available: %s; a local file starts with ./, a git profile with git://)",
				ref, strings.Join(BuiltinProfiles(), ", "))
			if s := suggest(ref, BuiltinProfiles()); s != "" {
				msg = fmt.Sprintf("no built-in profile %q (did you mean %q? available: %s)", ref, s, strings.Join(BuiltinProfiles(), ", "))
			}
			return profile{}, errors.New(msg)
		}
		return profile{name: "builtin:" + ref, data: b}, nil
	}
}

// displayPath shortens a path relative to the working directory when it is inside it.
func displayPath(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if rel, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

// fetchGit reads NAME.yml from branch BRANCH of repository ORG/REPO under the git base:
// git://ORG:REPO:BRANCH:NAME. Each repository and branch is cloned once per load.
func (l *loader) fetchGit(ref string) (profile, error) {
	parts := strings.Split(strings.TrimPrefix(ref, "git://"), ":")
	if len(parts) != 4 || slicesContainEmpty(parts) {
		return profile{}, fmt.Errorf("git profile %q is malformed (expected git://ORG:REPO:BRANCH:NAME)", ref)
	}
	org, repo, branch, name := parts[0], parts[1], parts[2], parts[3]
	if l.opts.GitBase == "" {
		return profile{}, fmt.Errorf("git profile %q needs a git base URL (set --profiles-git-base or %s)", ref, GitBaseEnv)
	}
	url := strings.TrimSuffix(gitURL(l.opts.GitBase), "/") + "/" + org + "/" + repo
	key := url + "@" + branch
	wt, ok := l.clones[key]
	if !ok {
		opts := &git.CloneOptions{URL: url, ReferenceName: plumbing.NewBranchReferenceName(branch), SingleBranch: true}
		if !strings.HasPrefix(url, "file://") {
			opts.Depth = 1
		}
		fs := memfs.New()
		if _, err := git.Clone(memory.NewStorage(), fs, opts); err != nil {
			return profile{}, fmt.Errorf("git profile %q: cloning %s branch %s: %w", ref, url, branch, err)
		}
		l.clones[key] = fs
		wt = fs
	}
	f, err := wt.Open(name + ".yml")
	if err != nil {
		return profile{}, fmt.Errorf("git profile %q: no %s.yml on branch %s of %s", ref, name, branch, url)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return profile{}, err
	}
	return profile{name: ref, data: b}, nil
}

// gitURL turns a plain directory into a file:// URL.
func gitURL(base string) string {
	if strings.HasPrefix(base, "/") {
		return "file://" + base
	}
	return base
}

func slicesContainEmpty(parts []string) bool {
	for _, p := range parts {
		if p == "" {
			return true
		}
	}
	return false
}
