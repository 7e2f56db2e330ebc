// Package changerecord keeps a ChangeRecord for each deployment to a stage whose app
// file asks for one (createChangeRecord): opened as soon as the Promotion's deploy step
// began, closed when the Promotion ends: Succeeded, SucceededWithIssues (it failed and
// the stage rolled back to the version verified before), or Failed. The record has the
// Promotion's name and no owner, so it outlives the Promotion's pruning.
package changerecord

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
)

// +kubebuilder:rbac:groups=ferry.dev,resources=changerecords,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=ferry.dev,resources=changerecords/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get

// Reconciler opens and closes ChangeRecords.
type Reconciler struct {
	client.Client
	// APIReader reads a record fresh when the cache has not seen it yet, and Secrets.
	APIReader client.Reader
	// ServiceNow, when set, mirrors each record as a ServiceNow change request.
	ServiceNow *ServiceNow
	// Events records the record's opening and closing on it (nil records none).
	Events events.EventRecorder
	Now    func() time.Time
}

// SetupWithManager registers the controller on Promotions.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	return ctrl.NewControllerManagedBy(mgr).Named("changerecord").For(&ferryv1.Promotion{}).Complete(r)
}

// Reconcile opens the Promotion's record once its deploy began, and closes it once the
// Promotion ended.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	p := &ferryv1.Promotion{}
	if err := r.Get(ctx, req.NamespacedName, p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	deploy := checkpoint(p, ferryv1.StepDeploy)
	if deploy.StartedAt == nil {
		return ctrl.Result{}, nil // nothing changed yet
	}
	rec := &ferryv1.ChangeRecord{}
	err := r.Get(ctx, req.NamespacedName, rec)
	switch {
	case apierrors.IsNotFound(err):
		want, rel, err := r.wanted(ctx, p)
		if err != nil || !want {
			return ctrl.Result{}, err
		}
		if rec, err = r.open(ctx, p, rel, deploy.StartedAt.Time); err != nil {
			return ctrl.Result{}, err
		}
	case err != nil:
		return ctrl.Result{}, err
	}
	if err := r.mirrorOpen(ctx, rec); err != nil {
		return ctrl.Result{}, err
	}
	if rec.Status.Result == ferryv1.ChangeOpen {
		if err := r.close(ctx, p, rec); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, r.mirrorClose(ctx, rec)
}

// mirrorOpen makes the record's ServiceNow change request once.
func (r *Reconciler) mirrorOpen(ctx context.Context, rec *ferryv1.ChangeRecord) error {
	if r.ServiceNow == nil || rec.Status.ServiceNow != nil {
		return nil
	}
	ext, err := r.snOpen(ctx, rec)
	if err != nil {
		return fmt.Errorf("change record %s in ServiceNow: %w", rec.Name, err)
	}
	rec.Status.ServiceNow = ext
	return r.Status().Update(ctx, rec)
}

// mirrorClose closes the ServiceNow change request once the record is closed.
func (r *Reconciler) mirrorClose(ctx context.Context, rec *ferryv1.ChangeRecord) error {
	ext := rec.Status.ServiceNow
	if r.ServiceNow == nil || ext == nil || ext.Closed || rec.Status.Result == ferryv1.ChangeOpen || rec.Status.ClosedAt == nil {
		return nil
	}
	if err := r.snClose(ctx, rec); err != nil {
		return fmt.Errorf("change record %s in ServiceNow: %w", rec.Name, err)
	}
	ext.Closed = true
	return r.Status().Update(ctx, rec)
}

// wanted reports whether the Promotion's stage keeps change records, from the app file
// of its Release.
func (r *Reconciler) wanted(ctx context.Context, p *ferryv1.Promotion) (bool, *ferryv1.Release, error) {
	rel := &ferryv1.Release{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.Release}, rel); err != nil {
		return false, nil, client.IgnoreNotFound(err)
	}
	file, err := appfile.LoadBytes("release "+rel.Name, []byte(rel.Spec.AppFile), "", appfile.Options{})
	if err != nil {
		return false, nil, nil // the promotion controller reports a broken app file
	}
	return file.App.ChangeRecordFor(p.Spec.Stage), rel, nil
}

// open creates the record, Open, with what is known of the change.
func (r *Reconciler) open(ctx context.Context, p *ferryv1.Promotion, rel *ferryv1.Release, at time.Time) (*ferryv1.ChangeRecord, error) {
	rec := &ferryv1.ChangeRecord{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: map[string]string{
			ferryv1.LabelApplication: p.Spec.Application, ferryv1.LabelStage: p.Spec.Stage}},
		Spec: ferryv1.ChangeRecordSpec{Application: p.Spec.Application, Stage: p.Spec.Stage, Release: rel.Name, Version: rel.Spec.Version,
			Promotion: p.Name, Approvers: p.Status.Approvals, OpenedAt: metav1.NewTime(at)},
	}
	if g := rel.Spec.Git; g != nil {
		rec.Spec.Commit, rec.Spec.RepoURL = g.Commit, g.RepoURL
	}
	if err := r.Create(ctx, rec); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("opening the change record %s: %w", p.Name, err)
		}
		// Opened before and not in the cache yet: the API server's copy, which may be
		// closed already, is the one to go on from.
		got := &ferryv1.ChangeRecord{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(rec), got); err != nil {
			return nil, err
		}
		if got.Status.Result != "" {
			return got, nil
		}
		rec = got
	}
	rec.Status = ferryv1.ChangeRecordStatus{Result: ferryv1.ChangeOpen, Log: deploymentLog(p)}
	if err := r.Status().Update(ctx, rec); err != nil {
		return nil, fmt.Errorf("opening the change record %s: %w", p.Name, err)
	}
	r.event(rec, corev1.EventTypeNormal, "Opened", "open", fmt.Sprintf("change of %s to %s in %s opened", rec.Spec.Application, rec.Spec.Version, rec.Spec.Stage))
	return rec, nil
}

// close writes the result once the Promotion ended, and the log so far meanwhile.
func (r *Reconciler) close(ctx context.Context, p *ferryv1.Promotion, rec *ferryv1.ChangeRecord) error {
	result := Result(p)
	log := deploymentLog(p)
	if result == ferryv1.ChangeOpen && fmt.Sprint(log) == fmt.Sprint(rec.Status.Log) {
		return nil
	}
	rec.Status.Result, rec.Status.Log = result, log
	if result != ferryv1.ChangeOpen {
		now := metav1.NewTime(r.Now())
		rec.Status.ClosedAt, rec.Status.Message = &now, p.Status.Message
	}
	if err := r.Status().Update(ctx, rec); err != nil {
		return err
	}
	if result != ferryv1.ChangeOpen {
		eventType := corev1.EventTypeNormal
		if result == ferryv1.ChangeFailed {
			eventType = corev1.EventTypeWarning
		}
		r.event(rec, eventType, "Closed", "close", fmt.Sprintf("closed %s: %s", result, p.Status.Message))
	}
	return nil
}

// event records a Kubernetes Event on the record.
func (r *Reconciler) event(rec *ferryv1.ChangeRecord, eventType, reason, action, note string) {
	if r.Events != nil {
		r.Events.Eventf(rec, nil, eventType, reason, action, "%s", note)
	}
}

// Result is how the Promotion's change ended (Open while it runs).
func Result(p *ferryv1.Promotion) ferryv1.ChangeResult {
	switch p.Status.Phase {
	case ferryv1.PromotionSucceeded:
		return ferryv1.ChangeSucceeded
	case ferryv1.PromotionFailed, ferryv1.PromotionSuperseded:
		if checkpoint(p, ferryv1.StepRollbackTests).Phase == ferryv1.CheckpointSucceeded {
			return ferryv1.ChangeSucceededWithIssues
		}
		return ferryv1.ChangeFailed
	}
	return ferryv1.ChangeOpen
}

// deploymentLog is each step that ran: its name, phase, duration and message.
func deploymentLog(p *ferryv1.Promotion) []string {
	var out []string
	for _, c := range p.Status.Checkpoints {
		took := ""
		if c.StartedAt != nil && c.FinishedAt != nil {
			took = " in " + c.FinishedAt.Sub(c.StartedAt.Time).String()
		}
		out = append(out, fmt.Sprintf("%s: %s%s: %s", c.Name, c.Phase, took, c.Message))
	}
	return out
}

func checkpoint(p *ferryv1.Promotion, name string) ferryv1.Checkpoint {
	for _, c := range p.Status.Checkpoints {
		if c.Name == name {
			return c
		}
	}
	return ferryv1.Checkpoint{}
}
