package testenv

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ReportEveryRollout plays the deployment controller, which an API server alone does
// not run, for the namespace until ctx ends: each Deployment whose status lags its spec
// is reported rolled out at its size.
func ReportEveryRollout(ctx context.Context, cs kubernetes.Interface, ns string) {
	ReportRolloutsBut(ctx, cs, ns, func(*appsv1.Deployment) bool { return false })
}

// ReportRolloutsBut is ReportEveryRollout for the Deployments that stuck does not
// hold: their status stays as it is, as that of a rollout whose pods never start.
func ReportRolloutsBut(ctx context.Context, cs kubernetes.Interface, ns string, stuck func(*appsv1.Deployment) bool) {
	for ctx.Err() == nil {
		if list, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{}); err == nil {
			for i := range list.Items {
				d := &list.Items[i]
				if stuck(d) {
					continue
				}
				n := *d.Spec.Replicas
				want := appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n}
				if !equality.Semantic.DeepEqual(d.Status, want) {
					d.Status = want
					_, _ = cs.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{}) // a conflict is retried next round
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Eventually retries check every 100 ms until it passes, and fails the test with its
// last error after timeout.
func Eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err = check(); err == nil {
			return
		}
	}
	t.Fatalf("not within %s: %v", timeout, err)
}
