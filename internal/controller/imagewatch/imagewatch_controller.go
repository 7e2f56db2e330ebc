// Package imagewatch is the controller of ImageWatch objects: it subscribes each to the
// shared registry pollers (internal/imagewatch), writes what they find into its status,
// and, with autoRelease, makes a Release of each new image. A registry's notification
// (the annotation ferry.dev/check-requested, set by `ferry server`) makes the poller of
// the watch's repository look at once.
package imagewatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/source"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/imagebuild"
	"ferry.dev/ferry/internal/imagewatch"
)

// +kubebuilder:rbac:groups=ferry.dev,resources=imagewatches,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=ferry.dev,resources=imagewatches/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ferry.dev,resources=releases,verbs=get;list;watch;create
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get

// defaultInterval is the poll interval of a watch that names none.
const defaultInterval = time.Minute

// Reconciler keeps ImageWatches.
type Reconciler struct {
	client.Client
	// APIReader reads the registry credentials' Secrets, which are never cached.
	APIReader client.Reader
	// QPS limits the requests to one registry (default 10).
	QPS float64

	hub     *imagewatch.Hub
	changed chan event.TypedGenericEvent[*ferryv1.ImageWatch]
	// checked holds, per watch, the check-requested value last acted on. Reconciles of
	// different watches run at once (a push asks every watch of its repository to look).
	checked sync.Map
}

// SetupWithManager registers the controller, and the hub whose pollers run while the
// manager does.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.changed = make(chan event.TypedGenericEvent[*ferryv1.ImageWatch], 1024)
	hubCtx, stop := context.WithCancel(context.Background())
	r.hub = imagewatch.NewHub(hubCtx, func(k imagewatch.Key) {
		select {
		case r.changed <- event.TypedGenericEvent[*ferryv1.ImageWatch]{Object: &ferryv1.ImageWatch{ObjectMeta: metav1.ObjectMeta{Namespace: k.Namespace, Name: k.Name}}}:
		case <-hubCtx.Done():
		}
	})
	r.hub.QPS = r.QPS
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		<-ctx.Done()
		stop()
		return nil
	})); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).Named("imagewatch").For(&ferryv1.ImageWatch{}).
		WatchesRawSource(source.Channel(r.changed, &handler.TypedEnqueueRequestForObject[*ferryv1.ImageWatch]{})).
		Complete(r)
}

// Reconcile subscribes the watch, then records the poller's last result and makes its
// Release.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	iw := &ferryv1.ImageWatch{}
	if err := r.Get(ctx, req.NamespacedName, iw); err != nil {
		if apierrors.IsNotFound(err) {
			r.hub.Unsubscribe(req.NamespacedName)
			r.checked.Delete(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	base := iw.DeepCopy()
	if err := r.subscribe(ctx, iw); err != nil {
		r.hub.Unsubscribe(req.NamespacedName)
		setReady(iw, metav1.ConditionFalse, reasonOf(err), err.Error())
		return ctrl.Result{}, r.save(ctx, base, iw)
	}
	if v := iw.Annotations[ferryv1.AnnotationCheckRequested]; v != "" {
		if last, _ := r.checked.Swap(req.NamespacedName, v); last != v {
			r.hub.CheckNow(iw.Spec.Repository)
		}
	}
	res, ok := r.hub.Result(req.NamespacedName)
	if !ok {
		setReady(iw, metav1.ConditionUnknown, "Polling", "waiting for the first answer of "+iw.Spec.Repository)
		return ctrl.Result{}, r.save(ctx, base, iw)
	}
	r.record(ctx, iw, res)
	return ctrl.Result{}, r.save(ctx, base, iw)
}

// specError is a watch that cannot be polled as written, with the reason to show.
type specError struct{ reason, msg string }

func (e *specError) Error() string { return e.msg }

func reasonOf(err error) string {
	var se *specError
	if errors.As(err, &se) {
		return se.reason
	}
	return "Error"
}

// subscribe gives the watch's repository, credentials, want and interval to the hub.
func (r *Reconciler) subscribe(ctx context.Context, iw *ferryv1.ImageWatch) error {
	want, err := imagewatch.ParseWant(iw.Spec.Tag, iw.Spec.Semver, iw.Spec.TagRegex)
	if err != nil {
		return &specError{"InvalidSpec", err.Error()}
	}
	src, err := r.source(ctx, iw)
	if err != nil {
		return err
	}
	every := defaultInterval
	if iw.Spec.Interval != nil {
		every = max(iw.Spec.Interval.Duration, time.Second)
	}
	if err := r.hub.Subscribe(client.ObjectKeyFromObject(iw), src, want, every); err != nil {
		return &specError{"InvalidSpec", err.Error()}
	}
	return nil
}

// source is the watch's repository with the credentials of its Secret.
func (r *Reconciler) source(ctx context.Context, iw *ferryv1.ImageWatch) (imagewatch.Source, error) {
	src := imagewatch.Source{Repository: iw.Spec.Repository}
	if iw.Spec.SecretRef == nil {
		return src, nil
	}
	var opts []name.Option
	if imagebuild.IsLoopback(iw.Spec.Repository) {
		opts = append(opts, name.Insecure)
	}
	repo, err := name.NewRepository(iw.Spec.Repository, opts...)
	if err != nil {
		return src, &specError{"InvalidSpec", fmt.Sprintf("repository %q: %v", iw.Spec.Repository, err)}
	}
	sec := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: iw.Namespace, Name: iw.Spec.SecretRef.Name}, sec); err != nil {
		return src, &specError{"SecretError", fmt.Sprintf("the Secret %s: %v", iw.Spec.SecretRef.Name, err)}
	}
	doc, ok := sec.Data[corev1.DockerConfigJsonKey]
	if !ok {
		return src, &specError{"SecretError", fmt.Sprintf("the Secret %s has no %s (want a %s Secret)", sec.Name, corev1.DockerConfigJsonKey, corev1.SecretTypeDockerConfigJson)}
	}
	if src.Auth, src.AuthID, err = imagewatch.FromDockerConfig(doc, repo.RegistryStr()); err != nil {
		return src, &specError{"SecretError", fmt.Sprintf("the Secret %s: %v", sec.Name, err)}
	}
	return src, nil
}

// record writes the poller's result into the status, and makes the Release of a new
// image when the watch asks for it.
func (r *Reconciler) record(ctx context.Context, iw *ferryv1.ImageWatch, res imagewatch.Result) {
	at := metav1.NewTime(res.At)
	iw.Status.PolledAt = &at
	if res.Reason != "" {
		setReady(iw, metav1.ConditionFalse, res.Reason, res.Err)
		return
	}
	newImage := res.Digest != iw.Status.Digest || res.Tag != iw.Status.Tag
	iw.Status.Tag, iw.Status.Digest = res.Tag, res.Digest
	msg := fmt.Sprintf("%s:%s is %s", iw.Spec.Repository, res.Tag, res.Digest)
	if !iw.Spec.AutoRelease {
		setReady(iw, metav1.ConditionTrue, "Found", msg)
		return
	}
	if newImage || iw.Status.Release == "" {
		rel, err := makeRelease(ctx, r.Client, iw, res)
		if err != nil {
			iw.Status.Release = ""
			setReady(iw, metav1.ConditionFalse, "ReleaseError", msg+"; no release: "+err.Error())
			return
		}
		iw.Status.Release = rel
	}
	setReady(iw, metav1.ConditionTrue, "Released", msg+", released as "+iw.Status.Release)
}

// save writes the status when it changed.
func (r *Reconciler) save(ctx context.Context, base, iw *ferryv1.ImageWatch) error {
	iw.Status.ObservedGeneration = iw.Generation
	if apiequal(base.Status, iw.Status) {
		return nil
	}
	return client.IgnoreNotFound(r.Status().Patch(ctx, iw, client.MergeFrom(base)))
}

func setReady(iw *ferryv1.ImageWatch, status metav1.ConditionStatus, reason, msg string) {
	apimeta.SetStatusCondition(&iw.Status.Conditions, metav1.Condition{Type: ferryv1.ConditionReady, Status: status,
		Reason: reason, Message: cmp.Or(msg, reason), ObservedGeneration: iw.Generation})
}
