// Package application reconciles Applications: it checks each one's app file and stage
// list and reports, in status, whether the pipeline can run and where each stage stands.
package application

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	policy "ferry.dev/ferry/internal/promotion"
)

// Reconciler reconciles Applications.
type Reconciler struct {
	client.Client
	// Keep is how many finished Promotions of each stage are kept (<= 0: all).
	Keep int
}

// +kubebuilder:rbac:groups=ferry.dev,resources=applications,verbs=get;list;watch
// +kubebuilder:rbac:groups=ferry.dev,resources=applications/status,verbs=get;update;patch

// +kubebuilder:rbac:groups=ferry.dev,resources=promotions,verbs=get;list;watch;delete

// SetupWithManager registers the reconciler; a Promotion's change wakes its Application.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).For(&ferryv1.Application{}).Named("application").
		Watches(&ferryv1.Promotion{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			p := o.(*ferryv1.Promotion)
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.Application}}}
		})).Complete(r)
}

// Reconcile checks one Application and writes its status once.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	logger := log.FromContext(ctx)
	app := &ferryv1.Application{}
	if err := r.Get(ctx, req.NamespacedName, app); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := app.DeepCopy()
	patch := client.MergeFrom(before)
	defer func() {
		app.Status.ObservedGeneration = app.Generation
		// Most wake-ups change nothing: sending no write then spares the API server.
		if equality.Semantic.DeepEqual(before.Status, app.Status) {
			return
		}
		if err := r.Status().Patch(ctx, app, patch); err != nil {
			retErr = errors.Join(retErr, fmt.Errorf("patching status: %w", err))
		}
	}()

	// The app file is checked once per generation: a Promotion's progress wakes the
	// Application often, and its verdict is already in the conditions.
	var problems []string
	checked := app.Status.ObservedGeneration == app.Generation && apimeta.FindStatusCondition(app.Status.Conditions, ferryv1.ConditionReady) != nil
	if checked && apimeta.IsStatusConditionFalse(app.Status.Conditions, ferryv1.ConditionReady) {
		problems = []string{apimeta.FindStatusCondition(app.Status.Conditions, ferryv1.ConditionReady).Message}
	} else if !checked {
		problems = Check(app)
	}
	proms := &ferryv1.PromotionList{}
	if err := r.List(ctx, proms, client.InNamespace(app.Namespace), client.MatchingLabels{ferryv1.LabelApplication: app.Name}); err != nil {
		return ctrl.Result{}, err
	}
	syncStageStatus(app, proms.Items)
	if err := r.collect(ctx, proms.Items); err != nil {
		return ctrl.Result{}, err
	}
	if len(problems) > 0 {
		msg := problemsMessage(problems)
		logger.Info("application is invalid", "problems", len(problems))
		setConditions(app, metav1.ConditionFalse, ferryv1.ReasonInvalidSpec, msg, true)
		return ctrl.Result{}, reconcile.TerminalError(errors.New(msg))
	}
	setConditions(app, metav1.ConditionTrue, ferryv1.ReasonSucceeded, fmt.Sprintf("%d stages ready", len(app.Spec.Stages)), false)
	return ctrl.Result{}, nil
}

// Check returns what is wrong with an Application: its app file's problems, and stages
// that differ between the spec and the app file.
func Check(app *ferryv1.Application) []string {
	f, err := appfile.LoadBytes("appFile", []byte(app.Spec.AppFile), "", appfile.Options{})
	if err != nil {
		if probs := appfile.Problems(err); len(probs) > 0 {
			out := make([]string, len(probs))
			for i, p := range probs {
				out[i] = p.String()
			}
			return out
		}
		return []string{err.Error()}
	}
	var fileStages, specStages []string
	for _, s := range f.App.AllStages() {
		fileStages = append(fileStages, s.Name)
	}
	for _, s := range app.Spec.Stages {
		specStages = append(specStages, s.Name)
	}
	if !slices.Equal(fileStages, specStages) {
		return []string{fmt.Sprintf("spec.stages %v differ from the app file's stages %v", specStages, fileStages)}
	}
	return nil
}

// syncStageStatus writes one status entry per stage, in stage order, from the
// Application's Promotions: the Release last verified in the stage is its current one,
// and a Promotion not yet finished is the active one.
func syncStageStatus(app *ferryv1.Application, proms []ferryv1.Promotion) {
	stages := make([]ferryv1.StageStatus, 0, len(app.Spec.Stages))
	for _, s := range app.Spec.Stages {
		st := ferryv1.StageStatus{Name: s.Name}
		if verified := policy.Verified(proms, app.Name, s.Name); len(verified) > 0 {
			st.CurrentRelease, st.LastVerifiedRelease = verified[0].Spec.Release, verified[0].Spec.Release
			st.CurrentVersion = verified[0].Annotations[ferryv1.AnnotationVersion]
		}
		for _, p := range proms {
			if p.Spec.Application == app.Name && p.Spec.Stage == s.Name && !finished(p.Status.Phase) {
				st.ActivePromotion = p.Name
			}
		}
		stages = append(stages, st)
	}
	app.Status.Stages = stages
}

// collect deletes the finished Promotions beyond the history kept per stage (their hook
// logs go with them).
func (r *Reconciler) collect(ctx context.Context, proms []ferryv1.Promotion) error {
	for _, name := range policy.Collectable(proms, r.Keep) {
		for i := range proms {
			if proms[i].Name == name {
				if err := r.Delete(ctx, &proms[i]); client.IgnoreNotFound(err) != nil {
					return fmt.Errorf("deleting old promotion %s: %w", name, err)
				}
			}
		}
	}
	return nil
}

func finished(p ferryv1.PromotionPhase) bool {
	return p == ferryv1.PromotionSucceeded || p == ferryv1.PromotionFailed || p == ferryv1.PromotionSuperseded
}

func setConditions(app *ferryv1.Application, ready metav1.ConditionStatus, reason, msg string, stalled bool) {
	gen := app.Generation
	apimeta.SetStatusCondition(&app.Status.Conditions, metav1.Condition{Type: ferryv1.ConditionReady, Status: ready, Reason: reason, Message: msg, ObservedGeneration: gen})
	stalledStatus := metav1.ConditionFalse
	if stalled {
		stalledStatus = metav1.ConditionTrue
	}
	apimeta.SetStatusCondition(&app.Status.Conditions, metav1.Condition{Type: ferryv1.ConditionStalled, Status: stalledStatus, Reason: reason, Message: msg, ObservedGeneration: gen})
	apimeta.SetStatusCondition(&app.Status.Conditions, metav1.Condition{Type: ferryv1.ConditionReconciling, Status: metav1.ConditionFalse, Reason: reason, ObservedGeneration: gen})
}

// problemsMessage keeps a condition message short: the first problems and a count.
func problemsMessage(problems []string) string {
	const shown = 5
	msg := ""
	for i, p := range problems {
		if i == shown {
			return msg + fmt.Sprintf("; and %d more", len(problems)-shown)
		}
		if i > 0 {
			msg += "; "
		}
		msg += p
	}
	return msg
}
