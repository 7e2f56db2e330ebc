//go:build integration

package gitbuild

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"ferry.dev/ferry/internal/testenv"
)

// podEnv makes the go command run as in a build pod: no git, no network, no cgo.
func podEnv(t *testing.T) {
	tc, err := HostToolchain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", filepath.Join(tc.GOROOT, "bin"))
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOFLAGS", "-mod=readonly")
	t.Setenv("CGO_ENABLED", "0")
}

func TestBuildPushesTheCommitsImages(t *testing.T) {
	reg := testenv.StartRegistry(t, false)
	r := newTestRepo(t)
	podEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	if err := Checkout(ctx, r.dir, r.first.String()[:12], dir); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	res, err := Build(ctx, Options{Dir: dir, Package: "app", Image: reg.Addr + "/tiny:1.0.0",
		TestsPackage: "apptest", TestsImage: reg.Addr + "/tiny-tests:1.0.0", LDFlags: "-X main.version=1.0.0",
		Log: func(format string, args ...any) { log.WriteString(strings.TrimSpace(format) + "\n") }})
	if err != nil {
		t.Fatal(err)
	}
	if log.String() != "building %s as %s\npushed %s\nbuilding %s as %s\npushed %s\n" {
		t.Errorf("build log:\n%s", log.String())
	}
	for _, tc := range []struct{ ref, digest, want string }{
		{reg.Addr + "/tiny:1.0.0", res.App, "greeting-one 1.0.0\n"},
		{reg.Addr + "/tiny-tests:1.0.0", res.Tests, "tests-one 1.0.0\n"},
	} {
		img := pull(t, tc.ref, tc.digest)
		if out := runEntry(t, img, "app"); out != tc.want {
			t.Errorf("%s prints %q, want %q (the first commit's code)", tc.ref, out, tc.want)
		}
	}

	err = Checkout(ctx, r.dir, "deadbeef", t.TempDir())
	if err == nil || err.Error() != "repository "+r.dir+": no commit deadbeef" {
		t.Errorf("unknown commit: %v", err)
	}
}

// The builder image holds the ferry binary of this repository's HEAD, and the
// environment that finds the mounted toolchain. HEAD, checked out with Checkout,
// rather than the working tree, where work in progress may not compile.
func TestPushBuilder(t *testing.T) {
	reg := testenv.StartRegistry(t, false)
	ctx := context.Background()
	tc, err := HostToolchain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := git.PlainOpenWithOptions("../..", &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if err := Checkout(ctx, "../..", head.Hash().String(), src); err != nil {
		t.Fatal(err)
	}
	ref := BuilderRef(reg.Addr, "9.9.9-test")
	res, err := PushBuilder(ctx, BuilderOptions{Dir: src, Ref: ref, Version: "9.9.9-test", Toolchain: tc})
	if err != nil {
		t.Fatal(err)
	}
	img := pull(t, ref, res.Digest)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cf.Config.Env, " "); got != strings.Join(tc.Env(), " ") {
		t.Errorf("builder env %s", got)
	}
	if out := runEntry(t, img, "app", "version"); !strings.Contains(out, "9.9.9-test") {
		t.Errorf("ferry version in the builder image: %q", out)
	}
	if _, ok := entries(t, img)["tmp/"]; !ok {
		t.Error("the builder image has no /tmp")
	}
}

// pull fetches ref from the registry and checks that it is the digest pushed.
func pull(t *testing.T, ref, digest string) v1.Image {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if d.String() != digest || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("%s is %s in the registry, Build said %q", ref, d, digest)
	}
	return img
}

// entries reads every file of the image's layers.
func entries(t *testing.T, img v1.Image) map[string][]byte {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[hdr.Name] = b
		}
		rc.Close()
	}
	return files
}

// runEntry runs an executable of the image here (both are linux/amd64) and returns
// what it prints.
func runEntry(t *testing.T, img v1.Image, path string, args ...string) string {
	t.Helper()
	b, ok := entries(t, img)[path]
	if !ok {
		t.Fatalf("the image has no %s", path)
	}
	bin := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", path, args, err, out)
	}
	return string(out)
}
