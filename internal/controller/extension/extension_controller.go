// Package extension keeps each Extension's status: how many of the kept Promotions
// called its service, how many of those calls failed the step, and the latest call. The
// Promotions' own hook records are the source: this controller only reads them, so a
// delivery never waits on an Extension's status.
package extension

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/controller/promotion"
)

// +kubebuilder:rbac:groups=ferry.dev,resources=extensions,verbs=get;list;watch
// +kubebuilder:rbac:groups=ferry.dev,resources=extensions/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ferry.dev,resources=promotions,verbs=get;list;watch

// calledIndex indexes Promotions by the names of the Extensions they called.
const calledIndex = "extension.ferry.dev/called"

// Reconciler writes Extensions' status.
type Reconciler struct {
	client.Client
}

// SetupWithManager registers the reconciler: an Extension's change, and the change of a
// Promotion that called it, wake it.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &ferryv1.Promotion{}, calledIndex, func(o client.Object) []string {
		return called(o.(*ferryv1.Promotion))
	})
	if err != nil {
		return fmt.Errorf("indexing promotions by the extensions they called: %w", err)
	}
	callers := predicate.NewPredicateFuncs(func(o client.Object) bool {
		p, ok := o.(*ferryv1.Promotion)
		return ok && len(called(p)) > 0
	})
	return ctrl.NewControllerManagedBy(mgr).For(&ferryv1.Extension{}).Named("extension").
		Watches(&ferryv1.Promotion{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			var reqs []reconcile.Request
			for _, name := range called(o.(*ferryv1.Promotion)) {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: name}})
			}
			return reqs
		}), builder.WithPredicates(callers)).
		Complete(r)
}

// Reconcile counts the calls of one Extension's service and writes its status when it
// changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ext := &ferryv1.Extension{}
	if err := r.Get(ctx, req.NamespacedName, ext); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	proms := &ferryv1.PromotionList{}
	if err := r.List(ctx, proms, client.InNamespace(ext.Namespace), client.MatchingFields{calledIndex: ext.Name}); err != nil {
		return ctrl.Result{}, err
	}
	before := ext.DeepCopy()
	ext.Status = Summarize(ext.Name, proms.Items)
	ext.Status.ObservedGeneration = ext.Generation
	if equality.Semantic.DeepEqual(before.Status, ext.Status) {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, r.Status().Patch(ctx, ext, client.MergeFrom(before))
}

// Summarize is the status of the Extension name from the Promotions that called it.
func Summarize(name string, proms []ferryv1.Promotion) ferryv1.ExtensionStatus {
	var st ferryv1.ExtensionStatus
	for i := range proms {
		p := &proms[i]
		h := callOf(p, name)
		if h == nil {
			continue
		}
		st.Calls++
		if h.Phase == ferryv1.HookFailed {
			st.Failed++
		}
		if st.Last == nil || later(h, p, st.Last) {
			st.Last = &ferryv1.ExtensionCall{Promotion: p.Name, Application: p.Spec.Application, Stage: p.Spec.Stage,
				Release: p.Spec.Release, Phase: h.Phase, StartedAt: h.StartedAt, Message: h.Message}
		}
	}
	return st
}

// later reports whether the call h of Promotion p began after last (by name when
// neither time is known, so that the choice does not change between reconciles).
func later(h *ferryv1.HookStatus, p *ferryv1.Promotion, last *ferryv1.ExtensionCall) bool {
	switch {
	case h.StartedAt == nil && last.StartedAt == nil:
		return p.Name > last.Promotion
	case h.StartedAt == nil || last.StartedAt == nil:
		return last.StartedAt == nil
	case h.StartedAt.Equal(last.StartedAt):
		return p.Name > last.Promotion
	}
	return last.StartedAt.Before(h.StartedAt)
}

// callOf is the Promotion's record of its call of the Extension name, nil when it
// made none.
func callOf(p *ferryv1.Promotion, name string) *ferryv1.HookStatus {
	for i := range p.Status.Hooks {
		if p.Status.Hooks[i].Name == promotion.ExtensionHookPrefix+name {
			return &p.Status.Hooks[i]
		}
	}
	return nil
}

// called names the Extensions whose service the Promotion called.
func called(p *ferryv1.Promotion) []string {
	var names []string
	for _, h := range p.Status.Hooks {
		if name, ok := strings.CutPrefix(h.Name, promotion.ExtensionHookPrefix); ok {
			names = append(names, name)
		}
	}
	return names
}
