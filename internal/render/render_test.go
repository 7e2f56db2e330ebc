package render

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/traffic"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenCases render every stage of every file in testdata/apps.
func goldenCases(t testing.TB) []Input {
	t.Helper()
	files, err := filepath.Glob("testdata/apps/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test apps: %v", err)
	}
	var out []Input
	for _, file := range files {
		f, err := appfile.Load(file, appfile.Options{})
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, st := range f.App.AllStages() {
			app, err := f.Resolve(appfile.TemplateContext{Version: "1.4.2", TestsImage: "registry.example.com/x-tests:1.4.2", Hosts: []string{"apps.example.com"}})
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			out = append(out, Input{App: app, Stage: st.Name, Version: "1.4.2", Dir: filepath.Dir(file),
				Cluster: Cluster{Name: st.Target[0].ClusterID[0], Hosts: []string{"apps.example.com"}, PrometheusURL: "http://prometheus.monitoring:9090"}})
		}
	}
	return out
}

func goldenName(in Input) string {
	return in.App.Build.Artifact + "-" + in.Stage
}

func TestGolden(t *testing.T) {
	for _, in := range goldenCases(t) {
		t.Run(goldenName(in), func(t *testing.T) {
			objs, err := Objects(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := YAML(objs)
			if err != nil {
				t.Fatal(err)
			}
			rules, err := RuleFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got = append(append(got, "# rule file\n"...), rules...)
			path := filepath.Join("testdata", "golden", goldenName(in)+".yaml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("rendered output differs from %s (run go test -update and review the diff)", path)
			}
		})
	}
}

func TestRenderChoices(t *testing.T) {
	objs := map[string]map[string]bool{}
	for _, in := range goldenCases(t) {
		list, err := Objects(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]bool{}
		for _, o := range list {
			kinds[o.GetKind()] = true
			if in.App.Deploy.Helm.Chart != "" {
				if o.GetLabels()["ferry.dev/version"] != "1.4.2" {
					t.Errorf("%s %s lacks the ferry.dev/version label", goldenName(in), o.GetKind())
				}
				continue
			}
			if o.GetLabels()[labelVersion] != "1.4.2" || o.GetLabels()[labelManagedBy] != "ferry" {
				t.Errorf("%s %s lacks the recommended labels: %v", goldenName(in), o.GetKind(), o.GetLabels())
			}
		}
		objs[goldenName(in)] = kinds
	}
	for name, want := range map[string]map[string]bool{
		// dev turns scaling off: no autoscaler, a fixed count of scaling.min replicas.
		"shop-dev": {"HorizontalPodAutoscaler": false, "PodDisruptionBudget": true, "ScaledObject": false, "PodMonitor": true, "Ingress": true},
		// prod scales on CPU with a plain HPA.
		"shop-prod": {"HorizontalPodAutoscaler": true, "PodDisruptionBudget": true, "ScaledObject": false},
		// Prometheus queries and cron windows need KEDA, which then owns the HPA.
		"catalog-api-prod": {"HorizontalPodAutoscaler": false, "ScaledObject": true},
		"tiny-dev":         {"HorizontalPodAutoscaler": false, "PodMonitor": false, "Deployment": true, "PrometheusRule": true},
		// A chart's objects replace the built-in ones.
		"web-prod": {"Deployment": true, "Service": true, "ServiceAccount": false, "PrometheusRule": false},
	} {
		for kind, present := range want {
			if objs[name][kind] != present {
				t.Errorf("%s: %s present = %v, want %v", name, kind, objs[name][kind], present)
			}
		}
	}
}

func TestRenderNeedsAVersionAndAStage(t *testing.T) {
	in := goldenCases(t)[0]
	in.Version = ""
	if _, err := Objects(context.Background(), in); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("err = %v", err)
	}
	in = goldenCases(t)[0]
	in.Stage = "nope"
	if _, err := Objects(context.Background(), in); err == nil || !strings.Contains(err.Error(), `no stage "nope"`) {
		t.Errorf("err = %v", err)
	}
}

// TestHTTPRoute: a cluster with a Gateway gets a route to the Service at the
// application's host, beside the Ingress; a cluster without one gets none.
func TestHTTPRoute(t *testing.T) {
	for _, in := range goldenCases(t) {
		if goldenName(in) != "shop-dev" {
			continue
		}
		in.Cluster.Gateway = &traffic.Gateway{Namespace: "gateways", Name: "web"}
		objs, err := Objects(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		var route *unstructured.Unstructured
		for _, o := range objs {
			if o.GetKind() == "HTTPRoute" {
				route = o
			}
		}
		if route == nil {
			t.Fatal("no HTTPRoute")
		}
		hosts, _, _ := unstructured.NestedStringSlice(route.Object, "spec", "hostnames")
		rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
		parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
		if route.GetName() != "shop" || route.GetNamespace() != in.App.Deploy.Namespace || len(hosts) != 1 || hosts[0] != "shop."+in.App.Deploy.Namespace+"."+in.Cluster.Hosts[0] ||
			len(rules) != 1 || len(parents) != 1 || route.GetLabels()[labelVersion] != "1.4.2" {
			t.Errorf("route: %v", route.Object)
		}
		backends, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "backendRefs")
		if b := backends[0].(map[string]any); len(backends) != 1 || b["name"] != "shop" || b["port"] != int64(ServicePort) {
			t.Errorf("backends: %v", backends)
		}
		return
	}
	t.Fatal("no shop-dev case")
}
