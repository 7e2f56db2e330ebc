// Package testenv starts a real kube-apiserver and etcd for integration tests, from the
// binaries the dev cluster builds into its cache (`ferry dev build` or `make integration`
// builds them first).
package testenv

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"ferry.dev/ferry/internal/kubebin"
)

// ServiceCIDR is the API server's Service range, the same as the dev cluster's.
const ServiceCIDR = "10.96.0.0/16"

// Start runs an API server for the test and stops it when the test ends, with the
// CustomResourceDefinitions in crdPaths (files or directories) installed. A missing
// binary fails the test: integration tests never pass by not running.
func Start(t *testing.T, crdPaths ...string) *rest.Config {
	t.Helper()
	cache := kubebin.Cache{Dir: kubebin.DefaultDir()}
	for env, bin := range map[string]string{
		"TEST_ASSET_KUBE_APISERVER": cache.Bin("kube-apiserver"),
		"TEST_ASSET_ETCD":           cache.Bin("etcd"),
	} {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s is missing (%v); run `ferry dev build` or `make integration`", bin, err)
		}
		t.Setenv(env, bin)
	}
	env := &envtest.Environment{CRDDirectoryPaths: crdPaths, ErrorIfCRDPathMissing: len(crdPaths) > 0}
	api := env.ControlPlane.GetAPIServer().Configure()
	api.Set("service-cluster-ip-range", ServiceCIDR)
	api.Set("authorization-mode", "RBAC")
	rc, err := env.Start()
	if err != nil {
		t.Fatalf("starting the API server: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the API server: %v", err)
		}
	})
	return rc
}

// ModuleDir downloads a Go module through the module proxy (or finds it in the module
// cache) and returns its directory; tests install CRDs from the projects' own modules.
func ModuleDir(t *testing.T, moduleAtVersion string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", moduleAtVersion).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", moduleAtVersion, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("go mod download %s: %s %v", moduleAtVersion, m.Error, err)
	}
	return m.Dir
}
