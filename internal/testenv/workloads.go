package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"ferry.dev/ferry/internal/kubebin"
)

// StartWorkloadControllers runs kube-controller-manager's Deployment and ReplicaSet
// controllers against the test's API server until the test ends: a canary that runs in
// a Deployment's own ReplicaSets is tested against the controllers it shares them with,
// not an imitation. No kubelet runs: RunPods plays its part.
func (e *Env) StartWorkloadControllers(t testing.TB) {
	t.Helper()
	bin := kubebin.Cache{Dir: kubebin.DefaultDir()}.Bin("kube-controller-manager")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing (%v); run `ferry dev build` or `make integration`", bin, err)
	}
	logPath := filepath.Join(t.TempDir(), "kube-controller-manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--kubeconfig", Kubeconfig(t, e.Config), "--controllers", "deployment,replicaset",
		"--leader-elect=false", "--secure-port", "0", "--concurrent-deployment-syncs", "2", "--concurrent-replicaset-syncs", "2")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting kube-controller-manager: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			if out, err := os.ReadFile(logPath); err == nil {
				t.Logf("kube-controller-manager's log:\n%s", tail(out, 4000))
			}
		}
	})
}

// tail is the end of a log, at most n bytes.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// RunPods plays the kubelet for the pods in ns until ctx ends: each pod is reported
// running and ready as soon as it is seen, except those hold keeps back (nil holds
// none). A pod with no node is deleted at once by the API server, so pods scaled away
// go without one. It looks every 20 ms.
func RunPods(ctx context.Context, cs kubernetes.Interface, ns string, hold func(*corev1.Pod) bool) {
	for ctx.Err() == nil {
		if list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
			for i := range list.Items {
				p := &list.Items[i]
				if p.DeletionTimestamp != nil || ready(p) || (hold != nil && hold(p)) {
					continue
				}
				now := metav1.Now()
				p.Status.Phase, p.Status.StartTime = corev1.PodRunning, &now
				p.Status.Conditions = []corev1.PodCondition{
					{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
					{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
					{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
				}
				_, _ = cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}) // a conflict is retried next round
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ready reports whether a pod is reported ready.
func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
