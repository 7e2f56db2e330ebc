// Package config embeds the Kubernetes manifests `ferry install` applies: the generated
// CustomResourceDefinitions in crd/ and the admission policies in admission/ (the
// controller's generated role is in rbac/).
package config

import (
	"embed"
	"io/fs"
	"sort"
)

//go:embed crd/*.yaml admission/*.yaml
var manifests embed.FS

// CRDs returns the CustomResourceDefinition manifests, in name order.
func CRDs() ([][]byte, error) { return read("crd/*.yaml") }

// Admission returns the admission policies (the API server's checks of who approves).
func Admission() ([][]byte, error) { return read("admission/*.yaml") }

func read(pattern string) ([][]byte, error) {
	names, err := fs.Glob(manifests, pattern)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([][]byte, 0, len(names))
	for _, n := range names {
		b, err := manifests.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
