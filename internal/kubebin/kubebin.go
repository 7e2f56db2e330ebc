// Package kubebin builds the local cluster's binaries (kube-apiserver and the other
// Kubernetes components, etcd, CoreDNS, kwok), and Argo Rollouts' controller for the
// comparison benchmark, once from their Go modules into a cache outside the repository,
// checks them against the checksums recorded at build time, and says where each one is.
package kubebin

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Versions of the components built from their Go modules.
const (
	kubernetesVersion = "v1.36.3"
	etcdVersion       = "v3.6.7"
	corednsVersion    = "v1.14.7"
	kwokVersion       = "v0.8.0"
	traefikVersion    = "v3.5.4"
)

//go:embed assets
var assets embed.FS

// component is a set of binaries built together from Go modules into the cache.
type component struct {
	name    string
	version string
	bins    []string
	// module is the embedded helper module (assets/NAME) or "" for a plain go install.
	module string
	// pkgs are the packages built (go build) or installed (go install PKG@VERSION).
	pkgs    []string
	ldflags string
	// writeModule, when set, writes the helper module into the directory it is given
	// at build time, in place of an embedded one.
	writeModule func(src string) error
	// afterBuild, when set, writes what goes beside the binaries in the directory it
	// is given.
	afterBuild func(dir string) error
}

func components() []component {
	v := "k8s.io/component-base/version"
	return []component{
		{
			name: "kubernetes", version: kubernetesVersion, module: "kubernetes",
			bins: []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"},
			pkgs: []string{"k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager",
				"k8s.io/kubernetes/cmd/kube-scheduler", "k8s.io/kubernetes/cmd/kubelet", "k8s.io/kubernetes/cmd/kube-proxy"},
			// Stamp the version the way Kubernetes' own build does; components compare it.
			ldflags: fmt.Sprintf("-X %s.gitVersion=%s -X %s.gitMajor=1 -X %s.gitMinor=36 -X %s.gitTreeState=clean",
				v, kubernetesVersion, v, v, v),
		},
		{name: "etcd", version: etcdVersion, module: "etcd", bins: []string{"etcd"}, pkgs: []string{"go.etcd.io/etcd/server/v3"}},
		{name: "coredns", version: corednsVersion, bins: []string{"coredns"}, pkgs: []string{"github.com/coredns/coredns@" + corednsVersion}},
		{name: "kwok", version: kwokVersion, bins: []string{"kwok"}, pkgs: []string{"sigs.k8s.io/kwok/cmd/kwok@" + kwokVersion}},
		{name: "traefik", version: traefikVersion, module: "traefik", bins: []string{"traefik"}, pkgs: []string{"github.com/traefik/traefik/v3/cmd/traefik"},
			ldflags: "-X github.com/traefik/traefik/v3/pkg/version.Version=" + traefikVersion},
	}
}

// Cache is the directory that holds the built binaries (bin/) and the helper modules
// they are built from (src/).
type Cache struct {
	Dir string
	// Log receives progress lines; nil discards them.
	Log func(format string, args ...any)
}

// DefaultDir is $FERRY_CACHE_DIR, or ~/.cache/ferry.
func DefaultDir() string {
	if d := os.Getenv("FERRY_CACHE_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/root"
	}
	return filepath.Join(home, ".cache", "ferry")
}

func (c Cache) logf(format string, args ...any) {
	if c.Log != nil {
		c.Log(format, args...)
	}
}

// BinDir is the directory of every built binary.
func (c Cache) BinDir() string { return filepath.Join(c.Dir, "bin") }

// componentDir is where a component's binaries live: one directory per version.
func (c Cache) componentDir(comp component) string {
	return filepath.Join(c.BinDir(), comp.name+"-"+comp.version)
}

// Bin is the path of a built binary (kube-apiserver, etcd, coredns, kwok...).
func (c Cache) Bin(name string) string {
	for _, comp := range components() {
		for _, b := range comp.bins {
			if b == name {
				return filepath.Join(c.componentDir(comp), b)
			}
		}
	}
	return name
}

// GatewayCRDs is the Gateway API's standard-channel CRDs, of the version Traefik
// implements, written beside the traefik binary.
func (c Cache) GatewayCRDs() string {
	return filepath.Join(filepath.Dir(c.Bin("traefik")), gatewayCRDsFile)
}

// KwokStages is the stage file written beside the kwok binary.
func (c Cache) KwokStages() string {
	return filepath.Join(filepath.Dir(c.Bin("kwok")), "stages.yaml")
}

// Ensure builds every component that is missing from the cache, and rebuilds one whose
// binaries no longer match the checksums recorded when it was built.
func (c Cache) Ensure() error {
	for _, comp := range components() {
		if err := c.ensure(comp); err != nil {
			return err
		}
	}
	return nil
}

// ensure builds comp unless its binaries are in the cache and match their checksums.
func (c Cache) ensure(comp component) error {
	err := c.verifyComponent(comp)
	if err == nil {
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		c.logf("  cache of %s %s is corrupted (%v); rebuilding", comp.name, comp.version, err)
	}
	c.logf("  building %s %s into %s (once; later runs reuse it)", comp.name, comp.version, c.componentDir(comp))
	if err := c.buildComponent(comp); err != nil {
		return fmt.Errorf("building %s %s: %w", comp.name, comp.version, err)
	}
	if err := c.verifyComponent(comp); err != nil {
		return fmt.Errorf("%s %s after build: %w", comp.name, comp.version, err)
	}
	return nil
}

const sumsFile = "SHA256SUMS"

// verifyComponent checks each binary against the checksums written after its build.
func (c Cache) verifyComponent(comp component) error {
	dir := c.componentDir(comp)
	want, err := os.ReadFile(filepath.Join(dir, sumsFile))
	if err != nil {
		return err
	}
	got, err := checksums(dir, comp.bins)
	if err != nil {
		return err
	}
	if !bytes.Equal(want, got) {
		return fmt.Errorf("checksums in %s differ from the binaries", filepath.Join(dir, sumsFile))
	}
	return nil
}

func checksums(dir string, bins []string) ([]byte, error) {
	var b strings.Builder
	for _, name := range bins {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), name)
	}
	return []byte(b.String()), nil
}

// buildComponent builds comp with the Go toolchain into its cache directory.
func (c Cache) buildComponent(comp component) error {
	dir := c.componentDir(comp)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ldflags := strings.TrimSpace("-s -w " + comp.ldflags)
	env := []string{"CGO_ENABLED=0", "GOBIN=" + dir}
	if comp.module == "" {
		args := append([]string{"install", "-trimpath", "-ldflags=" + ldflags}, comp.pkgs...)
		if err := c.goCmd(c.Dir, env, args...); err != nil {
			return err
		}
	} else {
		src, err := c.writeModule(comp)
		if err != nil {
			return err
		}
		if err := c.goCmd(src, env, "mod", "tidy"); err != nil {
			return err
		}
		out := dir + "/"
		if len(comp.pkgs) == 1 {
			// A single package is named explicitly: etcd's package path ends in /v3.
			out = filepath.Join(dir, comp.bins[0])
		}
		args := append([]string{"build", "-trimpath", "-ldflags=" + ldflags, "-o", out}, comp.pkgs...)
		if err := c.goCmd(src, env, args...); err != nil {
			return err
		}
	}
	if comp.name == "kwok" {
		if err := writeKwokStages(dir); err != nil {
			return err
		}
	}
	if comp.name == "traefik" {
		if err := c.writeGatewayCRDs(dir); err != nil {
			return err
		}
	}
	if comp.afterBuild != nil {
		if err := comp.afterBuild(dir); err != nil {
			return err
		}
	}
	sums, err := checksums(dir, comp.bins)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, sumsFile), sums, 0o644)
}

// writeModule writes comp's helper module into the cache, generated or embedded, and
// returns its directory.
func (c Cache) writeModule(comp component) (string, error) {
	if comp.writeModule == nil {
		return c.WriteModule(comp.module)
	}
	src := filepath.Join(c.Dir, "src", comp.module)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	return src, comp.writeModule(src)
}

// WriteModule copies an embedded helper module (go.mod.txt and friends) into the cache
// and returns its directory.
func (c Cache) WriteModule(name string) (string, error) {
	src := filepath.Join(c.Dir, "src", name)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	entries, err := assets.ReadDir("assets/" + name)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		b, err := assets.ReadFile("assets/" + name + "/" + e.Name())
		if err != nil {
			return "", err
		}
		target := filepath.Join(src, strings.TrimSuffix(e.Name(), ".txt"))
		if err := os.WriteFile(target, b, 0o644); err != nil {
			return "", err
		}
	}
	return src, nil
}

// goCmd runs the go command in dir, its output going to the progress stream.
func (c Cache) goCmd(dir string, env []string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, tailBytes(out.String(), 3000))
	}
	return nil
}

// tailBytes keeps the end of a long build log for an error message.
func tailBytes(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
