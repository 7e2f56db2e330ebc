// Package release reconciles Releases: it starts the Promotion of each stage on the
// Release's path once the stage before has verified it, and records in status the stages
// where the Release was verified. A preview Release (flow pr or branch) is deleted when
// its time to live has passed, and holds a finalizer that deletes its preview namespace
// in every target cluster first.
package release

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/preview"
	"ferry.dev/ferry/internal/promotion"
)

// ReasonExpired is the Ready reason of a preview Release deleted because it outlived
// its time to live (deploy.previewTTL).
const ReasonExpired = "Expired"

// Reconciler reconciles Releases.
type Reconciler struct {
	client.Client
	// LocalConfig reaches the cluster the controller runs in: the target of a Cluster
	// without a kubeconfig Secret (nil: the manager's config).
	LocalConfig *rest.Config
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Builder runs the build Jobs of Releases made from a commit (nil: they wait,
	// saying no builder is configured).
	Builder *Builder

	clientset kubernetes.Interface
}

// +kubebuilder:rbac:groups=ferry.dev,resources=releases,verbs=get;list;watch;update;patch;delete
// +kubebuilder:rbac:groups=ferry.dev,resources=releases/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ferry.dev,resources=releases/finalizers,verbs=update
// +kubebuilder:rbac:groups=ferry.dev,resources=promotions,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=ferry.dev,resources=applications;clusters,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;delete

// SetupWithManager registers the reconciler; a Promotion's change wakes its Release.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.LocalConfig == nil {
		r.LocalConfig = mgr.GetConfig()
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	var err error
	if r.clientset, err = kubernetes.NewForConfig(mgr.GetConfig()); err != nil { // build logs
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).For(&ferryv1.Release{}).Named("release").Owns(&batchv1.Job{}).
		Watches(&ferryv1.Promotion{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			p := o.(*ferryv1.Promotion)
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.Release}}}
		})).Complete(r)
}

// PromotionName is the one Promotion of a Release into a stage: a fixed name makes its
// creation idempotent across restarts.
func PromotionName(release, stage string) string { return release + "-" + stage }

// Reconcile starts the next Promotion on the Release's path and writes its status once.
// A preview Release first gets its finalizer, is cleaned up when deleted, and is
// deleted once expired.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	rel := &ferryv1.Release{}
	if err := r.Get(ctx, req.NamespacedName, rel); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	_, isPreview := preview.SelectorOf(rel)
	if isPreview {
		if !rel.DeletionTimestamp.IsZero() {
			return ctrl.Result{}, r.finalize(ctx, rel)
		}
		if err := r.addFinalizer(ctx, rel); err != nil {
			return ctrl.Result{}, err
		}
	}
	before := rel.DeepCopy()
	patch := client.MergeFrom(before)
	defer func() {
		rel.Status.ObservedGeneration = rel.Generation
		// Most wake-ups change nothing: sending no write then spares the API server.
		if equality.Semantic.DeepEqual(before.Status, rel.Status) {
			return
		}
		if err := r.Status().Patch(ctx, rel, patch); err != nil {
			retErr = errors.Join(retErr, fmt.Errorf("patching status: %w", err))
		}
	}()

	// expiry is how long until a preview expires (0 for other Releases): it is
	// reconciled again then.
	var expiry time.Duration
	if isPreview {
		var expired bool
		expired, expiry = r.expire(ctx, rel)
		if expired {
			if err := r.Delete(ctx, rel, client.Preconditions{UID: &rel.UID}); client.IgnoreNotFound(err) != nil {
				return ctrl.Result{}, fmt.Errorf("deleting the expired preview: %w", err)
			}
			return ctrl.Result{}, nil
		}
	}

	app := &ferryv1.Application{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: rel.Namespace, Name: rel.Spec.Application}, app); err != nil {
		if apierrors.IsNotFound(err) {
			msg := fmt.Sprintf("application %q does not exist", rel.Spec.Application)
			setReady(rel, metav1.ConditionFalse, ferryv1.ReasonInvalidSpec, msg)
			if expiry > 0 { // a preview still expires
				return ctrl.Result{RequeueAfter: expiry}, nil
			}
			return ctrl.Result{}, reconcile.TerminalError(errors.New(msg))
		}
		return ctrl.Result{}, err
	}
	if rel.Spec.Build != nil {
		if built, err := r.build(ctx, rel); err != nil || !built {
			return ctrl.Result{RequeueAfter: expiry}, err
		}
		if b := before.Status.Build; b == nil || b.Phase != ferryv1.BuildSucceeded {
			// The images are written first: a Promotion reads them from the Release.
			return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
		}
	}
	proms := &ferryv1.PromotionList{}
	if err := r.List(ctx, proms, client.InNamespace(rel.Namespace), client.MatchingLabels{ferryv1.LabelRelease: rel.Name}); err != nil {
		return ctrl.Result{}, err
	}
	rel.Status.VerifiedStages = verifiedStages(rel.Status.VerifiedStages, proms.Items)
	path := promotion.StagesFor(app.Spec.Stages, rel.Spec.Flow)
	next, done := nextStage(path, rel.Status.VerifiedStages, proms.Items)
	switch {
	case done:
		setReady(rel, metav1.ConditionTrue, ferryv1.ReasonSucceeded, fmt.Sprintf("verified in %d stages", len(path)))
	case next == "":
		setReady(rel, metav1.ConditionFalse, ferryv1.ReasonProgressing, "a promotion is under way")
	default:
		if err := r.startPromotion(ctx, app, rel, next, next == path[0].Name); err != nil {
			return ctrl.Result{}, err
		}
		setReady(rel, metav1.ConditionFalse, ferryv1.ReasonProgressing, "promoting to "+next)
	}
	return ctrl.Result{RequeueAfter: expiry}, nil
}

// addFinalizer makes sure the preview Release cannot go before its namespace has.
func (r *Reconciler) addFinalizer(ctx context.Context, rel *ferryv1.Release) error {
	if controllerutil.ContainsFinalizer(rel, preview.Finalizer) {
		return nil
	}
	base := rel.DeepCopy()
	controllerutil.AddFinalizer(rel, preview.Finalizer)
	if err := r.Patch(ctx, rel, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("adding finalizer %s: %w", preview.Finalizer, err)
	}
	return nil
}

// finalize deletes the preview namespace of a deleted Release in each target cluster,
// then lets the Release go. A failure is returned and retried: the namespace must not
// outlive its Release unnoticed.
func (r *Reconciler) finalize(ctx context.Context, rel *ferryv1.Release) error {
	if !controllerutil.ContainsFinalizer(rel, preview.Finalizer) {
		return nil
	}
	log := ctrl.LoggerFrom(ctx)
	deleted, kept, err := preview.Cleanup(ctx, r.Client, r.LocalConfig, rel)
	if err != nil {
		return fmt.Errorf("deleting the preview of release %s: %w", rel.Name, err)
	}
	for _, d := range deleted {
		log.Info("deleted the preview", "object", d)
	}
	for _, k := range kept {
		log.Info("kept a namespace not made for a preview of the application", "object", k, "application", rel.Spec.Application)
	}
	base := rel.DeepCopy()
	controllerutil.RemoveFinalizer(rel, preview.Finalizer)
	if err := r.Patch(ctx, rel, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("removing finalizer %s: %w", preview.Finalizer, err)
	}
	return nil
}

// expire decides whether the preview Release has outlived its time to live; if not,
// it returns how long until it does, spread a little so that many previews made at
// once do not all come back at the same moment.
func (r *Reconciler) expire(ctx context.Context, rel *ferryv1.Release) (expired bool, wait time.Duration) {
	ttl, err := preview.TTLOf(rel)
	if err != nil {
		ctrl.LoggerFrom(ctx).Info("the app file does not load; the preview lives the default time", "ttl", ttl.String(), "error", err.Error())
	}
	now := r.Now()
	if preview.Expired(rel, ttl, now) {
		msg := fmt.Sprintf("the preview expired: it was made %s ago, and lives %s (deploy.previewTTL)",
			now.Sub(rel.CreationTimestamp.Time).Truncate(time.Second), ttl)
		setReady(rel, metav1.ConditionFalse, ReasonExpired, msg)
		return true, 0
	}
	wait = rel.CreationTimestamp.Add(ttl).Sub(now)
	return false, wait + time.Duration(rand.Int64N(int64(min(wait/100, time.Minute))+int64(time.Second))) //nolint:gosec // spreading requeues needs no secure randomness
}

// verifiedStages adds the stages whose Promotion succeeded, keeping the first time seen.
func verifiedStages(known []ferryv1.VerifiedStage, proms []ferryv1.Promotion) []ferryv1.VerifiedStage {
	out := append([]ferryv1.VerifiedStage(nil), known...)
	for _, p := range proms {
		if p.Status.Phase != ferryv1.PromotionSucceeded {
			continue
		}
		seen := false
		for _, v := range out {
			seen = seen || v.Stage == p.Spec.Stage
		}
		if !seen {
			out = append(out, ferryv1.VerifiedStage{Stage: p.Spec.Stage, Time: metav1.Now()})
		}
	}
	return out
}

// nextStage returns the first stage on the path that has neither been verified nor
// started; "" while a Promotion is under way or one failed. done is true when every
// stage verified the Release.
func nextStage(path []ferryv1.StageSpec, verified []ferryv1.VerifiedStage, proms []ferryv1.Promotion) (next string, done bool) {
	byStage := map[string]ferryv1.PromotionPhase{}
	for _, p := range proms {
		byStage[p.Spec.Stage] = p.Status.Phase
	}
	isVerified := map[string]bool{}
	for _, v := range verified {
		isVerified[v.Stage] = true
	}
	for _, s := range path {
		if isVerified[s.Name] {
			continue
		}
		if _, started := byStage[s.Name]; started {
			return "", false
		}
		return s.Name, false
	}
	return "", true
}

// startPromotion creates the Promotion of the Release into the stage; the first
// stage's is marked so, and tells the event sinks the Release was created.
func (r *Reconciler) startPromotion(ctx context.Context, app *ferryv1.Application, rel *ferryv1.Release, stage string, first bool) error {
	p := &ferryv1.Promotion{
		ObjectMeta: metav1.ObjectMeta{
			Name: PromotionName(rel.Name, stage), Namespace: rel.Namespace,
			Labels:      map[string]string{ferryv1.LabelApplication: app.Name, ferryv1.LabelRelease: rel.Name, ferryv1.LabelStage: stage},
			Annotations: map[string]string{ferryv1.AnnotationVersion: rel.Spec.Version},
		},
		Spec: ferryv1.PromotionSpec{Application: app.Name, Release: rel.Name, Stage: stage},
	}
	if hasNotifyWebhooks(rel) {
		p.Annotations[ferryv1.AnnotationNotifyWebhooks] = "true"
	}
	if first {
		p.Annotations[ferryv1.AnnotationFirstStage] = "true"
	}
	if err := controllerutil.SetOwnerReference(rel, p, r.Scheme()); err != nil {
		return err
	}
	if err := r.Create(ctx, p); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("starting promotion to %s: %w", stage, err)
	}
	return nil
}

// hasNotifyWebhooks says whether the Release's app file names notification webhooks.
// A file that does not load names none: the Promotion reports the file's errors. Only a
// file that mentions webhooks or a git profile is loaded (built-in profiles name no
// webhooks), so a thousand apps without them cost no parsing.
func hasNotifyWebhooks(rel *ferryv1.Release) bool {
	if !strings.Contains(rel.Spec.AppFile, "webhooks") && !strings.Contains(rel.Spec.AppFile, "git://") {
		return false
	}
	file, err := appfile.LoadBytes("release "+rel.Name, []byte(rel.Spec.AppFile), "", appfile.Options{})
	return err == nil && len(file.App.Notify.Webhooks) > 0
}

func setReady(rel *ferryv1.Release, status metav1.ConditionStatus, reason, msg string) {
	apimeta.SetStatusCondition(&rel.Status.Conditions, metav1.Condition{Type: ferryv1.ConditionReady, Status: status, Reason: reason, Message: msg, ObservedGeneration: rel.Generation})
}
