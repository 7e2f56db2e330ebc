package kubebin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
)

const gatewayCRDsFile = "gateway-api-crds.yaml"

// writeGatewayCRDs copies the standard-channel CRDs of the Gateway API module that
// Traefik's helper module resolved (the version Traefik's provider reads) into dir, as
// one YAML stream.
func (c Cache) writeGatewayCRDs(dir string) error {
	src := filepath.Join(c.Dir, "src", "traefik")
	cmd := exec.Command("go", "list", "-m", "-json", "sigs.k8s.io/gateway-api")
	cmd.Dir = src
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("finding the Gateway API module of Traefik's build: %w", err)
	}
	var mod struct{ Dir, Version string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return fmt.Errorf("finding the Gateway API module of Traefik's build: %q", out)
	}
	files, err := filepath.Glob(filepath.Join(mod.Dir, "config", "crd", "standard", "*.yaml"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no standard CRDs in %s", mod.Dir)
	}
	sort.Strings(files)
	var all bytes.Buffer
	fmt.Fprintf(&all, "# The Gateway API %s standard channel, from its Go module.\n", mod.Version)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		all.WriteString("---\n")
		all.Write(b)
	}
	return os.WriteFile(filepath.Join(dir, gatewayCRDsFile), all.Bytes(), 0o644)
}
