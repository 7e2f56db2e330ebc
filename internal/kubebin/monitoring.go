package kubebin

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The prometheus-operator's CRDs come from its Go module, at the version the render
// integration test checks rendered objects against. Only the kinds Ferry renders are
// installed: the others (Prometheus, Alertmanager...) would invite objects that nothing
// in the dev cluster acts on.
const (
	promOperatorModule  = "github.com/prometheus-operator/prometheus-operator"
	promOperatorVersion = "v0.85.0"
	promOperatorCRDDir  = "example/prometheus-operator-crd"
)

var monitoringCRDs = []string{"monitoring.coreos.com_podmonitors.yaml", "monitoring.coreos.com_prometheusrules.yaml",
	"monitoring.coreos.com_alertmanagerconfigs.yaml"}

// MonitoringCRDs is the file holding the prometheus-operator's PodMonitor,
// PrometheusRule and AlertmanagerConfig CRDs as one YAML stream, copied into the cache
// from the operator's Go module the first time it is asked for. The file's name holds
// the list's digest, so a cache made with fewer kinds is not taken as complete.
func (c Cache) MonitoringCRDs() (string, error) {
	sum := sha256.Sum256([]byte(strings.Join(monitoringCRDs, "\n")))
	file := filepath.Join(c.Dir, "crds", fmt.Sprintf("prometheus-operator-%s-%x.yaml", promOperatorVersion, sum[:4]))
	if _, err := os.Stat(file); err == nil {
		return file, nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return "", err
	}
	c.logf("  fetching the prometheus-operator %s CRDs from its Go module", promOperatorVersion)
	mod, err := downloadModule(filepath.Dir(file), promOperatorModule, promOperatorVersion)
	if err != nil {
		return "", err
	}
	var all bytes.Buffer
	fmt.Fprintf(&all, "# The prometheus-operator %s CRDs, from its Go module.\n", promOperatorVersion)
	for _, name := range monitoringCRDs {
		b, err := os.ReadFile(filepath.Join(mod.Dir, promOperatorCRDDir, name))
		if err != nil {
			return "", err
		}
		if !bytes.HasPrefix(b, []byte("---")) {
			all.WriteString("---\n")
		}
		all.Write(b)
	}
	return file, writeFileAtomic(file, all.Bytes())
}

// writeFileAtomic writes through a temporary file, so a run cut short leaves no half
// file that a later run would take as complete.
func writeFileAtomic(file string, b []byte) error {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
