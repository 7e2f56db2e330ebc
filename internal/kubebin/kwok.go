package kubebin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// kwokStages are the stage files kwok plays: nodes become ready at once and keep their
// heartbeat and lease (without it the node controller marks their pods unready after
// about 40 s), pods run, complete and are deleted at once.
var kwokStages = []string{
	"node/fast/node-initialize.yaml",
	"node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
	"pod/fast/pod-ready.yaml",
	"pod/fast/pod-complete.yaml",
	"pod/fast/pod-delete.yaml",
}

// writeKwokStages copies kwok's stage files from its module into the cache beside the
// binary, so the cluster never reads the module cache at run time.
func writeKwokStages(dir string) error {
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	base := filepath.Join(strings.TrimSpace(string(modcache)), "sigs.k8s.io", "kwok@"+kwokVersion, "kustomize", "stage")
	var docs []string
	for _, s := range kwokStages {
		b, err := os.ReadFile(filepath.Join(base, s))
		if err != nil {
			return fmt.Errorf("kwok stage %s: %w", s, err)
		}
		docs = append(docs, strings.TrimSpace(string(b)))
	}
	return os.WriteFile(filepath.Join(dir, "stages.yaml"), []byte(strings.Join(docs, "\n---\n")+"\n"), 0o644)
}
