//go:build integration

package podtargets

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"ferry.dev/ferry/internal/testenv"
)

// TestRunFollowsPods watches a real API server: a pod that turns Running appears in the
// target file, and disappears when it is deleted.
func TestRunFollowsPods(t *testing.T) {
	rc := testenv.Start(t)
	cs := kubernetes.NewForConfigOrDie(rc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	file := filepath.Join(t.TempDir(), "pods.json")
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cs, []string{"node-a"}, file) }()

	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Annotations: map[string]string{annScrape: "true", annPort: "9090"}},
		Spec:       corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "c", Image: "x"}}},
	}
	created, err := cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitTargets(t, file, 0)
	created.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.0.9", PodIPs: []corev1.PodIP{{IP: "10.244.0.9"}}}
	if _, err := cs.CoreV1().Pods("default").UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	groups := waitTargets(t, file, 1)
	if groups[0].Targets[0] != "10.244.0.9:9090" {
		t.Fatalf("target %v", groups[0].Targets)
	}
	if err := cs.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	waitTargets(t, file, 0)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func waitTargets(t *testing.T, file string, want int) []Group {
	t.Helper()
	var last error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		b, err := os.ReadFile(file)
		if err != nil {
			last = err
			continue
		}
		var groups []Group
		if err := json.Unmarshal(b, &groups); err != nil {
			last = err
			continue
		}
		if len(groups) == want {
			return groups
		}
		last = fmt.Errorf("%d groups", len(groups))
	}
	t.Fatalf("target file never had %d groups: %v", want, last)
	return nil
}
