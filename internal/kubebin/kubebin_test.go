package kubebin

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVerifyDetectsACorruptedBinary(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	comp := component{name: "etcd", version: "v0", bins: []string{"etcd"}}
	dir := c.componentDir(comp)
	if err := c.verifyComponent(comp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("empty cache: err = %v, want not-exist", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "etcd")
	if err := os.WriteFile(bin, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	sums, err := checksums(dir, comp.bins)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, sumsFile), sums, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.verifyComponent(comp); err != nil {
		t.Fatalf("intact cache: %v", err)
	}
	if err := os.WriteFile(bin, []byte("truncat"), 0o755); err != nil {
		t.Fatal(err)
	}
	err = c.verifyComponent(comp)
	if err == nil || errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "differ") {
		t.Fatalf("corrupted cache: err = %v", err)
	}
}

func TestBinFindsEachComponent(t *testing.T) {
	c := Cache{Dir: "/cache"}
	for name, want := range map[string]string{
		"kube-apiserver": "/cache/bin/kubernetes-" + kubernetesVersion + "/kube-apiserver",
		"etcd":           "/cache/bin/etcd-" + etcdVersion + "/etcd",
		"kwok":           "/cache/bin/kwok-" + kwokVersion + "/kwok",
	} {
		if got := c.Bin(name); got != want {
			t.Errorf("Bin(%s) = %s, want %s", name, got, want)
		}
	}
}
