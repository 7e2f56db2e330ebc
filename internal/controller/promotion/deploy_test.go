package promotion

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestRunsVersion: a Deployment counts for a version only by its label, so a watched
// copy from before the apply (complete, but of the old version) is not taken for done.
func TestRunsVersion(t *testing.T) {
	for _, c := range []struct {
		labels map[string]string
		want   bool
	}{
		{map[string]string{"app.kubernetes.io/version": "1.1.0"}, true},
		{map[string]string{"app.kubernetes.io/version": "1.0.0"}, false},
		{map[string]string{"ferry.dev/version": "1.1.0", "app.kubernetes.io/version": "chart-7"}, true},
		{map[string]string{"ferry.dev/version": "1.0.0", "app.kubernetes.io/version": "1.1.0"}, false},
		{nil, false},
	} {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Labels: c.labels}}
		if got := runsVersion(d, "1.1.0"); got != c.want {
			t.Errorf("%v: %v, want %v", c.labels, got, c.want)
		}
	}
}

// TestApplyWaves: what the API server needs to admit the rest goes first, one at a
// time; workloads come after what they use; routes, autoscalers, webhooks and custom
// resources after workloads (and so after the Services a route sends to); each wave
// keeps the render's order.
func TestApplyWaves(t *testing.T) {
	var objs []*unstructured.Unstructured
	for _, kind := range []string{"ServiceAccount", "HTTPRoute", "Deployment", "HorizontalPodAutoscaler", "Service", "CustomResourceDefinition",
		"ValidatingWebhookConfiguration", "ConfigMap", "PodMonitor", "Job", "Namespace", "RoleBinding"} {
		o := &unstructured.Unstructured{}
		o.SetKind(kind)
		objs = append(objs, o)
	}
	var got []string
	for _, w := range applyWaves(objs) {
		var kinds []string
		for _, o := range w {
			kinds = append(kinds, o.GetKind())
		}
		got = append(got, strings.Join(kinds, ","))
	}
	want := []string{"CustomResourceDefinition", "Namespace", "ServiceAccount,Service,ConfigMap,RoleBinding", "Deployment,Job",
		"HTTPRoute,HorizontalPodAutoscaler,ValidatingWebhookConfiguration,PodMonitor"}
	if !slices.Equal(got, want) {
		t.Errorf("waves %q, want %q", got, want)
	}
}
