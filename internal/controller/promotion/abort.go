package promotion

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
)

// abortStep ends the Promotion at step, as a person's spec.abort asks, or its deletion
// (guard.go). A canary or an A/B test still in its steps puts every request back on the
// stable version and its pods go; a blue-green preview goes. The step then fails with
// who aborted and why: after the deploy began the stage rolls back, as after any failure
// (which also switches a blue-green release that holds the old version back to it).
func (r *Reconciler) abortStep(ctx context.Context, f *facts, step string) error {
	cause := abortCause(f.prom)
	if step == ferryv1.StepDeploy {
		cs, bg := f.prom.Status.Canary, f.prom.Status.BlueGreen
		switch {
		case cs != nil && cs.Phase == ferryv1.CanaryProgressing:
			ts, err := r.canaryTargets(ctx, f)
			if err != nil {
				return err
			}
			return r.abortCanary(ctx, f, ts, cause)
		case bg != nil && bg.Phase == ferryv1.BlueGreenPreviewing:
			ns, err := f.namespace()
			if err != nil {
				return &invalidError{err.Error()}
			}
			ts, err := r.canaryTargets(ctx, f)
			if err != nil {
				return err
			}
			return r.abortPreview(ctx, f, ts, ns, cause)
		}
	}
	r.event(f.prom, corev1.EventTypeWarning, "Aborted", step, cause)
	return fmt.Errorf("%w: %s", errStepFailed, cause)
}
