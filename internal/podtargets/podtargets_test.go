package podtargets

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pod(name, node, ip string, phase corev1.PodPhase, ann map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Annotations: ann, Labels: map[string]string{"app": "hello", "app.kubernetes.io/version": "1"}},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Ports: []corev1.ContainerPort{{ContainerPort: 9000}}}}},
		Status:     corev1.PodStatus{Phase: phase, PodIP: ip},
	}
}

func TestTargetsPicksAnnotatedRunningPodsOnRealNodes(t *testing.T) {
	scrape := map[string]string{annScrape: "true", annPort: "8080", annPath: "/m"}
	pods := []*corev1.Pod{
		pod("b", "real", "10.244.0.3", corev1.PodRunning, map[string]string{annScrape: "true"}),
		pod("a", "real", "10.244.0.2", corev1.PodRunning, scrape),
		pod("unannotated", "real", "10.244.0.4", corev1.PodRunning, nil),
		pod("pending", "real", "", corev1.PodPending, scrape),
		pod("simulated", "kwok-node-0", "10.245.0.2", corev1.PodRunning, scrape),
		pod("off", "real", "10.244.0.5", corev1.PodRunning, map[string]string{annScrape: "false"}),
	}
	got := Targets(pods, map[string]bool{"real": true})
	if len(got) != 2 {
		t.Fatalf("got %d groups: %+v", len(got), got)
	}
	a, b := got[0], got[1]
	if a.Targets[0] != "10.244.0.2:8080" || a.Labels["__metrics_path__"] != "/m" || a.Labels["pod"] != "a" {
		t.Errorf("first group %+v", a)
	}
	// Without port and path annotations: the first container port and /metrics.
	if b.Targets[0] != "10.244.0.3:9000" || b.Labels["__metrics_path__"] != "/metrics" {
		t.Errorf("second group %+v", b)
	}
	if a.Labels["app_kubernetes_io_version"] != "1" || a.Labels["namespace"] != "ns" {
		t.Errorf("labels %v", a.Labels)
	}
}
