// Package promotion reconciles Promotions: it carries one Release into one stage through
// the checkpoints upstream -> approval -> deploy -> done, recording each step's start,
// end and message in status, so that a restarted controller resumes where it stopped
// and never repeats a finished step.
package promotion

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/deliverymetrics"
	"ferry.dev/ferry/internal/outbox"
	"ferry.dev/ferry/internal/preview"
	policy "ferry.dev/ferry/internal/promotion"
	"ferry.dev/ferry/internal/render"
	"ferry.dev/ferry/internal/rollout"
)

// Reconciler reconciles Promotions.
type Reconciler struct {
	client.Client
	// LocalConfig reaches the cluster the controller runs in: the target of a Cluster
	// without a kubeconfig Secret.
	LocalConfig *rest.Config
	// Now is the clock (tests set it).
	Now func() time.Time
	// Events records a Kubernetes Event for each step (nil records none).
	Events events.EventRecorder
	// RecordEvents keeps each event in the Promotion's outbox too, for the outbox
	// controller to send to the event sinks as CloudEvents.
	RecordEvents bool
	// Logs reads the log of a hook's ended Job in its target cluster (nil: hooklog.Fetch,
	// through that cluster's API server; tests without a kubelet set it).
	Logs func(ctx context.Context, cs kubernetes.Interface, ns, job string) (string, error)

	conns conns
	// written holds, per Promotion, the resourceVersion of this process's last status
	// write: a reconcile that reads an older copy from the cache waits for the cache
	// rather than act again on steps already taken (scaling a canary's Deployments
	// from a stale step would undo the next one).
	written sync.Map
	// reconciling holds, per Promotion being reconciled (by pointer), its status
	// writer, which sends the Events the reconcile records once its status is written.
	reconciling sync.Map
	// leases holds, per stage Lease, the Lease as this process last wrote it: the next
	// Promotion of the stage takes it without reading it first (lockStage).
	leases sync.Map
}

// +kubebuilder:rbac:groups=ferry.dev,resources=promotions,verbs=get;list;watch
// +kubebuilder:rbac:groups=ferry.dev,resources=promotions/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ferry.dev,resources=applications;releases;clusters;approvaldecisions,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;create
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;create
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=get;list;watch

// SetupWithManager registers the reconciler.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	return ctrl.NewControllerManagedBy(mgr).For(&ferryv1.Promotion{}).Named("promotion").
		Watches(&ferryv1.Promotion{}, handler.EnqueueRequestsFromMapFunc(r.siblingsOf)).
		Watches(&ferryv1.ApprovalDecision{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			d := o.(*ferryv1.ApprovalDecision)
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: d.Namespace, Name: d.Spec.Promotion}}}
		})).
		Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(r.rollingOut)).
		Watches(&appsv1.ReplicaSet{}, handler.EnqueueRequestsFromMapFunc(r.canaryScaled)).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(r.podChanged)).Complete(r)
}

// canaryScaled wakes the Promotions of a canary whose ReplicaSet has all its pods
// available: a canary step ends there, a Deployment status write before its
// Deployment says so.
func (r *Reconciler) canaryScaled(ctx context.Context, o client.Object) []reconcile.Request {
	if rs, ok := o.(*appsv1.ReplicaSet); !ok || !scaled(rs) {
		return nil
	}
	return r.deployingWith(ctx, o.GetLabels(), nil)
}

// rollingOut wakes the Promotions deploying the application and stage a Deployment of
// the local cluster belongs to once its rollout is complete, so that is seen at once,
// or once only old pods are left (after a canary's handover, the deploy step counts
// those itself). Progress on the way is polled, which keeps a thousand rollouts from
// waking the controller at every replica.
func (r *Reconciler) rollingOut(ctx context.Context, o client.Object) []reconcile.Request {
	if d, ok := o.(*appsv1.Deployment); ok {
		done, _ := rollout.Complete(d)
		onlyOld := d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == ptr.Deref(d.Spec.Replicas, 1)
		if !done && !onlyOld {
			return nil
		}
	}
	return r.deployingWith(ctx, o.GetLabels(), nil)
}

// deployingWith are the unfinished Promotions deploying the application and stage that
// labels name, of those keep accepts (all when it is nil).
func (r *Reconciler) deployingWith(ctx context.Context, labels map[string]string, keep func(*ferryv1.Promotion) bool) []reconcile.Request {
	app, stage := labels[render.LabelApplication], labels[ferryv1.LabelStage]
	if app == "" || stage == "" {
		return nil
	}
	list := &ferryv1.PromotionList{}
	if err := r.List(ctx, list, client.MatchingLabels{ferryv1.LabelApplication: app, ferryv1.LabelStage: stage}); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, p := range list.Items {
		if !finished(p.Status.Phase) && deploying(&p) && (keep == nil || keep(&p)) {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&p)})
		}
	}
	return reqs
}

// siblingsOf wakes the other Promotions of the same application and stage when one
// changes: a newer one may supersede them, a finished one may let the next deploy.
func (r *Reconciler) siblingsOf(ctx context.Context, o client.Object) []reconcile.Request {
	list := &ferryv1.PromotionList{}
	labels := o.GetLabels()
	if err := r.List(ctx, list, client.InNamespace(o.GetNamespace()), client.MatchingLabels{
		ferryv1.LabelApplication: labels[ferryv1.LabelApplication], ferryv1.LabelStage: labels[ferryv1.LabelStage]}); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, p := range list.Items {
		if p.Name != o.GetName() && !finished(p.Status.Phase) {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&p)})
		}
	}
	return reqs
}

// facts are what a Promotion's steps decide on, gathered once per reconcile.
type facts struct {
	// status writes the Promotion's status before a step acts on a cluster.
	status  *statusWriter
	prom    *ferryv1.Promotion
	app     *ferryv1.Application
	release *ferryv1.Release
	stage   ferryv1.StageSpec
	path    []ferryv1.StageSpec
	// siblings are the other Promotions of the same application and stage.
	siblings []ferryv1.Promotion
	// decisions are the ApprovalDecisions on this Promotion.
	decisions []ferryv1.ApprovalDecision
	// loaded is the Release's app file, read once per reconcile.
	loaded *appfile.File
	// exactWait asks for the step's wait without jitter: a canary pause ends on time.
	exactWait bool
	// handedOver says this reconcile ended the canary's hold of the stable Deployments
	// (the watched cache may not show it yet, and they need no second release).
	handedOver bool
	// begun is the step this reconcile began whose status is written when it first
	// acts (recordBegun), not before it ran.
	begun string
}

// file reads the app file the Release was made with.
func (f *facts) file() (*appfile.File, error) {
	if f.loaded == nil {
		file, err := appfile.LoadBytes("release "+f.release.Name, []byte(f.release.Spec.AppFile), "", appfile.Options{})
		if err != nil {
			return nil, err
		}
		f.loaded = file
	}
	return f.loaded, nil
}

// images are the Release's app and tests images, pinned by digest.
func (f *facts) images() (app, tests string) {
	for _, img := range f.release.AppImages() {
		ref := img.Repository + "@" + img.Digest
		switch img.Name {
		case "app":
			app = ref
		case "tests":
			tests = ref
		}
	}
	return app, tests
}

// resolve fills the app file's templates for this Release and a cluster's hosts.
func (f *facts) resolve(hosts []string) (*appfile.App, error) {
	file, err := f.file()
	if err != nil {
		return nil, err
	}
	_, tests := f.images()
	app, err := file.Resolve(appfile.TemplateContext{Version: f.release.Spec.Version, Hosts: hosts, TestsImage: tests})
	if err != nil {
		return nil, err
	}
	app = app.ForStage(f.stage.Name)
	if ns := preview.Namespace(f.app.Name, f.release); ns != "" {
		cp := *app
		cp.Deploy.Namespace = ns
		app = &cp
	}
	return app, nil
}

// namespace is where the Release runs in the stage: its preview namespace for a pull
// request or branch, else the stage's (or the app's) namespace.
func (f *facts) namespace() (string, error) {
	if ns := preview.Namespace(f.app.Name, f.release); ns != "" {
		return ns, nil
	}
	file, err := f.file()
	if err != nil {
		return "", err
	}
	return file.App.ForStage(f.stage.Name).Deploy.Namespace, nil
}

// step is one checkpoint: it returns done when the step has finished, or a wait.
type step struct {
	name string
	run  func(ctx context.Context, f *facts) (done bool, wait time.Duration, err error)
}

func (r *Reconciler) steps() []step {
	return []step{
		{ferryv1.StepFreeze, r.freezeCheck},
		{ferryv1.StepUpstream, r.upstream},
		{ferryv1.StepApproval, r.approval},
		{ferryv1.StepPreDeploy, r.preDeploy},
		{ferryv1.StepDeploy, r.deployAs(ferryv1.StepDeploy)},
		{ferryv1.StepPostDeploy, r.postDeploy},
		{ferryv1.StepTests, r.tests},
	}
}

// Reconcile runs the Promotion's next steps and writes its status once.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	prom := &ferryv1.Promotion{}
	if err := r.Get(ctx, req.NamespacedName, prom); err != nil {
		if apierrors.IsNotFound(err) {
			r.written.Delete(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if finished(prom.Status.Phase) {
		r.written.Delete(req.NamespacedName)
		return ctrl.Result{}, r.unguard(ctx, prom)
	}
	if r.stale(req.NamespacedName, prom) {
		return ctrl.Result{RequeueAfter: 20 * time.Millisecond}, nil
	}
	st := &statusWriter{r: r, prom: prom, base: prom.DeepCopy()}
	r.reconciling.Store(prom, st)
	defer func() {
		err := st.flush(ctx)
		r.reconciling.Delete(prom)
		if apierrors.IsConflict(err) && retErr == nil {
			// This reconcile read an older Promotion than the API server has: nothing
			// it decided is kept; start again from the newer one.
			result = ctrl.Result{RequeueAfter: time.Millisecond}
			return
		}
		if err != nil {
			retErr = errors.Join(retErr, err)
		}
	}()
	f, err := r.gather(ctx, prom)
	if f != nil {
		f.status = st
	}
	if err != nil {
		var invalid *invalidError
		if errors.As(err, &invalid) {
			r.fail(prom, "", err.Error())
			setCondition(prom, ferryv1.ConditionStalled, metav1.ConditionTrue, ferryv1.ReasonInvalidSpec, err.Error())
			return ctrl.Result{}, reconcile.TerminalError(err)
		}
		return ctrl.Result{}, err
	}
	if prom.Status.Phase == "" {
		prom.Status.Phase = ferryv1.PromotionPending
	}
	if prom.Status.Phase == ferryv1.PromotionRollingBack {
		return r.rollBack(ctx, f)
	}
	if newer := supersededBy(f); newer != "" {
		msg := "superseded by " + newer + ", a newer release waiting for " + prom.Spec.Stage
		prom.Status.Phase, prom.Status.Message = ferryv1.PromotionSuperseded, msg
		r.event(prom, corev1.EventTypeNormal, "Superseded", "supersede", msg)
		setCondition(prom, ferryv1.ConditionReady, metav1.ConditionFalse, "Superseded", msg)
		setCondition(prom, ferryv1.ConditionReconciling, metav1.ConditionFalse, "Superseded", msg)
		return ctrl.Result{}, nil
	}
	done, res, err := r.pass(ctx, f, r.steps())
	var failed *stepFailure
	if errors.As(err, &failed) {
		// A failure after the deploy began may have changed the stage: return it to
		// the Release verified there last. Nothing changed before the deploy.
		if deploying(prom) && prom.Spec.Rollback == nil {
			return r.startRollback(ctx, f, failed)
		}
		r.fail(prom, failed.step, failed.msg)
		return ctrl.Result{}, nil
	}
	if apierrors.IsConflict(err) {
		// A write conditional on what this reconcile read (the finalizer's) met a newer
		// Promotion: start again from that one, as after a status write's conflict.
		return ctrl.Result{RequeueAfter: time.Millisecond}, nil
	}
	if err != nil || !done {
		return res, err
	}
	r.finish(prom)
	return ctrl.Result{}, nil
}

// stepFailure is a step that ran and failed, or could not run as specified: the
// Promotion fails without retrying the step.
type stepFailure struct{ step, msg string }

func (e *stepFailure) Error() string { return e.step + ": " + e.msg }

// pass runs the steps in order, skipping those that finished, until one waits; done is
// true when all have finished. A step's failure comes back as a *stepFailure.
func (r *Reconciler) pass(ctx context.Context, f *facts, steps []step) (bool, ctrl.Result, error) {
	prom := f.prom
	for _, s := range steps {
		if checkpoint(prom, s.name).Phase == ferryv1.CheckpointSucceeded {
			continue
		}
		if aborted(prom) && prom.Status.Phase != ferryv1.PromotionRollingBack {
			// A person ended it, or deleted it while its finalizer kept it: the step it
			// stands at fails, whatever it waits for (the rollback that may follow runs
			// to its end).
			err := r.abortStep(ctx, f, s.name)
			if isStepFailure(err) {
				return false, ctrl.Result{}, &stepFailure{s.name, strings.TrimPrefix(err.Error(), errStepFailed.Error()+": ")}
			}
			return false, ctrl.Result{}, err
		}
		// One Promotion acts on a stage at a time, from its pre-deploy hooks to its end;
		// the others wait before starting.
		if (s.name == ferryv1.StepPreDeploy || s.name == ferryv1.StepRollback) && checkpoint(prom, s.name).Phase == "" {
			other, err := r.lockAndGuard(ctx, f, s.name)
			if err != nil {
				return false, ctrl.Result{}, err
			}
			if other != "" {
				prom.Status.Message = "waiting for " + other + " to finish in " + prom.Spec.Stage
				return false, ctrl.Result{RequeueAfter: jitter(2 * time.Second)}, nil
			}
		}
		if s.name == ferryv1.StepPreDeploy && checkpoint(prom, s.name).Phase == "" {
			if msg, wait := r.frozenBeforeDeploy(f); msg != "" {
				prom.Status.Message = msg
				return false, ctrl.Result{RequeueAfter: wait}, nil
			}
		}
		first := checkpoint(prom, s.name).Phase == ""
		r.begin(prom, s.name)
		if first && r.records(prom) {
			// Event sinks hear of every step's start, before anything it does.
			outbox.Record(prom, "StepStarted", s.name, "step "+s.name+" started for "+prom.Spec.Release, r.Now())
		}
		// The first step of a reconcile that changes a cluster is recorded as started
		// before it acts, so people see the Promotion start at once; later steps are
		// written with the rest at the end (acting again on a restart is harmless). A
		// step that acts through hooks is recorded just before its first hook runs: one
		// without hooks writes nothing of its own.
		if first && actsOnCluster(s.name) && f.status != nil && !f.status.written {
			if actsThroughHooks(s.name) {
				f.begun = s.name
			} else if err := f.status.flush(ctx); err != nil {
				return false, ctrl.Result{}, err
			}
		}
		done, wait, err := s.run(ctx, f)
		if err != nil {
			if isStepFailure(err) {
				return false, ctrl.Result{}, &stepFailure{s.name, strings.TrimPrefix(err.Error(), errStepFailed.Error()+": ")}
			}
			return false, ctrl.Result{}, err
		}
		if !done {
			// A step that takes longer than one reconcile says it started; one done at
			// once says only that it succeeded (half the Events for a thousand apps).
			if first && r.Events != nil {
				r.send(prom, func() {
					r.Events.Eventf(prom, nil, corev1.EventTypeNormal, "StepStarted", s.name, "step %s started for %s", s.name, prom.Spec.Release)
				})
			}
			if f.exactWait {
				return false, ctrl.Result{RequeueAfter: wait}, nil
			}
			return false, ctrl.Result{RequeueAfter: jitter(wait)}, nil
		}
		r.succeed(prom, s.name, checkpoint(prom, s.name).Message)
	}
	return true, ctrl.Result{}, nil
}

// actsOnCluster reports whether a step changes a target cluster.
// actsThroughHooks says whether a step's changes to a cluster are its hooks' (and, for
// the tests step, a blue-green release's end).
func actsThroughHooks(step string) bool {
	switch step {
	case ferryv1.StepPreDeploy, ferryv1.StepPostDeploy, ferryv1.StepTests, ferryv1.StepRollbackTests:
		return true
	}
	return false
}

// recordBegun writes the status before a step that began in this reconcile first acts.
func (f *facts) recordBegun(ctx context.Context, step string) error {
	if f.begun != step || f.status == nil || f.status.written {
		return nil
	}
	return f.status.flush(ctx)
}

func actsOnCluster(step string) bool {
	switch step {
	case ferryv1.StepPreDeploy, ferryv1.StepDeploy, ferryv1.StepPostDeploy, ferryv1.StepTests, ferryv1.StepRollback, ferryv1.StepRollbackTests:
		return true
	}
	return false
}

// statusWriter patches the Promotion's status with what changed since its last write.
type statusWriter struct {
	r    *Reconciler
	prom *ferryv1.Promotion
	base *ferryv1.Promotion
	// written is true once the status was written during this reconcile.
	written bool
	// events are the Events recorded since the last write, sent after the next: an
	// Event tells what the status already holds, and a write that fails (a conflict)
	// drops them with the decisions they tell of. Sent at once, they would also slow
	// the write down, as they compete with it at the API server.
	mu     sync.Mutex
	events []func()
}

// later keeps an Event to send once the status is written.
func (w *statusWriter) later(send func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, send)
}

// flush writes the status if it changed, then sends the Events recorded before;
// without a successful write, the Events go.
func (w *statusWriter) flush(ctx context.Context) error {
	err := w.write(ctx)
	w.mu.Lock()
	events := w.events
	w.events = nil
	w.mu.Unlock()
	if err != nil {
		return err
	}
	for _, send := range events {
		send()
	}
	return nil
}

func (w *statusWriter) write(ctx context.Context) error {
	w.prom.Status.ObservedGeneration = w.prom.Generation
	if equality.Semantic.DeepEqual(w.base.Status, w.prom.Status) {
		return nil
	}
	// The optimistic lock makes a write based on an out-of-date read fail instead of
	// undoing what another reconcile recorded: a finished step is never forgotten.
	// A copy is sent: the answer must not replace the Promotion's slices, which steps
	// may hold pointers into; only the new resourceVersion is taken back.
	sent := w.prom.DeepCopy()
	if err := w.r.Status().Patch(ctx, sent, client.MergeFromWithOptions(w.base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("patching status: %w", err)
	}
	w.prom.ResourceVersion = sent.ResourceVersion
	deliverymetrics.Observe(w.base, w.prom)
	w.base, w.written = w.prom.DeepCopy(), true
	w.r.written.Store(client.ObjectKeyFromObject(w.prom), sent.ResourceVersion)
	return nil
}

// stale reports whether the cached Promotion is older than this process's last status
// write of it (resourceVersions of one resource compare as numbers).
func (r *Reconciler) stale(key client.ObjectKey, p *ferryv1.Promotion) bool {
	last, ok := r.written.Load(key)
	if !ok {
		return false
	}
	cmp, err := resourceversion.CompareResourceVersion(p.ResourceVersion, last.(string))
	return err == nil && cmp < 0
}

// jitter spreads requeues of many Promotions over up to a tenth more time, so they do
// not wake together; zero stays zero (wait for an event instead).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d + time.Duration(rand.Int64N(int64(d)/10+1)) //nolint:gosec // spreading requeues needs no secure randomness
}

// invalidError is a spec the Promotion cannot act on; it fails without retrying.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }

// isStepFailure reports whether err fails the step rather than being retried.
func isStepFailure(err error) bool {
	var invalid *invalidError
	return errors.As(err, &invalid) || errors.Is(err, errStepFailed)
}

// errStepFailed marks a step that ran and failed (a rollout that timed out).
var errStepFailed = errors.New("step failed")

func (r *Reconciler) gather(ctx context.Context, prom *ferryv1.Promotion) (*facts, error) {
	f := &facts{prom: prom, app: &ferryv1.Application{}, release: &ferryv1.Release{}}
	ns := prom.Namespace
	if err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: prom.Spec.Application}, f.app); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &invalidError{fmt.Sprintf("application %q does not exist", prom.Spec.Application)}
		}
		return nil, err
	}
	if err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: prom.Spec.Release}, f.release); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &invalidError{fmt.Sprintf("release %q does not exist", prom.Spec.Release)}
		}
		return nil, err
	}
	if f.release.Spec.Application != f.app.Name {
		return nil, &invalidError{fmt.Sprintf("release %s belongs to application %s, not %s", f.release.Name, f.release.Spec.Application, f.app.Name)}
	}
	found := false
	for _, s := range f.app.Spec.Stages {
		if s.Name == prom.Spec.Stage {
			f.stage, found = s, true
		}
	}
	if !found {
		return nil, &invalidError{fmt.Sprintf("application %s has no stage %q", f.app.Name, prom.Spec.Stage)}
	}
	f.path = policy.StagesFor(f.app.Spec.Stages, f.release.Spec.Flow)
	list := &ferryv1.PromotionList{}
	if err := r.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{
		ferryv1.LabelApplication: prom.Spec.Application, ferryv1.LabelStage: prom.Spec.Stage}); err != nil {
		return nil, err
	}
	for _, p := range list.Items {
		if p.Name != prom.Name {
			f.siblings = append(f.siblings, p)
		}
	}
	decisions := &ferryv1.ApprovalDecisionList{}
	if err := r.List(ctx, decisions, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	for _, d := range decisions.Items {
		if d.Spec.Promotion == prom.Name {
			f.decisions = append(f.decisions, d)
		}
	}
	sort.SliceStable(f.decisions, func(i, j int) bool { return givenBefore(&f.decisions[i], &f.decisions[j]) })
	return f, nil
}

// givenBefore orders decisions as they were given. Creation times are kept to the
// second; within one, the order the API server stored them (its resource versions,
// which etcd hands out in increasing order) decides, and the name when those do not
// read as numbers.
func givenBefore(a, b *ferryv1.ApprovalDecision) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	ra, errA := strconv.ParseUint(a.ResourceVersion, 10, 64)
	rb, errB := strconv.ParseUint(b.ResourceVersion, 10, 64)
	if errA == nil && errB == nil && ra != rb {
		return ra < rb
	}
	return a.Name < b.Name
}

// deploying reports whether a Promotion has started its deploy step.
func deploying(p *ferryv1.Promotion) bool {
	return checkpoint(p, ferryv1.StepDeploy).Phase != ""
}

// acting reports whether a Promotion has begun to act on its stage (its pre-deploy
// hooks or its deployment): from then on it holds the stage and runs to its end.
func acting(p *ferryv1.Promotion) bool {
	return checkpoint(p, ferryv1.StepPreDeploy).Phase != "" || deploying(p)
}

// supersededBy returns the newer Promotion that replaces this one, if this one has not
// begun to act on the stage and a Release of a higher version waits for the same stage.
func supersededBy(f *facts) string {
	// A rollback is a person's explicit choice of an older version: it is never replaced,
	// and it replaces nothing.
	if acting(f.prom) || f.prom.Spec.Rollback != nil {
		return ""
	}
	waiting := []policy.Waiting{{Name: f.prom.Name, Version: f.release.Spec.Version}}
	for _, p := range f.siblings {
		if !finished(p.Status.Phase) && !acting(&p) && p.Spec.Rollback == nil {
			waiting = append(waiting, policy.Waiting{Name: p.Name, Version: p.Annotations[ferryv1.AnnotationVersion]})
		}
	}
	if !slices.Contains(policy.Superseded(waiting), f.prom.Name) {
		return ""
	}
	for _, w := range waiting {
		if !slices.Contains(policy.Superseded(waiting), w.Name) {
			return w.Name
		}
	}
	return ""
}

// upstream waits until the stage before verified the Release.
func (r *Reconciler) upstream(_ context.Context, f *facts) (bool, time.Duration, error) {
	if rb := f.prom.Spec.Rollback; rb != nil {
		// A rollback returns to a Release this stage verified before, and only to one.
		for _, v := range f.release.Status.VerifiedStages {
			if v.Stage == f.stage.Name {
				setMessage(f.prom, ferryv1.StepUpstream, fmt.Sprintf("rollback by %s: %s", orSomeone(rb.User), rb.Reason))
				return true, 0, nil
			}
		}
		return false, 0, &invalidError{fmt.Sprintf("cannot roll back to %s: it was never verified in %s", f.release.Spec.Version, f.stage.Name)}
	}
	ok, up, err := policy.UpstreamVerified(f.path, f.stage.Name, f.release.Status.VerifiedStages)
	if err != nil {
		return false, 0, &invalidError{err.Error()}
	}
	if !ok {
		setMessage(f.prom, ferryv1.StepUpstream, "waiting for "+up+" to verify "+f.release.Spec.Version)
		return false, 10 * time.Second, nil
	}
	if up == "" {
		setMessage(f.prom, ferryv1.StepUpstream, "first stage of the "+string(f.release.Spec.Flow)+" flow")
	} else {
		setMessage(f.prom, ferryv1.StepUpstream, "verified in "+up)
	}
	return true, 0, nil
}

// approval waits until the stage's approver groups reach the quorum; a rejection by an
// approver ends the Promotion.
func (r *Reconciler) approval(_ context.Context, f *facts) (bool, time.Duration, error) {
	if f.prom.Spec.Rollback != nil {
		// The version was approved when it first entered the stage.
		setMessage(f.prom, ferryv1.StepApproval, "rollback: approved when "+f.release.Spec.Version+" first entered "+f.stage.Name)
		return true, 0, nil
	}
	// Approvals come only from ApprovalDecisions, whose author the API server checked.
	given, rejected := policy.Decisions(f.stage, f.decisions)
	f.prom.Status.Approvals = given
	if rejected != nil {
		msg := fmt.Sprintf("rejected by %s (%s): %s", rejected.Spec.User, rejected.Spec.Group, rejected.Spec.Reason)
		r.event(f.prom, corev1.EventTypeWarning, "ApprovalRejected", ferryv1.StepApproval, msg)
		return false, 0, fmt.Errorf("%w: %s", errStepFailed, msg)
	}
	v := policy.Approvals(f.stage, f.prom.Status.Approvals)
	if v.Satisfied {
		msg := "no approval needed"
		if v.Needed > 0 {
			msg = fmt.Sprintf("approved by %v", v.Groups)
			r.event(f.prom, corev1.EventTypeNormal, "ApprovalGranted", ferryv1.StepApproval, msg)
		}
		setMessage(f.prom, ferryv1.StepApproval, msg)
		if f.prom.Status.Phase == ferryv1.PromotionWaitingApproval {
			f.prom.Status.Phase = ferryv1.PromotionRunning
		}
		return true, 0, nil
	}
	msg := fmt.Sprintf("waiting for %d of %v to approve (%d so far)", v.Needed, f.stage.ApproverGroups, len(v.Groups))
	if f.prom.Status.Phase != ferryv1.PromotionWaitingApproval {
		r.event(f.prom, corev1.EventTypeNormal, "ApprovalRequested", ferryv1.StepApproval, msg)
	}
	f.prom.Status.Phase = ferryv1.PromotionWaitingApproval
	setMessage(f.prom, ferryv1.StepApproval, msg)
	f.prom.Status.Message = msg
	return false, 0, nil
}

func orSomeone(user string) string {
	if user == "" {
		return "someone"
	}
	return user
}

func finished(p ferryv1.PromotionPhase) bool {
	return p == ferryv1.PromotionSucceeded || p == ferryv1.PromotionFailed || p == ferryv1.PromotionSuperseded
}

// checkpoint returns the named checkpoint (zero if it has not started).
func checkpoint(p *ferryv1.Promotion, name string) ferryv1.Checkpoint {
	for _, c := range p.Status.Checkpoints {
		if c.Name == name {
			return c
		}
	}
	return ferryv1.Checkpoint{}
}

func (r *Reconciler) update(p *ferryv1.Promotion, name string, fn func(*ferryv1.Checkpoint)) {
	for i := range p.Status.Checkpoints {
		if p.Status.Checkpoints[i].Name == name {
			fn(&p.Status.Checkpoints[i])
			return
		}
	}
	now := metav1.NewTime(r.Now())
	c := ferryv1.Checkpoint{Name: name, Phase: ferryv1.CheckpointRunning, StartedAt: &now}
	fn(&c)
	p.Status.Checkpoints = append(p.Status.Checkpoints, c)
}

// event records a Kubernetes Event on the Promotion.
func (r *Reconciler) event(p *ferryv1.Promotion, eventType, reason, action, note string) {
	if r.Events != nil {
		r.send(p, func() {
			r.Events.Eventf(p, nil, eventType, reason, action, "%s", note)
			r.mirror(p, eventType, reason, action, note)
		})
	}
	if r.records(p) {
		outbox.Record(p, reason, action, note, r.Now())
	}
}

// send sends a Promotion's Events: once its status is written when a reconcile of it
// is under way (statusWriter.later), else at once.
func (r *Reconciler) send(p *ferryv1.Promotion, events func()) {
	if w, ok := r.reconciling.Load(p); ok {
		w.(*statusWriter).later(events)
		return
	}
	events()
}

// records says whether the Promotion's events go into its outbox: when the controller
// has event sinks, or the app file names webhooks of its own.
func (r *Reconciler) records(p *ferryv1.Promotion) bool {
	return r.RecordEvents || p.Annotations[ferryv1.AnnotationNotifyWebhooks] == "true"
}

// begin records a step's start (once) and marks the Promotion running.
func (r *Reconciler) begin(p *ferryv1.Promotion, name string) {
	r.update(p, name, func(*ferryv1.Checkpoint) {})
	if p.Status.Phase == ferryv1.PromotionPending {
		p.Status.Phase = ferryv1.PromotionRunning
		if p.Annotations[ferryv1.AnnotationFirstStage] == "true" && r.records(p) {
			outbox.Record(p, "ReleaseCreated", "", "release "+p.Spec.Release+" ("+p.Annotations[ferryv1.AnnotationVersion]+") created", r.Now())
		}
		r.event(p, corev1.EventTypeNormal, "PromotionStarted", name, p.Spec.Release+" started in "+p.Spec.Stage)
	}
	setCondition(p, ferryv1.ConditionReconciling, metav1.ConditionTrue, ferryv1.ReasonProgressing, "at step "+name)
}

func (r *Reconciler) succeed(p *ferryv1.Promotion, name, msg string) {
	r.event(p, corev1.EventTypeNormal, "StepSucceeded", name, "step "+name+" succeeded: "+msg)
	now := metav1.NewTime(r.Now())
	r.update(p, name, func(c *ferryv1.Checkpoint) {
		c.Phase, c.FinishedAt, c.Message = ferryv1.CheckpointSucceeded, &now, msg
	})
}

func (r *Reconciler) fail(p *ferryv1.Promotion, name, msg string) {
	r.event(p, corev1.EventTypeWarning, "PromotionFailed", name, msg)
	r.markFailed(p, name, msg)
	p.Status.Phase, p.Status.Message = ferryv1.PromotionFailed, msg
	setCondition(p, ferryv1.ConditionReady, metav1.ConditionFalse, ferryv1.ReasonFailed, msg)
	setCondition(p, ferryv1.ConditionReconciling, metav1.ConditionFalse, ferryv1.ReasonFailed, msg)
}

// markFailed records a step's failure in its checkpoint.
func (r *Reconciler) markFailed(p *ferryv1.Promotion, name, msg string) {
	if name == "" {
		return
	}
	now := metav1.NewTime(r.Now())
	r.update(p, name, func(c *ferryv1.Checkpoint) {
		c.Phase, c.FinishedAt, c.Message = ferryv1.CheckpointFailed, &now, msg
	})
}

func (r *Reconciler) finish(p *ferryv1.Promotion) {
	r.update(p, ferryv1.StepDone, func(*ferryv1.Checkpoint) {})
	r.succeed(p, ferryv1.StepDone, "verified")
	p.Status.Phase, p.Status.Message = ferryv1.PromotionSucceeded, "verified in "+p.Spec.Stage
	r.event(p, corev1.EventTypeNormal, "PromotionSucceeded", ferryv1.StepDone, p.Spec.Release+" verified in "+p.Spec.Stage)
	setCondition(p, ferryv1.ConditionReady, metav1.ConditionTrue, ferryv1.ReasonSucceeded, p.Status.Message)
	setCondition(p, ferryv1.ConditionReconciling, metav1.ConditionFalse, ferryv1.ReasonSucceeded, p.Status.Message)
}

func setMessage(p *ferryv1.Promotion, name, msg string) {
	for i := range p.Status.Checkpoints {
		if p.Status.Checkpoints[i].Name == name {
			p.Status.Checkpoints[i].Message = msg
		}
	}
}

func setCondition(p *ferryv1.Promotion, t string, s metav1.ConditionStatus, reason, msg string) {
	apimeta.SetStatusCondition(&p.Status.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: p.Generation})
}
