package promotion

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	policy "ferry.dev/ferry/internal/promotion"
)

// startRollback follows a failure after the deploy began. The phase RollingBack is
// written before anything else, so a restarted controller goes on with the return
// instead of repeating the failed step.
func (r *Reconciler) startRollback(ctx context.Context, f *facts, failed *stepFailure) (ctrl.Result, error) {
	prom := f.prom
	r.event(prom, corev1.EventTypeWarning, "StepFailed", failed.step, failed.msg)
	r.markFailed(prom, failed.step, failed.msg)
	prom.Status.Phase, prom.Status.Message = ferryv1.PromotionRollingBack, "rolling back after: "+failed.Error()
	r.event(prom, corev1.EventTypeWarning, "RollbackStarted", ferryv1.StepRollback, prom.Status.Message)
	setCondition(prom, ferryv1.ConditionReconciling, metav1.ConditionTrue, "RollingBack", prom.Status.Message)
	return r.rollBack(ctx, f)
}

// rollBack returns the stage to the Release verified there last: it records that
// Release in status.rollbackTo, deploys it again and runs its post-deploy hooks and
// tests, as the checkpoints rollback and rollbackTests. The Promotion then ends Failed,
// saying why and which version the stage returned to. With no verified Release to
// return to, it ends Failed at once.
func (r *Reconciler) rollBack(ctx context.Context, f *facts) (ctrl.Result, error) {
	prom := f.prom
	cause := failureCause(prom)
	if prom.Status.RollbackTo == "" {
		proms := &ferryv1.PromotionList{}
		if err := r.List(ctx, proms, client.InNamespace(prom.Namespace), client.MatchingLabels{
			ferryv1.LabelApplication: prom.Spec.Application, ferryv1.LabelStage: prom.Spec.Stage}); err != nil {
			return ctrl.Result{}, err
		}
		prom.Status.RollbackTo = policy.LastVerified(proms.Items, prom)
		if prom.Status.RollbackTo == "" {
			r.endRollback(prom, cause+"; no earlier verified release to return "+prom.Spec.Stage+" to", false)
			return ctrl.Result{}, nil
		}
	}
	back, err := r.rollbackFacts(ctx, f)
	if err != nil {
		return ctrl.Result{}, err
	}
	if back == nil {
		r.endRollback(prom, fmt.Sprintf("%s; the release %s to roll back to no longer exists", cause, prom.Status.RollbackTo), false)
		return ctrl.Result{}, nil
	}
	version := back.release.Spec.Version
	steps := []step{
		{ferryv1.StepRollback, r.deployAs(ferryv1.StepRollback)},
		{ferryv1.StepRollbackTests, func(ctx context.Context, f *facts) (bool, time.Duration, error) {
			// The returned-to version's post-deploy hooks, then its tests image.
			return r.hooks(ctx, f, ferryv1.StepRollbackTests, func(a *appfile.App) []appfile.Hook {
				return append(append([]appfile.Hook(nil), a.Deploy.PostDeploy...), testsHook(f)...)
			})
		}},
	}
	done, res, err := r.pass(ctx, back, steps)
	var failed *stepFailure
	if errors.As(err, &failed) {
		r.markFailed(prom, failed.step, failed.msg)
		r.endRollback(prom, fmt.Sprintf("%s; rolling back to %s failed too: %s", cause, version, failed.Error()), false)
		return ctrl.Result{}, nil
	}
	if err != nil || !done {
		prom.Status.Message = "rolling back to " + version + " after: " + cause
		return res, err
	}
	r.endRollback(prom, fmt.Sprintf("%s; rolled back to %s, whose tests passed", cause, version), true)
	return ctrl.Result{}, nil
}

// rollbackFacts are the Promotion's facts with the Release it returns to in place of
// its own; nil when that Release is gone.
func (r *Reconciler) rollbackFacts(ctx context.Context, f *facts) (*facts, error) {
	old := &ferryv1.Release{}
	err := r.Get(ctx, client.ObjectKey{Namespace: f.prom.Namespace, Name: f.prom.Status.RollbackTo}, old)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	back := *f
	back.release, back.loaded = old, nil
	return &back, nil
}

// failureCause is the failed step and its message, kept in the step's checkpoint.
func failureCause(p *ferryv1.Promotion) string {
	for _, c := range p.Status.Checkpoints {
		if c.Phase == ferryv1.CheckpointFailed {
			return c.Name + " failed: " + c.Message
		}
	}
	return "a step failed"
}

// endRollback ends the Promotion Failed with its whole story in the message.
func (r *Reconciler) endRollback(p *ferryv1.Promotion, msg string, ok bool) {
	p.Status.Phase, p.Status.Message = ferryv1.PromotionFailed, msg
	reason, eventType := "RolledBack", corev1.EventTypeNormal
	if !ok {
		reason, eventType = "RollbackFailed", corev1.EventTypeWarning
	}
	r.event(p, eventType, reason, ferryv1.StepRollback, msg)
	r.event(p, corev1.EventTypeWarning, "PromotionFailed", ferryv1.StepRollback, msg)
	setCondition(p, ferryv1.ConditionReady, metav1.ConditionFalse, reason, msg)
	setCondition(p, ferryv1.ConditionReconciling, metav1.ConditionFalse, reason, msg)
}
