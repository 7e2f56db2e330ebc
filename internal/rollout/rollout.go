// Package rollout says whether a Deployment has finished rolling out, as `kubectl
// rollout status` judges it.
package rollout

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
)

// Complete reports whether the Deployment's current spec is fully rolled out, and if not,
// how far it has come.
func Complete(d *appsv1.Deployment) (bool, string) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	switch {
	case s.ObservedGeneration < d.Generation:
		return false, "waiting for the deployment controller to see the new spec"
	case s.UpdatedReplicas < want:
		return false, fmt.Sprintf("%d of %d replicas updated", s.UpdatedReplicas, want)
	case s.Replicas > s.UpdatedReplicas:
		return false, fmt.Sprintf("%d old replicas still running", s.Replicas-s.UpdatedReplicas)
	case s.AvailableReplicas < want:
		return false, fmt.Sprintf("%d of %d replicas available", s.AvailableReplicas, want)
	}
	return true, fmt.Sprintf("%d replicas rolled out", want)
}
