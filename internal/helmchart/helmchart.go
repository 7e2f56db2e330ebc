// Package helmchart renders an application's Helm chart, from a local path or a chart
// repository, with the stage's merged values, using the Helm v3 SDK as `helm template`
// does: no cluster is contacted and hooks are left out.
package helmchart

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/repo"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"ferry.dev/ferry/internal/kubeapply"
)

// Ref says where a chart is: a local path (relative to Dir), or a name in a repository.
type Ref struct {
	Chart   string
	Repo    string
	Version string
	// Dir is the app file's directory, for local paths.
	Dir string
}

// maxChartBytes bounds what is read from a repository.
const maxChartBytes = 20 << 20

// Load reads the chart: a directory or .tgz on disk, or from a repository's index.
func Load(ctx context.Context, ref Ref) (*chart.Chart, error) {
	if ref.Repo == "" {
		path := ref.Chart
		if !filepath.IsAbs(path) {
			path = filepath.Join(ref.Dir, path)
		}
		ch, err := loader.Load(path)
		if err != nil {
			return nil, fmt.Errorf("loading chart %s: %w", ref.Chart, err)
		}
		return ch, nil
	}
	return fetch(ctx, ref)
}

// fetch reads the repository's index.yaml, picks the version (the newest when none is
// given) and downloads its archive.
func fetch(ctx context.Context, ref Ref) (*chart.Chart, error) {
	base := strings.TrimSuffix(ref.Repo, "/")
	body, err := get(ctx, base+"/index.yaml")
	if err != nil {
		return nil, fmt.Errorf("chart repository %s: %w", ref.Repo, err)
	}
	idx, err := loadIndex(body)
	if err != nil {
		return nil, fmt.Errorf("chart repository %s: index.yaml: %w", ref.Repo, err)
	}
	cv, err := idx.Get(ref.Chart, ref.Version)
	if err != nil {
		return nil, fmt.Errorf("chart %s version %q in %s: %w", ref.Chart, ref.Version, ref.Repo, err)
	}
	if len(cv.URLs) == 0 {
		return nil, fmt.Errorf("chart %s %s in %s has no download URL", ref.Chart, cv.Version, ref.Repo)
	}
	u, err := url.Parse(cv.URLs[0])
	if err != nil {
		return nil, err
	}
	b, err := url.Parse(base + "/")
	if err != nil {
		return nil, err
	}
	archive, err := get(ctx, b.ResolveReference(u).String())
	if err != nil {
		return nil, fmt.Errorf("downloading chart %s %s: %w", ref.Chart, cv.Version, err)
	}
	ch, err := loader.LoadArchive(strings.NewReader(string(archive)))
	if err != nil {
		return nil, fmt.Errorf("chart %s %s: %w", ref.Chart, cv.Version, err)
	}
	return ch, nil
}

func loadIndex(b []byte) (*repo.IndexFile, error) {
	idx := &repo.IndexFile{}
	if err := yaml.Unmarshal(b, idx); err != nil {
		return nil, err
	}
	if idx.APIVersion == "" {
		return nil, errors.New("no apiVersion: not a chart repository index")
	}
	idx.SortEntries()
	return idx, nil
}

func get(ctx context.Context, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxChartBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxChartBytes {
		return nil, fmt.Errorf("GET %s: more than %d bytes", u, maxChartBytes)
	}
	return b, nil
}

// Render renders the chart as release name in namespace with values, returning its
// objects in Helm's install order (hooks and notes are left out).
func Render(ch *chart.Chart, name, namespace string, values map[string]any) ([]*unstructured.Unstructured, error) {
	if err := chartutil.ProcessDependenciesWithMerge(ch, values); err != nil {
		return nil, fmt.Errorf("chart %s dependencies: %w", ch.Name(), err)
	}
	opts := chartutil.ReleaseOptions{Name: name, Namespace: namespace, Revision: 1, IsInstall: true}
	vals, err := chartutil.ToRenderValues(ch, values, opts, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, fmt.Errorf("chart %s values: %w", ch.Name(), err)
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		return nil, fmt.Errorf("rendering chart %s: %w", ch.Name(), err)
	}
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	_, manifests, err := releaseutil.SortManifests(files, chartutil.DefaultVersionSet, releaseutil.InstallOrder)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", ch.Name(), err)
	}
	var out []*unstructured.Unstructured
	for _, m := range manifests {
		objs, err := kubeapply.Decode([]byte(m.Content))
		if err != nil {
			return nil, fmt.Errorf("chart %s, %s: %w", ch.Name(), m.Name, err)
		}
		out = append(out, objs...)
	}
	return out, nil
}
