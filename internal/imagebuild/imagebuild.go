// Package imagebuild builds linux/amd64 OCI images from Go main packages without a
// container engine: a static binary is the image's layer (with an empty /tmp beside it
// when asked), and the image is pushed to a registry with go-containerregistry.
package imagebuild

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Options says what to build and where to push it.
type Options struct {
	// Dir is the directory the go command runs in (inside the package's module).
	Dir string
	// Package is the main package to build, as the go command takes it ("./examples/hello").
	Package string
	// Ref is the image reference to push, for example 127.0.0.1:5000/hello:1.0.0.
	Ref string
	// LDFlags are extra linker flags (for example -X main.version=1.0.0).
	LDFlags string
	// Env is the image's environment (KEY=VALUE).
	Env []string
	// Insecure pushes over plain HTTP, as to the local registry.
	Insecure bool
	// Tmp adds an empty /tmp that every user may write (mode 1777), for programs that
	// keep temporary files or caches there; the image runs as an unprivileged user.
	Tmp bool
}

// IsLoopback reports whether an image reference names a registry on this machine, which
// is spoken to over plain HTTP.
func IsLoopback(ref string) bool {
	return strings.HasPrefix(ref, "127.0.0.1:") || strings.HasPrefix(ref, "localhost:")
}

// binaryPath is where the binary sits inside the image.
const binaryPath = "/app"

// Result is what was pushed.
type Result struct {
	Ref    string // the reference pushed
	Digest string // the manifest digest, sha256:...
}

// DigestRef returns the reference pinned by digest (REPO@sha256:...).
func (r Result) DigestRef() string {
	repo := r.Ref
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo + "@" + r.Digest
}

// Build compiles opts.Package as a static linux/amd64 binary and pushes an image that runs
// it, returning the digest the registry stores.
func Build(ctx context.Context, opts Options) (Result, error) {
	tmp, err := os.MkdirTemp("", "ferry-image-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "app")
	if err := goBuild(ctx, opts, bin); err != nil {
		return Result{}, err
	}
	img, err := Image(bin, opts.Env)
	if err != nil {
		return Result{}, err
	}
	if opts.Tmp {
		if img, err = WithTmp(img); err != nil {
			return Result{}, err
		}
	}
	return Push(ctx, img, opts.Ref, opts.Insecure)
}

func goBuild(ctx context.Context, opts Options, out string) error {
	args := []string{"build", "-trimpath", "-ldflags=-s -w " + opts.LDFlags, "-o", out, opts.Package}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = opts.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s: %w\n%s", opts.Package, err, stderr.String())
	}
	return nil
}

// Image makes a linux/amd64 image whose only layer holds the binary at /app, its
// entrypoint. Its PATH is / unless env sets one.
func Image(binary string, env []string) (v1.Image, error) {
	layer, err := binaryLayer(binary)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.AppendLayers(img, layer)
	if err != nil {
		return nil, fmt.Errorf("adding layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config.Entrypoint = []string{binaryPath}
	cf.Config.Env = env
	if !hasKey(env, "PATH") {
		cf.Config.Env = append([]string{"PATH=/"}, env...)
	}
	// Run as an unprivileged user; the binary needs nothing else.
	cf.Config.User = "65532:65532"
	return mutate.ConfigFile(img, cf)
}

// hasKey reports whether env (KEY=VALUE) sets key: a second PATH would leave the
// runtime to pick one.
func hasKey(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}

// WithTmp adds a layer holding an empty /tmp with mode 1777, so an unprivileged
// process can write temporary files.
func WithTmp(img v1.Image) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Name: "tmp/", Mode: 0o1777, ModTime: time.Unix(0, 0), Typeflag: tar.TypeDir}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarLayer(buf.Bytes())
	if err != nil {
		return nil, err
	}
	return mutate.AppendLayers(img, layer)
}

// binaryLayer packs the binary into an uncompressed tar at /app, with fixed times so the
// same binary always gives the same digest.
func binaryLayer(binary string) (v1.Layer, error) {
	data, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Name: strings.TrimPrefix(binaryPath, "/"), Mode: 0o755, Size: int64(len(data)),
		ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return tarLayer(buf.Bytes())
}

// tarLayer makes an uncompressed OCI layer of a tar archive.
func tarLayer(b []byte) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// Push writes img to ref and returns the digest.
func Push(ctx context.Context, img v1.Image, ref string, insecure bool) (Result, error) {
	var nameOpts []name.Option
	if insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	tag, err := name.ParseReference(ref, nameOpts...)
	if err != nil {
		return Result{}, fmt.Errorf("image reference %q: %w", ref, err)
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx)); err != nil {
		return Result{}, fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return Result{}, err
	}
	return Result{Ref: ref, Digest: d.String()}, nil
}
