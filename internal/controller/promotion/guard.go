package promotion

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
)

// A Promotion that deploys progressively holds the stage's Deployments in between
// states only it drives: a Deployment paused with the new version's template, a route
// that splits the traffic, a preview beside the stable version. Deleted in the middle,
// it would leave them so. The finalizer FinalizerAbortOnDelete keeps such a Promotion
// until it has finished: deleted before, it aborts as a person's `ferry abort` does
// (the canary's pods go, the stable version has all the traffic) and the stage rolls
// back, then it goes. A rolling deploy leaves nothing in between (the Deployment
// controller finishes it alone) and is not kept: a finalizer is a write more.

// +kubebuilder:rbac:groups=ferry.dev,resources=promotions,verbs=patch

// progressive says whether the Promotion's deploy step runs a canary, an A/B test or a
// blue-green release in its stage.
func progressive(f *facts) bool {
	file, err := f.file()
	if err != nil {
		return false // the deploy step says what is wrong with the app file
	}
	switch file.App.ReleaseTypeFor(f.stage.Name).Strategy {
	case appfile.StrategyCanary, appfile.StrategyABTest, appfile.StrategyBlueGreen:
		return true
	}
	return false
}

// guarded returns the write that puts the finalizer on a Promotion about to deploy
// progressively, or nil when it needs none or has it. The write is conditional on
// the Promotion's resourceVersion (a spec changed since this reconcile read it fails
// it); keep takes what it changed into the reconcile's copy, whose status write is
// conditional on the new resourceVersion. prom is copied here: the write may run
// beside another step's.
func (r *Reconciler) guarded(f *facts) (write func(context.Context) error, keep func()) {
	if f.prom.DeletionTimestamp != nil || controllerutil.ContainsFinalizer(f.prom, ferryv1.FinalizerAbortOnDelete) || !progressive(f) {
		return nil, nil
	}
	base := f.prom.DeepCopy()
	sent := base.DeepCopy()
	controllerutil.AddFinalizer(sent, ferryv1.FinalizerAbortOnDelete)
	write = func(ctx context.Context) error {
		if err := r.Patch(ctx, sent, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
			return fmt.Errorf("adding the finalizer %s: %w", ferryv1.FinalizerAbortOnDelete, err)
		}
		return nil
	}
	keep = func() {
		f.prom.Finalizers, f.prom.ResourceVersion = sent.Finalizers, sent.ResourceVersion
		if f.status != nil {
			f.status.base.Finalizers, f.status.base.ResourceVersion = sent.Finalizers, sent.ResourceVersion
		}
		// The next reconcile waits for a cache that has the finalizer (see stale).
		r.written.Store(client.ObjectKeyFromObject(f.prom), sent.ResourceVersion)
	}
	return write, keep
}

// unguard removes the finalizer from a finished Promotion; it does nothing to one
// without it.
func (r *Reconciler) unguard(ctx context.Context, prom *ferryv1.Promotion) error {
	if !controllerutil.ContainsFinalizer(prom, ferryv1.FinalizerAbortOnDelete) {
		return nil
	}
	base := prom.DeepCopy()
	sent := prom.DeepCopy()
	controllerutil.RemoveFinalizer(sent, ferryv1.FinalizerAbortOnDelete)
	if err := r.Patch(ctx, sent, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("removing the finalizer %s: %w", ferryv1.FinalizerAbortOnDelete, err))
	}
	return nil
}

// abortCause says why a Promotion is aborted: a person's spec.abort, or its deletion.
func abortCause(p *ferryv1.Promotion) string {
	if a := p.Spec.Abort; a != nil {
		return fmt.Sprintf("aborted by %s: %s", orSomeone(a.User), a.Reason)
	}
	return "aborted: the promotion was deleted before it finished"
}

// aborted says whether the Promotion is to be aborted: a person asked, or it was
// deleted while the finalizer kept it.
func aborted(p *ferryv1.Promotion) bool {
	return p.Spec.Abort != nil || p.DeletionTimestamp != nil
}

// lockAndGuard takes the stage's lock (lockStage) before the step; before the
// pre-deploy step it also puts the finalizer on a Promotion about to deploy
// progressively. The two writes go to different objects, side by side.
func (r *Reconciler) lockAndGuard(ctx context.Context, f *facts, step string) (string, error) {
	var write func(context.Context) error
	var keep func()
	if step == ferryv1.StepPreDeploy {
		write, keep = r.guarded(f)
	}
	if write == nil {
		return r.lockStage(ctx, f)
	}
	var other string
	err := together([]func() error{
		func() (err error) {
			other, err = r.lockStage(ctx, f)
			return err
		},
		func() error { return write(ctx) },
	})
	if err != nil {
		return "", err
	}
	keep()
	return other, nil
}
