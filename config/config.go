// Package config embeds the generated Kubernetes manifests (CustomResourceDefinitions in
// crd/, the controller's role in rbac/) so that `ferry install` can apply them.
package config

import (
	"embed"
	"io/fs"
	"sort"
)

//go:embed crd/*.yaml
var crds embed.FS

// CRDs returns the CustomResourceDefinition manifests, in name order.
func CRDs() ([][]byte, error) {
	names, err := fs.Glob(crds, "crd/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([][]byte, 0, len(names))
	for _, n := range names {
		b, err := crds.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
