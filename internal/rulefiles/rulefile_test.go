package rulefiles

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// promRule is a PrometheusRule as the API server returns it, with fields a Prometheus
// 2.42 rule file must not carry.
func promRule() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
		"metadata": map[string]any{"name": "hello", "namespace": "shop"},
		"spec": map[string]any{"groups": []any{
			map[string]any{
				"name": "hello.ferry.rules", "interval": "30s", "limit": int64(10),
				"query_offset": "1m", "partial_response_strategy": "warn",
				"rules": []any{
					map[string]any{
						"alert": "HelloCrashLooping", "expr": `max_over_time(up{job="x"}[5m]) >= 1`, "for": "1m",
						"keep_firing_for": "2m",
						"labels":          map[string]any{"slack_channel": "#shop", "email": "a@x.test,b@x.test"},
						"annotations":     map[string]any{"summary": "hello pod {{ $labels.pod }} is crash looping"},
					},
					map[string]any{"record": "shop:one", "expr": int64(1)},
				},
			},
		}},
	}}
}

const wantFile = `groups:
- interval: 30s
  limit: 10
  name: hello.ferry.rules
  rules:
  - alert: HelloCrashLooping
    annotations:
      summary: hello pod {{ $labels.pod }} is crash looping
    expr: max_over_time(up{job="x"}[5m]) >= 1
    for: 1m
    keep_firing_for: 2m
    labels:
      email: a@x.test,b@x.test
      slack_channel: '#shop'
  - expr: "1"
    record: shop:one
`

func TestRenderKeepsWhatPrometheusReads(t *testing.T) {
	got, err := Render(promRule())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != wantFile {
		t.Fatalf("rule file:\n%s\nwant:\n%s", got, wantFile)
	}
	// The Prometheus the dev cluster runs accepts it, where its promtool is installed.
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed; the file is not checked by Prometheus' own parser")
		return
	}
	file := filepath.Join(t.TempDir(), FileName("shop", "hello"))
	if err := os.WriteFile(file, got, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

func TestRenderRefusesAMalformedSpec(t *testing.T) {
	r := promRule()
	r.Object["spec"] = map[string]any{"groups": "not a list"}
	if _, err := Render(r); err == nil {
		t.Fatal("no error for groups that are not a list")
	}
}

func TestSyncWritesChangedFilesAndRemovesStaleOnes(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"gone_rule.yaml": "groups: []\n", "README": "not ours\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]byte{"shop_a.yaml": []byte("groups: [a]\n"), "shop_b.yaml": []byte("groups: [b]\n")}
	steps := []struct {
		name        string
		want        map[string][]byte
		wantChanged bool
		wantFiles   []string
	}{
		{"first sync writes and removes", want, true, []string{"README", "shop_a.yaml", "shop_b.yaml"}},
		{"the same files again change nothing", want, false, []string{"README", "shop_a.yaml", "shop_b.yaml"}},
		{"a changed rule and a deleted one", map[string][]byte{"shop_a.yaml": []byte("groups: [a2]\n")}, true, []string{"README", "shop_a.yaml"}},
		{"no rules left", map[string][]byte{}, true, []string{"README"}},
	}
	for _, s := range steps {
		changed, err := Sync(dir, s.want)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if changed != s.wantChanged {
			t.Errorf("%s: changed = %v", s.name, changed)
		}
		if got := list(t, dir); !slices.Equal(got, s.wantFiles) {
			t.Errorf("%s: files %v, want %v", s.name, got, s.wantFiles)
		}
		for name, body := range s.want {
			if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != string(body) {
				t.Errorf("%s: %s holds %q", s.name, name, b)
			}
		}
	}
}

func list(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}
