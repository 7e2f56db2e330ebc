// Package rulefiles turns prometheus-operator PrometheusRule objects into Prometheus rule
// files: it watches them in every namespace, writes each one's groups to a file in a
// directory that Prometheus's config lists under rule_files, removes the files of deleted
// rules, and asks Prometheus to reload when the files changed.
//
// The dev cluster needs it because its Prometheus is a plain process (Debian's), with no
// Prometheus operator to do this; with the operator, its own config reloader does it.
package rulefiles

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"ferry.dev/ferry/internal/reloader"
)

// ruleFile is a Prometheus rule file.
type ruleFile struct {
	Groups []group `json:"groups"`
}

// group and rule hold the fields of a PrometheusRule's groups that Prometheus 2.42 reads
// from a rule file, under the same names; the others (query_offset, group labels,
// Thanos' partial_response_strategy) are left out, as the operator leaves out what the
// Prometheus it configures does not know, since one unknown field fails the whole reload.
type group struct {
	Name     string `json:"name"`
	Interval string `json:"interval,omitempty"`
	Limit    *int   `json:"limit,omitempty"`
	Rules    []rule `json:"rules"`
}

type rule struct {
	Record        string             `json:"record,omitempty"`
	Alert         string             `json:"alert,omitempty"`
	Expr          intstr.IntOrString `json:"expr"`
	For           string             `json:"for,omitempty"`
	KeepFiringFor string             `json:"keep_firing_for,omitempty"`
	Labels        map[string]string  `json:"labels,omitempty"`
	Annotations   map[string]string  `json:"annotations,omitempty"`
}

// FileName is the rule file of a PrometheusRule. Neither a namespace nor an object name
// can hold "_", so no two rules share a file.
func FileName(namespace, name string) string { return namespace + "_" + name + ".yaml" }

// Render is the rule file of one PrometheusRule object.
func Render(obj *unstructured.Unstructured) ([]byte, error) {
	spec, _, err := unstructured.NestedMap(obj.Object, "spec")
	if err != nil {
		return nil, fmt.Errorf("prometheusrule %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	var f ruleFile
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(spec, &f); err != nil {
		return nil, fmt.Errorf("prometheusrule %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	for i, g := range f.Groups {
		for j, r := range g.Rules {
			// An expression written as a bare number is still an expression.
			f.Groups[i].Rules[j].Expr = intstr.FromString(r.Expr.String())
		}
	}
	if f.Groups == nil {
		f.Groups = []group{}
	}
	return yaml.Marshal(f)
}

// Sync makes dir hold exactly the given rule files (name -> content), rewriting only the
// ones that differ, and reports whether any file was written or removed. Files not
// ending in .yaml are not its own and are left alone.
func Sync(dir string, want map[string][]byte) (bool, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	changed := false
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".yaml") || strings.HasPrefix(name, ".") {
			continue
		}
		if _, keep := want[name]; keep {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return changed, err
		}
		changed = true
	}
	for name, b := range want {
		have, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil && bytes.Equal(have, b) {
			continue
		}
		// A dot name not ending in .yaml: a reload meanwhile skips the temporary file.
		if err := reloader.WriteFile(filepath.Join(dir, name), b, 0o644, "rules"); err != nil {
			return changed, err
		}
		changed = true
	}
	return changed, nil
}
