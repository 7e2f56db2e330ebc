// Package gitbuild is the builder a build Job runs: it checks out one commit of a git
// repository and builds the app's (and optionally its tests') Go main package into
// images pushed with internal/imagebuild. It needs no git binary and no container
// engine, only the go command; the image it runs in is made by PushBuilder.
package gitbuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"ferry.dev/ferry/internal/imagebuild"
)

// Options say what to build from a checkout and where to push it.
type Options struct {
	// Dir is the checkout (see Checkout).
	Dir string
	// Package is the app's main package directory relative to the repository, for
	// example examples/hello.
	Package string
	// Image is the reference the app image is pushed to, REGISTRY/APP:VERSION.
	Image string
	// TestsPackage and TestsImage, both or neither, build the app's tests image.
	TestsPackage, TestsImage string
	// LDFlags are extra linker flags for both, for example -X main.version=1.2.0.
	LDFlags string
	// Log receives one line per step (the build log); nil is silent.
	Log func(format string, args ...any)
}

// Result holds the digests pushed. As JSON it is the build pod's termination message,
// from which the controller reads them.
type Result struct {
	// App is the app image's manifest digest, sha256:...
	App string `json:"app"`
	// Tests is the tests image's digest, empty when none was built.
	Tests string `json:"tests,omitempty"`
}

func (o Options) validate() error {
	if o.Dir == "" || o.Package == "" || o.Image == "" {
		return errors.New("a checkout dir, a package and an image are required")
	}
	if (o.TestsPackage == "") != (o.TestsImage == "") {
		return errors.New("a tests package and a tests image go together")
	}
	for _, p := range []string{o.Package, o.TestsPackage} {
		if p != "" && !filepath.IsLocal(p) {
			return fmt.Errorf("package %q is not a directory inside the repository", p)
		}
	}
	return nil
}

// Build builds and pushes the app image, then the tests image if asked.
func Build(ctx context.Context, o Options) (Result, error) {
	if err := o.validate(); err != nil {
		return Result{}, err
	}
	var res Result
	var err error
	if res.App, err = buildOne(ctx, o, o.Package, o.Image); err != nil {
		return Result{}, err
	}
	if o.TestsPackage != "" {
		if res.Tests, err = buildOne(ctx, o, o.TestsPackage, o.TestsImage); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// buildOne runs the go command in the package's own directory, so a package of a
// nested module builds as well as one of the repository's root module.
func buildOne(ctx context.Context, o Options, pkg, ref string) (string, error) {
	dir := filepath.Join(o.Dir, pkg)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("package %s: no such directory in the repository at this commit", pkg)
	}
	o.logf("building %s as %s", pkg, ref)
	res, err := imagebuild.Build(ctx, imagebuild.Options{
		Dir: dir, Package: ".", Ref: ref, LDFlags: o.LDFlags, Insecure: imagebuild.IsLoopback(ref),
	})
	if err != nil {
		return "", fmt.Errorf("package %s: %w", pkg, err)
	}
	o.logf("pushed %s", res.DigestRef())
	return res.Digest, nil
}

func (o Options) logf(format string, args ...any) {
	if o.Log != nil {
		o.Log(format, args...)
	}
}
