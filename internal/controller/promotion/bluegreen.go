package promotion

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	ferryv1 "ferry.dev/ferry/api/v1alpha1"
	"ferry.dev/ferry/internal/appfile"
	"ferry.dev/ferry/internal/rollout"
)

// +kubebuilder:rbac:groups="",resources=services,verbs=delete

// defaultScaleDownDelay is how long the old version stays scaled after the switch when
// the app file does not say.
const defaultScaleDownDelay = 30 * time.Second

// labelVersion is the pod label the active Service selects on during a blue-green
// release.
const labelVersion = "app.kubernetes.io/version"

// deployBlueGreen runs the deploy step as a blue-green release. The new version starts
// in a preview Deployment at the stable size, reachable through the preview Service
// (APP-preview) only, while the active Service selects the old version's pods by their
// version label. Once every preview pod is ready the active Service selects the new
// version: one object changes, and every request goes to the new pods. The old pods
// stay for the scale-down delay; then the stable Deployment takes the new version, the
// active Service selects by application again, and the preview goes. Without a stable
// version of another release the deployment is a plain rolling one.
func (r *Reconciler) deployBlueGreen(ctx context.Context, f *facts, bg *appfile.BlueGreen) (bool, time.Duration, error) {
	st := f.prom.Status.BlueGreen
	if st == nil && checkpoint(f.prom, ferryv1.StepDeploy).Applied != nil {
		return r.deploy(ctx, f, ferryv1.StepDeploy) // begun as a plain deployment
	}
	ns, err := f.namespace()
	if err != nil {
		return false, 0, &invalidError{err.Error()}
	}
	ts, err := r.canaryTargets(ctx, f)
	if err != nil {
		return false, 0, err
	}
	if st == nil {
		version, replicas, err := r.runningStable(ctx, f, ts, ns)
		if err != nil {
			return false, 0, err
		}
		if replicas == 0 {
			return r.deploy(ctx, f, ferryv1.StepDeploy)
		}
		if err := r.startPreview(ctx, ts, f.app.Name, ns, version, replicas); err != nil {
			return false, 0, err
		}
		st = &ferryv1.BlueGreenStatus{Phase: ferryv1.BlueGreenPreviewing, PreviousVersion: version, ActiveVersion: version, Replicas: replicas}
		f.prom.Status.BlueGreen = st
	}
	if st.Phase == ferryv1.BlueGreenPreviewing {
		return r.preview(ctx, f, ts, ns)
	}
	// Switched: the deploy step is done; the old version stays scaled through the
	// post-deploy hooks and the tests (see holdAndFinish).
	return true, 0, nil
}

// holdAndFinish ends a switched blue-green release after its tests passed: the old
// version stays scaled for the scale-down delay, counted from the switch, so that a
// failure until then (a post-deploy hook, the tests) rolls back by switching the
// Service back; then the stable Deployment takes the new version. msg is what the step
// did before.
func (r *Reconciler) holdAndFinish(ctx context.Context, f *facts, step, msg string) (bool, time.Duration, error) {
	st := f.prom.Status.BlueGreen
	if st == nil || (st.Phase != ferryv1.BlueGreenSwitched && st.Phase != ferryv1.BlueGreenFinishing) {
		return true, 0, nil
	}
	if err := f.recordBegun(ctx, step); err != nil {
		return false, 0, err
	}
	file, err := f.file()
	if err != nil {
		return false, 0, &invalidError{err.Error()}
	}
	if st.Phase == ferryv1.BlueGreenSwitched {
		return r.holdOld(f, file.App.ReleaseTypeFor(f.stage.Name).BlueGreen, step, msg)
	}
	ns, err := f.namespace()
	if err != nil {
		return false, 0, &invalidError{err.Error()}
	}
	ts, err := r.canaryTargets(ctx, f)
	if err != nil {
		return false, 0, err
	}
	return r.finishBlueGreen(ctx, f, ts, ns, step, msg)
}

// switchBack is a rollback while a blue-green release holds the old version: the
// active Service selects the old version's pods again (one change) and the preview
// goes. It does nothing otherwise.
func (r *Reconciler) switchBack(ctx context.Context, f *facts) error {
	st := f.prom.Status.BlueGreen
	if st == nil || st.Phase != ferryv1.BlueGreenSwitched || st.PreviousVersion != f.release.Spec.Version {
		return nil
	}
	ns, err := f.namespace()
	if err != nil {
		return &invalidError{err.Error()}
	}
	ts, err := r.canaryTargets(ctx, f)
	if err != nil {
		return err
	}
	for _, t := range ts {
		svc, err := pinned(activeService(t), labelVersion, st.PreviousVersion)
		if err != nil {
			return err
		}
		if err := t.c.applier.Apply(ctx, svc); err != nil {
			return err
		}
	}
	now := metav1.NewMicroTime(r.Now())
	st.Phase, st.ActiveVersion, st.SwitchedBackAt = ferryv1.BlueGreenSwitchedBack, st.PreviousVersion, &now
	st.Message = "switched back: " + st.PreviousVersion + ", still scaled, has every request again"
	r.event(f.prom, corev1.EventTypeWarning, "SwitchedBack", ferryv1.StepRollback, st.Message)
	for _, t := range ts {
		if err := removeTrack(ctx, t.c, ns, t.stable.GetName(), trackPreview); err != nil {
			return err
		}
	}
	return nil
}

// previewGone waits, after a switch back, until no pod of the preview is left in any
// target, even terminating: until then a request may still reach one (the Service's
// endpoints and every node's proxy take a moment to follow the switch, which the pods'
// preStop sleep covers), and the rollback's tests must meet the old version alone. It
// is done at once for any other release. The wait counts against the deploy timeout.
func (r *Reconciler) previewGone(ctx context.Context, f *facts, step string) (bool, time.Duration, error) {
	st := f.prom.Status.BlueGreen
	if st == nil || st.Phase != ferryv1.BlueGreenSwitchedBack {
		return true, 0, nil
	}
	ns, err := f.namespace()
	if err != nil {
		return false, 0, &invalidError{err.Error()}
	}
	ts, err := r.canaryTargets(ctx, f)
	if err != nil {
		return false, 0, err
	}
	var left []string
	for _, t := range ts {
		sel, _, err := unstructured.NestedStringMap(t.stable.Object, "spec", "selector", "matchLabels")
		if err != nil || len(sel) == 0 {
			return false, 0, &invalidError{fmt.Sprintf("the deployment %s has no selector's labels to find its preview's pods by", t.stable.GetName())}
		}
		sel[LabelTrack] = trackPreview
		pods, err := t.c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(sel).String()})
		if err != nil {
			return false, 0, err
		}
		if n := len(pods.Items); n > 0 {
			left = append(left, fmt.Sprintf("%s: %d pods of the preview still going", t.id, n))
		}
	}
	if len(left) == 0 {
		return true, 0, nil
	}
	file, err := f.file()
	if err != nil {
		return false, 0, &invalidError{err.Error()}
	}
	timeout := deployTimeout(file.App, f.stage.Name)
	if began := checkpoint(f.prom, step).StartedAt; began != nil && r.Now().Sub(began.Time) > timeout {
		return false, 0, fmt.Errorf("%w: the preview's pods did not go within the deploy timeout of %s (%s)", errStepFailed, timeout, strings.Join(left, "; "))
	}
	setMessage(f.prom, step, "switched back to "+st.PreviousVersion+"; waiting for the preview's pods to go: "+strings.Join(left, "; "))
	return false, podsPoll, nil
}

// startPreview applies the objects beside the stable Deployment, with the active Service
// pinned to the running version, and the preview Deployment and Service.
func (r *Reconciler) startPreview(ctx context.Context, ts []canaryTarget, app, ns, version string, replicas int32) error {
	for _, t := range ts {
		objs, err := previewObjects(t, version, replicas)
		if err != nil {
			return err
		}
		if err := apply(ctx, t.c, t.rendered(app, ns), nil, objs); err != nil {
			return err
		}
	}
	return nil
}

// previewObjects are the objects other than the stable Deployment, the active Service
// selecting the given version, and the preview Service and Deployment.
func previewObjects(t canaryTarget, active string, replicas int32) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, o := range t.others {
		if o.GetKind() != "Service" || o.GetName() != t.stable.GetName() {
			out = append(out, o)
			continue
		}
		svc, err := pinned(o, labelVersion, active)
		if err != nil {
			return nil, err
		}
		prev, err := pinned(o, LabelTrack, trackPreview)
		if err != nil {
			return nil, err
		}
		prev.SetName(trackName(o.GetName(), trackPreview))
		out = append(out, svc, prev)
	}
	d, err := trackObject(t.stable, trackPreview, replicas)
	if err != nil {
		return nil, err
	}
	return append(out, d), nil
}

// pinned is a copy of a Service whose selector also requires the label.
func pinned(svc *unstructured.Unstructured, label, value string) (*unstructured.Unstructured, error) {
	cp := svc.DeepCopy()
	if err := unstructured.SetNestedField(cp.Object, value, "spec", "selector", label); err != nil {
		return nil, fmt.Errorf("selecting %s=%s in service %s: %w", label, value, svc.GetName(), err)
	}
	return cp, nil
}

// activeService is the rendered Service of the stable name.
func activeService(t canaryTarget) *unstructured.Unstructured {
	for _, o := range t.others {
		if o.GetKind() == "Service" && o.GetName() == t.stable.GetName() {
			return o
		}
	}
	return nil
}

// preview waits until every preview pod is ready in every target, then switches the
// active Services to the new version.
func (r *Reconciler) preview(ctx context.Context, f *facts, ts []canaryTarget, ns string) (bool, time.Duration, error) {
	st := f.prom.Status.BlueGreen
	var waiting []string
	for _, t := range ts {
		d, err := r.existing(ctx, t.c, ns, trackName(t.stable.GetName(), trackPreview))
		if err != nil {
			return false, 0, err
		}
		switch {
		case d == nil || !runsVersion(d, f.release.Spec.Version):
			waiting = append(waiting, t.id+": the preview deployment is not seen yet")
		default:
			if done, msg := rollout.Complete(d); !done {
				waiting = append(waiting, t.id+": preview "+msg)
			}
		}
	}
	if len(waiting) > 0 {
		started := checkpoint(f.prom, ferryv1.StepDeploy).StartedAt
		if timeout := stepTimeout(f); started != nil && r.Now().Sub(started.Time) > timeout {
			return false, 0, r.abortPreview(ctx, f, ts, ns, fmt.Sprintf("the preview of %s was not ready within the deploy timeout of %s (%s)", f.release.Spec.Version, timeout, strings.Join(waiting, "; ")))
		}
		st.Message = strings.Join(waiting, "; ")
		setMessage(f.prom, ferryv1.StepDeploy, "blue-green: "+st.Message)
		return false, pollFor(ts), nil
	}
	if done, wait, err := r.testPreview(ctx, f, ts, ns); err != nil || !done {
		return false, wait, err
	}
	for _, t := range ts {
		svc, err := pinned(activeService(t), labelVersion, f.release.Spec.Version)
		if err != nil {
			return false, 0, err
		}
		if err := t.c.applier.Apply(ctx, svc); err != nil {
			return false, 0, err
		}
	}
	now := metav1.NewMicroTime(r.Now())
	st.Phase, st.ActiveVersion, st.SwitchedAt = ferryv1.BlueGreenSwitched, f.release.Spec.Version, &now
	st.Message = fmt.Sprintf("switched: %s has every request, %s stays scaled", f.release.Spec.Version, st.PreviousVersion)
	r.event(f.prom, corev1.EventTypeNormal, "Switched", ferryv1.StepDeploy, st.Message)
	setMessage(f.prom, ferryv1.StepDeploy, "blue-green: "+st.Message)
	return true, 0, nil
}

// previewTests names the run of the tests image against the preview.
const previewTests = "preview-tests"

// testPreview runs the Release's tests image, when it has one, against the preview
// Service before the switch (FERRY_URL says where: http://APP-preview.NAMESPACE). Tests
// that fail remove the preview, and the old version kept every request.
func (r *Reconciler) testPreview(ctx context.Context, f *facts, ts []canaryTarget, ns string) (bool, time.Duration, error) {
	hooks := testsHook(f)
	if len(hooks) == 0 {
		return true, 0, nil
	}
	app, err := f.resolve(ts[0].cl.Spec.Hosts)
	if err != nil {
		return false, 0, &invalidError{err.Error()}
	}
	h := *hooks[0].Job
	h.Name = previewTests
	h.Env = map[string]string{"FERRY_URL": "http://" + trackName(ts[0].stable.GetName(), trackPreview) + "." + ns}
	done, wait, err := r.jobHook(ctx, f, app, ferryv1.StepDeploy, &h)
	if err != nil && isStepFailure(err) {
		return false, 0, r.abortPreview(ctx, f, ts, ns, "the tests against the preview failed: "+strings.TrimPrefix(err.Error(), errStepFailed.Error()+": "))
	}
	if err == nil && !done {
		f.prom.Status.BlueGreen.Message = "the tests run against the preview"
	}
	return done, wait, err
}

// holdOld keeps the old version scaled for the scale-down delay after the switch.
func (r *Reconciler) holdOld(f *facts, bg *appfile.BlueGreen, step, msg string) (bool, time.Duration, error) {
	st := f.prom.Status.BlueGreen
	delay := defaultScaleDownDelay
	if bg != nil && bg.ScaleDownDelay != "" {
		if d, err := appfile.ParseDuration(string(bg.ScaleDownDelay)); err == nil {
			delay = d
		}
	}
	if left := st.SwitchedAt.Add(delay).Sub(r.Now()); left > 0 {
		st.Message = fmt.Sprintf("switched: %s has every request; %s stays scaled until %s", st.ActiveVersion, st.PreviousVersion, st.SwitchedAt.Add(delay).UTC().Format(timeOfDay))
		setMessage(f.prom, step, msg+"; blue-green: "+st.Message)
		f.exactWait = true
		return false, left, nil
	}
	st.Phase = ferryv1.BlueGreenFinishing
	r.update(f.prom, ferryv1.StepDeploy, func(c *ferryv1.Checkpoint) { c.Applied = nil })
	f.exactWait = true
	return false, time.Millisecond, nil
}

// finishBlueGreen gives the stable Deployment the new version (its pods join the active
// Service, which selects the new version), waits for it, then selects by application
// again and removes the preview.
func (r *Reconciler) finishBlueGreen(ctx context.Context, f *facts, ts []canaryTarget, ns, step, msg string) (bool, time.Duration, error) {
	st := f.prom.Status.BlueGreen
	if st.Phase == ferryv1.BlueGreenFinished {
		return true, 0, nil
	}
	if checkpoint(f.prom, ferryv1.StepDeploy).Applied == nil {
		for _, t := range ts {
			stable, err := liveSized(ctx, t.c, t.stable, autoscaled(t.others))
			if err != nil {
				return false, 0, err
			}
			if err := t.c.applier.Apply(ctx, stable); err != nil {
				return false, 0, err
			}
		}
		now := metav1.NewTime(r.Now())
		r.update(f.prom, ferryv1.StepDeploy, func(c *ferryv1.Checkpoint) { c.Applied = &now })
	}
	var waiting []string
	for _, t := range ts {
		d, err := r.existing(ctx, t.c, ns, t.stable.GetName())
		if err != nil {
			return false, 0, err
		}
		if d == nil || !runsVersion(d, f.release.Spec.Version) {
			waiting = append(waiting, t.id+": the deployment of "+f.release.Spec.Version+" is not seen yet")
		} else if done, msg := rollout.Complete(d); !done {
			waiting = append(waiting, t.id+": "+msg)
		}
	}
	if len(waiting) > 0 {
		st.Message = "scaling down " + st.PreviousVersion + ": " + strings.Join(waiting, "; ")
		setMessage(f.prom, step, msg+"; blue-green: "+st.Message)
		return false, pollFor(ts), nil
	}
	var pruned []string
	for _, t := range ts {
		if err := t.c.applier.Apply(ctx, activeService(t)); err != nil {
			return false, 0, err
		}
		if err := removeTrack(ctx, t.c, ns, t.stable.GetName(), trackPreview); err != nil {
			return false, 0, err
		}
		note, err := prune(ctx, t.id, t.c, t.rendered(f.app.Name, ns))
		if err != nil {
			return false, 0, err
		}
		if note != "" {
			pruned = append(pruned, note)
		}
	}
	st.Phase = ferryv1.BlueGreenFinished
	st.Message = fmt.Sprintf("%s runs in the stable deployment; %s scaled down", st.ActiveVersion, st.PreviousVersion)
	if len(pruned) > 0 {
		st.Message += "; " + strings.Join(pruned, "; ")
	}
	setMessage(f.prom, step, msg+"; blue-green: "+st.Message)
	return true, 0, nil
}

// abortPreview removes the preview and lets the active Service select by application
// again (the old version's pods, the only ones left), then fails the step with cause.
func (r *Reconciler) abortPreview(ctx context.Context, f *facts, ts []canaryTarget, ns, cause string) error {
	st := f.prom.Status.BlueGreen
	for _, t := range ts {
		if err := removeTrack(ctx, t.c, ns, t.stable.GetName(), trackPreview); err != nil {
			return fmt.Errorf("removing the preview: %w", err)
		}
	}
	st.Phase = ferryv1.BlueGreenAborted
	st.Message = "aborted: the preview is removed; " + st.PreviousVersion + " kept every request"
	r.event(f.prom, corev1.EventTypeWarning, "BlueGreenAborted", ferryv1.StepDeploy, cause+"; "+st.Message)
	return fmt.Errorf("%w: %s; %s", errStepFailed, cause, st.Message)
}

// pollFor is how often to look at the targets' Deployments: seldom when all are in the
// local cluster, whose watch wakes the Promotion, often otherwise.
func pollFor(ts []canaryTarget) time.Duration {
	for _, t := range ts {
		if !t.c.local {
			return remotePoll
		}
	}
	return localPoll
}

// removeTrack deletes a track's Deployment, then its Service if it has one (the pods
// go first: a route or client still sent to the Service meets terminating pods that
// serve out their preStop sleep, not a Service that is gone).
func removeTrack(ctx context.Context, c *conn, ns, stable, track string) error {
	policy := metav1.DeletePropagationBackground
	name := trackName(stable, track)
	if err := c.cs.AppsV1().Deployments(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return removeService(ctx, c, ns, name)
}

// removeService deletes a Service if it is there.
func removeService(ctx context.Context, c *conn, ns, name string) error {
	if err := c.cs.CoreV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}
