package rollout

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

func dep(gen, observed int64, replicas, updated, total, available int32) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	d.Generation = gen
	d.Spec.Replicas = &replicas
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: observed, UpdatedReplicas: updated, Replicas: total, AvailableReplicas: available}
	return d
}

func TestComplete(t *testing.T) {
	tests := []struct {
		d    *appsv1.Deployment
		done bool
		msg  string
	}{
		{dep(2, 1, 3, 3, 3, 3), false, "waiting for the deployment controller to see the new spec"},
		{dep(2, 2, 3, 1, 4, 3), false, "1 of 3 replicas updated"},
		{dep(2, 2, 3, 3, 4, 3), false, "1 old replicas still running"},
		{dep(2, 2, 3, 3, 3, 2), false, "2 of 3 replicas available"},
		{dep(2, 2, 3, 3, 3, 3), true, "3 replicas rolled out"},
	}
	for _, tt := range tests {
		done, msg := Complete(tt.d)
		if done != tt.done || msg != tt.msg {
			t.Errorf("got %v %q, want %v %q", done, msg, tt.done, tt.msg)
		}
	}
}
