package render

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"ferry.dev/ferry/internal/appfile"
)

// TestPlacementAndApplicationLabel checks that nodeSelector and tolerations reach the
// pods, and that the Application's name labels every object when given.
func TestPlacementAndApplicationLabel(t *testing.T) {
	f, err := appfile.LoadBytes("ferry.yml", []byte(`build: {buildType: go, artifact: web}
deploy:
  namespace: web
  helm:
    values:
      nodeSelector: {type: kwok}
      tolerations: [{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}]
  stages:
    - {name: dev, target: [{cluster_id: [a]}]}
`), "", appfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Objects(context.Background(), Input{App: f.App, Stage: "dev", Version: "1.0.0", Application: "web-app"})
	if err != nil {
		t.Fatal(err)
	}
	var d *appsv1.Deployment
	for _, o := range objs {
		if o.GetLabels()[LabelApplication] != "web-app" {
			t.Errorf("%s lacks the application label: %v", o.GetKind(), o.GetLabels())
		}
		if o.GetKind() == "Deployment" {
			d = &appsv1.Deployment{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	if d == nil {
		t.Fatal("no Deployment")
	}
	pod := d.Spec.Template.Spec
	if pod.NodeSelector["type"] != "kwok" || len(pod.Tolerations) != 1 || pod.Tolerations[0].Key != "kwok.x-k8s.io/node" ||
		pod.Tolerations[0].Operator != "Exists" || pod.Tolerations[0].Effect != "NoSchedule" {
		t.Errorf("placement: selector %v tolerations %+v", pod.NodeSelector, pod.Tolerations)
	}
}
