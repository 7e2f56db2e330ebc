package inventory

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func obj(apiVersion, kind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// TestRefs: one object is one reference whatever version it was rendered in, objects
// without a namespace are in the deploy's, and the order does not depend on the render's.
func TestRefs(t *testing.T) {
	a := Refs([]*unstructured.Unstructured{
		obj("autoscaling/v2", "HorizontalPodAutoscaler", "web", "web"),
		obj("v1", "Service", "", "web"),
		obj("autoscaling/v1", "HorizontalPodAutoscaler", "web", "web"),
		obj("apps/v1", "Deployment", "web", "web"),
	}, "web")
	b := Refs([]*unstructured.Unstructured{
		obj("apps/v1", "Deployment", "web", "web"),
		obj("v1", "Service", "web", "web"),
		obj("autoscaling/v1", "HorizontalPodAutoscaler", "web", "web"),
	}, "web")
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("refs %v and %v, want 3 each", a, b)
	}
	for i := range a {
		if !a[i].Same(b[i]) {
			t.Errorf("ref %d: %v and %v", i, a[i], b[i])
		}
	}
	if a[0].Kind != "Service" || a[0].Namespace != "web" {
		t.Errorf("the Service without a namespace (first: the core group sorts first): %+v", a[0])
	}
}
