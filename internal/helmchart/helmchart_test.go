package helmchart

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"
)

func TestRenderLocalChartWithValues(t *testing.T) {
	ch, err := Load(context.Background(), Ref{Chart: "testdata/web"})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Render(ch, "shop", "shop-ns", map[string]any{"replicas": 3, "image": map[string]any{"tag": "1.4.2"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].GetKind() != "Service" || objs[1].GetKind() != "Deployment" {
		t.Fatalf("want Service then Deployment (install order), got %d objects", len(objs))
	}
	d := objs[1]
	replicas, _, _ := unstructuredInt(d.Object, "spec", "replicas")
	if replicas != 3 || d.GetNamespace() != "shop-ns" || d.GetName() != "shop" {
		t.Errorf("deployment %s/%s replicas %d", d.GetNamespace(), d.GetName(), replicas)
	}
	containers, _ := d.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
	if img := containers[0].(map[string]any)["image"]; img != "registry.example.com/web:1.4.2" {
		t.Errorf("image %v: values did not merge over the chart's defaults", img)
	}
}

func unstructuredInt(m map[string]any, path ...string) (int64, bool, error) {
	var cur any = m
	for _, p := range path {
		cur = cur.(map[string]any)[p]
	}
	switch v := cur.(type) {
	case int64:
		return v, true, nil
	case float64:
		return int64(v), true, nil
	case int:
		return int64(v), true, nil
	}
	return 0, false, nil
}

// TestLoadFromRepository serves a real chart repository (index.yaml and a packaged
// chart) on loopback and picks versions from it.
func TestLoadFromRepository(t *testing.T) {
	dir := t.TempDir()
	for _, version := range []string{"1.2.0", "1.3.0"} {
		ch, err := loader.Load("testdata/web")
		if err != nil {
			t.Fatal(err)
		}
		ch.Metadata.Version = version
		if _, err := chartutil.Save(ch, dir); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	idx, err := repo.IndexDirectory(dir, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}

	ch, err := Load(context.Background(), Ref{Chart: "web", Repo: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Metadata.Version != "1.3.0" {
		t.Errorf("no version asked: got %s, want the newest 1.3.0", ch.Metadata.Version)
	}
	ch, err = Load(context.Background(), Ref{Chart: "web", Repo: srv.URL, Version: "1.2.0"})
	if err != nil || ch.Metadata.Version != "1.2.0" {
		t.Fatalf("version 1.2.0: %v %v", ch, err)
	}
	for name, ref := range map[string]Ref{
		"missing version": {Chart: "web", Repo: srv.URL, Version: "9.9.9"},
		"missing chart":   {Chart: "api", Repo: srv.URL},
		"no repository":   {Chart: "web", Repo: srv.URL + "/nothing"},
	} {
		if _, err := Load(context.Background(), ref); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(err.Error(), srv.URL) {
			t.Errorf("%s: error does not name the repository: %v", name, err)
		}
	}
	_ = os.Remove(filepath.Join(dir, "index.yaml"))
}
