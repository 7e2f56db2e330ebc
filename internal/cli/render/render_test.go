package render

import (
	"bytes"
	"strings"
	"testing"

	"ferry.dev/ferry/internal/cli/iostreams"
	"ferry.dev/ferry/internal/kubeapply"
)

func runRender(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := NewCommand(iostreams.Streams{In: strings.NewReader(stdin), Out: &out, Err: &out})
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestRenderWritesAnApplyableStream(t *testing.T) {
	out, err := runRender(t, "", "../../../examples/hello", "--stage", "prod", "--version", "2.0.0", "--cluster-host", "apps.example.com")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := kubeapply.Decode([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetKind())
	}
	want := "ServiceAccount Deployment Service Ingress PodDisruptionBudget HorizontalPodAutoscaler PodMonitor PrometheusRule"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("kinds %v, want %s", kinds, want)
	}
}

func TestRenderReadsStdin(t *testing.T) {
	file := "build: {artifact: web}\ndeploy: {namespace: web, stages: [{name: dev, target: [{cluster_id: [c]}]}]}\n"
	out, err := runRender(t, file, "-", "--stage", "dev", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"kind": "List"`) || !strings.Contains(out, `"image": "web:0.0.0-dev"`) {
		t.Fatalf("output:\n%s", out)
	}
}

func TestExplainNamesEachSource(t *testing.T) {
	out, err := runRender(t, "", "../../../examples/hello", "--explain")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"deploy.helm.values.scaling.cpuPercent",
		"builtin:go-service:28:21",
		"deploy.helm.values.min.cpu",
		"ferry.yml:29:14",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
}

func TestRenderRequiresAStage(t *testing.T) {
	if _, err := runRender(t, "", "../../../examples/hello"); err == nil || !strings.Contains(err.Error(), "--stage is required") {
		t.Fatalf("err = %v", err)
	}
}

func TestRenderWithAGateway(t *testing.T) {
	out, err := runRender(t, "", "../../../examples/hello", "--stage", "prod", "--version", "2.0.0", "--cluster-host", "apps.example.com", "--gateway", "edge/public/https")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: HTTPRoute", "- hello.hello.apps.example.com", "sectionName: https", "namespace: edge", "name: public"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := runRender(t, "", "../../../examples/hello", "--stage", "prod", "--gateway", "public"); err == nil ||
		err.Error() != `--gateway "public": expected NAMESPACE/NAME or NAMESPACE/NAME/LISTENER` {
		t.Errorf("a gateway without a namespace: %v", err)
	}
}
