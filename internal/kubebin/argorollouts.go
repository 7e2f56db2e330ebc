package kubebin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Argo Rollouts' controller is built from its Go module for `ferry bench argo-canary`,
// which times Argo Rollouts' own canary on the dev cluster beside Ferry's. It is not
// part of the dev cluster: it is built the first time the benchmark asks for it.
const (
	argoRolloutsModule  = "github.com/argoproj/argo-rollouts"
	argoRolloutsVersion = "v1.8.3"
)

// argoRolloutsCRDs are the kinds whose informers the controller waits for before it
// reconciles anything (its experiment controller runs whether or not it is used).
var argoRolloutsCRDs = []string{"rollout-crd.yaml", "analysis-run-crd.yaml", "analysis-template-crd.yaml",
	"cluster-analysis-template-crd.yaml", "experiment-crd.yaml"}

const argoRolloutsCRDsFile = "argo-rollouts-crds.yaml"

func argoRollouts() component {
	return component{
		name: "argo-rollouts", version: argoRolloutsVersion, module: "argo-rollouts",
		bins:        []string{"rollouts-controller"},
		pkgs:        []string{argoRolloutsModule + "/cmd/rollouts-controller"},
		ldflags:     "-X " + argoRolloutsModule + "/utils/version.version=" + argoRolloutsVersion,
		writeModule: writeArgoRolloutsModule,
		afterBuild:  writeArgoRolloutsCRDs,
	}
}

// ArgoRollouts is a build of Argo Rollouts' controller in the cache.
type ArgoRollouts struct {
	// Version is the Argo Rollouts release.
	Version string
	// Controller is the rollouts-controller binary.
	Controller string
	// CRDs is the file holding the CRDs the controller needs, as one YAML stream.
	CRDs string
}

// EnsureArgoRollouts builds Argo Rollouts' controller into the cache unless a build
// matching its recorded checksums is there, and says where it and its CRDs are.
func (c Cache) EnsureArgoRollouts() (ArgoRollouts, error) {
	comp := argoRollouts()
	if err := c.ensure(comp); err != nil {
		return ArgoRollouts{}, err
	}
	dir := c.componentDir(comp)
	return ArgoRollouts{Version: comp.version, Controller: filepath.Join(dir, comp.bins[0]), CRDs: filepath.Join(dir, argoRolloutsCRDsFile)}, nil
}

// writeArgoRolloutsModule writes the helper module that builds the controller. Argo
// Rollouts requires k8s.io/* at v0.0.0 and replaces them with real versions in its own
// go.mod; replace lines of a dependency do not apply to the module that requires it, so
// they are copied from that go.mod here.
func writeArgoRolloutsModule(src string) error {
	mod, err := downloadModule(filepath.Dir(src), argoRolloutsModule, argoRolloutsVersion)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(mod.GoMod)
	if err != nil {
		return err
	}
	replaces, err := replaceLines(b)
	if err != nil {
		return fmt.Errorf("%s: %w", mod.GoMod, err)
	}
	gomod := fmt.Sprintf("module ferry.dev/devcluster/argo-rollouts\n\ngo 1.26\n\nrequire %s %s\n\n// Copied from %s@%s's go.mod.\n%s",
		argoRolloutsModule, argoRolloutsVersion, argoRolloutsModule, argoRolloutsVersion, replaces)
	tools := "//go:build tools\n\n// Package tools pins Argo Rollouts' controller, which `ferry bench argo-canary` runs.\npackage tools\n\nimport _ \"" +
		argoRolloutsModule + "/cmd/rollouts-controller\"\n"
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(src, "tools.go"), []byte(tools), 0o644)
}

// replaceLines returns a go.mod's replace directives, single lines and blocks alike.
func replaceLines(gomod []byte) (string, error) {
	var out strings.Builder
	inBlock := false
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case inBlock:
			out.WriteString(line + "\n")
			inBlock = line != ")"
		case strings.HasPrefix(line, "replace ("):
			out.WriteString(line + "\n")
			inBlock = true
		case strings.HasPrefix(line, "replace "):
			out.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if inBlock {
		return "", errors.New("unterminated replace block")
	}
	return out.String(), nil
}

// writeArgoRolloutsCRDs copies the CRDs the controller needs from Argo Rollouts' module
// into dir, as one YAML stream.
func writeArgoRolloutsCRDs(dir string) error {
	mod, err := downloadModule(dir, argoRolloutsModule, argoRolloutsVersion)
	if err != nil {
		return err
	}
	var all bytes.Buffer
	fmt.Fprintf(&all, "# Argo Rollouts %s CRDs, from its Go module.\n", argoRolloutsVersion)
	for _, name := range argoRolloutsCRDs {
		b, err := os.ReadFile(filepath.Join(mod.Dir, "manifests", "crds", name))
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(b, []byte("---")) {
			all.WriteString("---\n")
		}
		all.Write(b)
	}
	return os.WriteFile(filepath.Join(dir, argoRolloutsCRDsFile), all.Bytes(), 0o644)
}

// module is what `go mod download -json` says of a module.
type module struct{ Dir, GoMod, Error string }

// downloadModule fetches a module version into the module cache (or finds it there).
func downloadModule(dir, path, version string) (module, error) {
	cmd := exec.Command("go", "mod", "download", "-json", path+"@"+version)
	cmd.Dir = dir
	out, err := cmd.Output()
	var mod module
	jerr := json.Unmarshal(out, &mod)
	if err != nil {
		return module{}, fmt.Errorf("go mod download %s@%s: %s: %w", path, version, mod.Error, err)
	}
	if jerr != nil || mod.Dir == "" {
		return module{}, fmt.Errorf("go mod download %s@%s named no module directory: %q", path, version, out)
	}
	return mod, nil
}
