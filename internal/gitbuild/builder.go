package gitbuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"

	"ferry.dev/ferry/internal/imagebuild"
)

// BuilderRepository is the repository of the builder image in a registry.
const BuilderRepository = "ferry/builder"

// BuilderRef returns the builder image's reference for a ferry version.
func BuilderRef(registry, version string) string {
	return registry + "/" + BuilderRepository + ":" + version
}

// Toolchain is the host's Go installation. A build pod mounts both directories
// read-only from the host at the same paths, which the builder image's environment
// names.
type Toolchain struct {
	// GOROOT holds the go command (bin/go) and the standard library.
	GOROOT string
	// GOMODCACHE is the module cache the builds resolve their dependencies from.
	GOMODCACHE string
}

// HostToolchain asks the go command of this machine where its GOROOT and module
// cache are.
func HostToolchain(ctx context.Context) (Toolchain, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "-json", "GOROOT", "GOMODCACHE").Output()
	if err != nil {
		return Toolchain{}, fmt.Errorf("go env: %w", err)
	}
	var tc Toolchain
	if err := json.Unmarshal(out, &tc); err != nil {
		return Toolchain{}, fmt.Errorf("go env: %w", err)
	}
	if tc.GOROOT == "" || tc.GOMODCACHE == "" {
		return Toolchain{}, errors.New("go env gives no GOROOT or GOMODCACHE")
	}
	return tc, nil
}

// Env is the builder image's environment. The image runs as an unprivileged user
// with a read-only module cache, so HOME (and with it the build cache) is the image's
// /tmp; GOTOOLCHAIN=local keeps the go command from fetching another toolchain,
// which the pod could not.
func (tc Toolchain) Env() []string {
	return []string{
		"PATH=" + filepath.Join(tc.GOROOT, "bin") + ":/",
		"HOME=/tmp",
		"GOMODCACHE=" + tc.GOMODCACHE,
		"GOTOOLCHAIN=local",
	}
}

// BuilderOptions say which ferry checkout to build the builder image from.
type BuilderOptions struct {
	// Dir is a directory inside the ferry module.
	Dir string
	// Ref is where to push it, usually BuilderRef(registry, version).
	Ref string
	// Version is stamped into the binary as its buildinfo version.
	Version string
	// Toolchain is the Go installation the build pods will mount.
	Toolchain Toolchain
}

// PushBuilder builds the ferry binary into the image build Jobs run (`ferry build` is
// its entrypoint's verb) and pushes it. The image holds the binary and an empty /tmp
// only: the Go toolchain and module cache come from the host.
func PushBuilder(ctx context.Context, o BuilderOptions) (imagebuild.Result, error) {
	return imagebuild.Build(ctx, imagebuild.Options{
		Dir:      o.Dir,
		Package:  "./cmd/ferry",
		Ref:      o.Ref,
		LDFlags:  "-X ferry.dev/ferry/internal/buildinfo.Version=" + o.Version,
		Env:      o.Toolchain.Env(),
		Insecure: imagebuild.IsLoopback(o.Ref),
		Tmp:      true,
	})
}
