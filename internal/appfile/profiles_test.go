package appfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func leaf(t *testing.T, f *File, path string) Leaf {
	t.Helper()
	for _, l := range f.Tree.Leaves() {
		if l.Path == path {
			return l
		}
	}
	t.Fatalf("no value at %s", path)
	return Leaf{}
}

func TestProfilePrecedence(t *testing.T) {
	dir := t.TempDir()
	// first wins over second; the file wins over both; maps merge, lists replace.
	write(t, dir, "first.yml", "deploy:\n  helm:\n    values:\n      port: 9001\n      env: {A: first}\n      global: {metrics: {whitelist: [a, b]}}\n")
	write(t, dir, "second.yml", "deploy:\n  helm:\n    values:\n      port: 9002\n      image: second\n      env: {A: second, B: second}\n      global: {metrics: {whitelist: [c]}}\n")
	write(t, dir, "ferry.yml", "profiles: [./first.yml, ./second.yml]\n"+valid+"  helm:\n    values:\n      env: {C: file}\n")
	f, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"deploy.helm.values.port":                        "9001",
		"deploy.helm.values.image":                       "second",
		"deploy.helm.values.env.A":                       "first",
		"deploy.helm.values.env.B":                       "second",
		"deploy.helm.values.env.C":                       "file",
		"deploy.helm.values.global.metrics.whitelist[1]": "b",
		"deploy.namespace":                               "web",
	} {
		if got := leaf(t, f, path).Value; got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if src := leaf(t, f, "deploy.helm.values.port").Source; src.File != "first.yml" && !strings.HasSuffix(src.File, "/first.yml") || src.Line != 4 {
		t.Errorf("port comes from %s, want first.yml:4", src)
	}
	if n := len(f.App.Deploy.Helm.Values.Global.Metrics.Whitelist); n != 2 {
		t.Errorf("whitelist has %d entries; lists replace, want 2", n)
	}
}

func TestBuiltinProfileAndItsSource(t *testing.T) {
	f, err := LoadBytes("ferry.yml", []byte("profiles: [go-service, prod]\n"+valid), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := leaf(t, f, "deploy.helm.values.scaling.min")
	// go-service (earlier) wins over prod: 2, from the go-service profile.
	if l.Value != "2" || l.Source.File != "builtin:go-service" {
		t.Errorf("scaling.min = %s from %s", l.Value, l.Source)
	}
	if l := leaf(t, f, "deploy.createChangeRecord"); l.Value != "true" || l.Source.File != "builtin:prod" {
		t.Errorf("createChangeRecord = %s from %s", l.Value, l.Source)
	}
}

func TestEveryBuiltinProfileIsValidAndDocumented(t *testing.T) {
	for _, name := range BuiltinProfiles() {
		text, _ := BuiltinProfile(name)
		if !strings.HasPrefix(string(text), "# "+name+": ") {
			t.Errorf("profile %s does not start with a comment saying what it does", name)
		}
		if _, err := LoadBytes("ferry.yml", []byte("profiles: ["+name+"]\n"+valid), t.TempDir(), Options{}); err != nil {
			t.Errorf("profile %s: %v", name, err)
		}
	}
	for _, want := range []string{"go-service", "java-service", "prod", "cron-scale", "custom-scale-istio-http-requests"} {
		if _, ok := BuiltinProfile(want); !ok {
			t.Errorf("built-in profile %s missing", want)
		}
	}
}

func TestProfileCycle(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yml", "profiles: [./b.yml]\n")
	write(t, dir, "b.yml", "profiles: [./a.yml]\n")
	write(t, dir, "ferry.yml", "profiles: [./a.yml]\n"+valid)
	_, err := Load(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "profile cycle: ./a.yml -> ./b.yml -> ./a.yml") {
		t.Fatalf("err = %v", err)
	}
}

func TestMissingLocalProfile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "ferry.yml", "profiles: [./nope.yml]\n"+valid)
	_, err := Load(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), `ferry.yml:1:12: profiles[0]: reading local profile "./nope.yml"`) {
		t.Fatalf("err = %v", err)
	}
}

// gitRepo makes a real git repository ORG/REPO under base with files on a branch.
func gitRepo(t *testing.T, base, org, repo, branch string, files map[string]string) {
	t.Helper()
	dir := filepath.Join(base, org, repo)
	r, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		write(t, dir, name, text)
		if _, err := wt.Add(name); err != nil {
			t.Fatal(err)
		}
	}
	hash, err := wt.Commit("profiles", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(0, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(branch), hash)); err != nil {
		t.Fatal(err)
	}
}

func TestGitProfile(t *testing.T) {
	base := t.TempDir()
	gitRepo(t, base, "platform", "profiles", "stable", map[string]string{
		"metrics.yml": "deploy:\n  helm:\n    values:\n      global: {metrics: {enabled: true, remoteWriteSampleLimit: 500}}\n",
	})
	file := "profiles: [git://platform:profiles:stable:metrics]\n" + valid
	for _, b := range []string{"file://" + base, base} {
		f, err := LoadBytes("ferry.yml", []byte(file), t.TempDir(), Options{GitBase: b})
		if err != nil {
			t.Fatalf("base %s: %v", b, err)
		}
		l := leaf(t, f, "deploy.helm.values.global.metrics.remoteWriteSampleLimit")
		if l.Value != "500" || l.Source.File != "git://platform:profiles:stable:metrics" || l.Source.Line != 4 {
			t.Errorf("got %s from %s", l.Value, l.Source)
		}
	}

	for name, tc := range map[string]struct{ ref, base, want string }{
		"no base":          {"git://platform:profiles:stable:metrics", "", "needs a git base URL"},
		"malformed":        {"git://platform:profiles:metrics", base, "expected git://ORG:REPO:BRANCH:NAME"},
		"unreachable repo": {"git://platform:nothing:stable:metrics", base, "cloning file://" + base + "/platform/nothing branch stable"},
		"missing branch":   {"git://platform:profiles:main:metrics", base, "branch main"},
		"missing file":     {"git://platform:profiles:stable:logging", base, "no logging.yml on branch stable"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadBytes("ferry.yml", []byte("profiles: ["+tc.ref+"]\n"+valid), t.TempDir(), Options{GitBase: tc.base})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "ferry.yml:1:12: profiles[0]: ") {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
